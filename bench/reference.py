"""The anomaly detector as it was before issue 13, kept as the benchmark's "before": each
point scans every earlier point for its training window, so a series of n points costs
n^2 / 2 comparisons. Same answers as `fanout.toolkit.anomaly.detect` on ordinary series (the
benchmark checks that they flag the same points); not used anywhere else."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence


def _day(at) -> dt.date:
    return at.date() if isinstance(at, dt.datetime) else at


def _change(value: float, mean: float) -> float:
    if mean <= 0 or value <= 0:
        return math.inf if value != mean else 0.0
    return max(value / mean, mean / value) - 1


def quadratic_detect(
    times: Sequence[dt.datetime],
    values: Sequence[float],
    *,
    training_days: int = 28,
    min_training_points: int = 7,
    sensitivity: float = 3.0,
    direction: str = "spike",
    min_change: float = 1.0,
    weekday_seasonality: bool = False,
) -> list[bool]:
    """Which points are flagged, computed the old way."""
    kept: list[tuple[dt.date, float, bool]] = []  # (day, value, flagged)
    flags = []
    for at, value in zip(times, values, strict=True):
        day = _day(at)
        start = day - dt.timedelta(days=training_days)
        training = [
            v
            for d, v, f in kept
            if d >= start and not f and (not weekday_seasonality or d.weekday() == day.weekday())
        ]
        if len(training) < min_training_points:
            kept.append((day, value, False))
            flags.append(False)
            continue
        mean = sum(training) / len(training)
        std = math.sqrt(sum((v - mean) ** 2 for v in training) / (len(training) - 1))
        z = (
            (value - mean) / std
            if std > 0
            else (0.0 if value == mean else math.copysign(math.inf, value - mean))
        )
        wanted = {"both": abs(z), "spike": z, "drop": -z}[direction]
        flagged = wanted > sensitivity and _change(value, mean) >= min_change
        kept.append((day, value, flagged))
        flags.append(flagged)
    return flags
