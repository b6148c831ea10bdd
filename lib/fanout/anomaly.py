"""Anomaly detection on a daily or per-build series: a rolling z-score with a training
window, optional weekday seasonality, a direction and a minimum relative change.

In the spirit of Elementary's `volume_anomalies`: each point is compared with the points
before it (those in the training window, of the same weekday when seasonality is on, and
not themselves anomalous), and flagged when it is more than `sensitivity` standard
deviations away from their mean *and* changes by at least `min_change` in the flagged
direction. The change is symmetric: `min_change=1.0` means at least double for a spike and
at most half for a drop.

The defaults look for spikes of at least double: a fan-out multiplies figures, and on a
small shop's daily revenue ordinary days vary by more than half. Use `direction="both"`
to watch volumes for drops (missing data) too.

>>> import datetime as dt
>>> days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(30)]
>>> values = [100 + (i % 3) for i in range(29)] + [300]
>>> [p.at for p in detect(days, values) if p.flagged]
[datetime.date(2026, 1, 30)]
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from fanout.errors import ParameterError

__all__ = ["DIRECTIONS", "Point", "detect"]

DIRECTIONS = ("both", "spike", "drop")


@dataclass(frozen=True)
class Point:
    """One point of the series and what the detector made of it."""

    at: dt.date | dt.datetime
    value: float
    expected: float | None  # mean of the training points; None while there are too few
    stddev: float | None
    z: float | None
    flagged: bool
    reason: str

    @property
    def relative_change(self) -> float | None:
        if self.expected in (None, 0):
            return None
        return (self.value - self.expected) / abs(self.expected)


def _change(value: float, mean: float) -> float:
    """How far `value` is from `mean`, symmetric: 1.0 for double and for half."""
    if mean <= 0 or value <= 0:
        return math.inf if value != mean else 0.0
    return max(value / mean, mean / value) - 1


def _day(at) -> dt.date:
    return at.date() if isinstance(at, dt.datetime) else at


def detect(
    times: Sequence[dt.date | dt.datetime],
    values: Sequence[float],
    *,
    training_days: int = 28,
    min_training_points: int = 7,
    sensitivity: float = 3.0,
    direction: str = "spike",
    min_change: float = 1.0,
    weekday_seasonality: bool = False,
) -> list[Point]:
    """Score every point of the series against the ones before it; see the module docstring.

    `times` must be increasing. A point whose training set has fewer than
    `min_training_points` points is never flagged ("training").
    """
    if len(times) != len(values):
        raise ParameterError("times and values must have the same length")
    if direction not in DIRECTIONS:
        raise ParameterError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if training_days < 1 or min_training_points < 2 or sensitivity <= 0 or min_change < 0:
        raise ParameterError(
            "training_days must be >= 1, min_training_points >= 2, sensitivity > 0, min_change >= 0"
        )
    if any(b <= a for a, b in itertools.pairwise(times)):
        raise ParameterError("times must be strictly increasing")
    points: list[Point] = []
    for i, (at, value) in enumerate(zip(times, values, strict=True)):
        value = float(value)
        start = _day(at) - dt.timedelta(days=training_days)
        training = [
            p.value
            for p in points[:i]
            if _day(p.at) >= start
            and not p.flagged
            and (not weekday_seasonality or _day(p.at).weekday() == _day(at).weekday())
        ]
        if len(training) < min_training_points:
            points.append(Point(at, value, None, None, None, False, "training"))
            continue
        mean = sum(training) / len(training)
        std = math.sqrt(sum((v - mean) ** 2 for v in training) / (len(training) - 1))
        z = (
            (value - mean) / std
            if std > 0
            else (0.0 if value == mean else math.copysign(math.inf, value - mean))
        )
        change = _change(value, mean)
        wanted = {"both": abs(z), "spike": z, "drop": -z}[direction]
        flagged = wanted > sensitivity and change >= min_change
        if flagged:
            side = "above" if z > 0 else "below"
            reason = f"{side} expected by {abs(z):.1f} sd ({value / mean:.2f}x expected)"
        else:
            reason = "normal"
        points.append(Point(at, value, mean, std, z, flagged, reason))
    return points
