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

Training points that do not vary (a constant series) have no standard deviation: a point
equal to their value is normal (z = 0); any other point is infinitely many standard
deviations away (z = ±inf, `null` in JSON) and flagged when it changes by at least
`min_change` in the flagged direction; against an expected 0, any change is infinite.

Linear in the series: each training window (one per weekday with seasonality) is a queue
with running sums, kept exact in integers (each value scaled by the series' common power of
two), so a point costs the same at the millionth as at the tenth, and a window that does not
vary has exactly zero variance.

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
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from fanout.errors import ParameterError

__all__ = ["DIRECTIONS", "Point", "detect"]

DIRECTIONS = ("both", "spike", "drop")
MAX_TRAINING_DAYS = dt.date.max.toordinal()  # the span of dates Python knows


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


def _whole(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ParameterError(f"{name} must be between {low:,} and {high:,}, got {value:,}")
    return value


def _finite(name: str, value, low: float, *, strict: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value}")
    if value < low or (strict and value == low):
        raise ParameterError(f"{name} must be {'>' if strict else '>='} {low:g}, got {value:g}")
    return value


class _Window:
    """The training points of one window: a queue of (day ordinal, scaled value) with the
    count, sum and sum of squares of the scaled values, exact."""

    __slots__ = ("n", "points", "squares", "total")

    def __init__(self) -> None:
        self.points: deque[tuple[int, int]] = deque()
        self.n = self.total = self.squares = 0

    def add(self, day: int, value: int) -> None:
        self.points.append((day, value))
        self.n += 1
        self.total += value
        self.squares += value * value

    def drop_before(self, day: int) -> None:
        points = self.points
        while points and points[0][0] < day:
            _, value = points.popleft()
            self.n -= 1
            self.total -= value
            self.squares -= value * value

    def mean_std(self, scale: int) -> tuple[float, float]:
        """Mean and sample standard deviation, each rounded once from exact integers."""
        n = self.n
        spread = n * self.squares - self.total * self.total  # n (n - 1) scale^2 variance
        return self.total / (n * scale), math.sqrt(spread / (n * (n - 1) * scale * scale))


def _scale(values: Sequence[float]) -> int:
    """The smallest power of two that makes every value an integer."""
    bits = max((v.as_integer_ratio()[1].bit_length() - 1 for v in values), default=0)
    return 1 << bits


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
    `min_training_points` points is never flagged ("training"). Every setting is checked
    (whole numbers in range, finite numbers), and so is every value (finite).
    """
    if len(times) != len(values):
        raise ParameterError("times and values must have the same length")
    if direction not in DIRECTIONS:
        raise ParameterError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    training_days = _whole("training_days", training_days, 1, MAX_TRAINING_DAYS)
    min_training_points = _whole("min_training_points", min_training_points, 2, 10**9)
    sensitivity = _finite("sensitivity", sensitivity, 0, strict=True)
    min_change = _finite("min_change", min_change, 0, strict=False)
    floats = [float(v) for v in values]
    bad = next((i for i, v in enumerate(floats) if not math.isfinite(v)), None)
    if bad is not None:
        raise ParameterError(f"value {bad + 1} ({floats[bad]}) is not a finite number")
    if any(b <= a for a, b in itertools.pairwise(times)):
        raise ParameterError("times must be strictly increasing")
    scale = _scale(floats)
    windows: dict[int, _Window] = {}
    points: list[Point] = []
    for at, value in zip(times, floats, strict=True):
        day = _day(at)
        ordinal = day.toordinal()
        window = windows.get(day.weekday() if weekday_seasonality else 0)
        if window is None:
            window = windows[day.weekday() if weekday_seasonality else 0] = _Window()
        window.drop_before(ordinal - training_days)
        if window.n < min_training_points:
            point = Point(at, value, None, None, None, False, "training")
        else:
            mean, std = window.mean_std(scale)
            point = _score(at, value, mean, std, sensitivity, direction, min_change)
        points.append(point)
        if not point.flagged:
            numerator, denominator = value.as_integer_ratio()
            window.add(ordinal, numerator * (scale // denominator))
    return points


def _score(
    at, value: float, mean: float, std: float, sensitivity: float, direction: str, change: float
) -> Point:
    if std > 0:
        z = (value - mean) / std
    else:  # the training points do not vary: equal is normal, anything else infinitely far
        z = 0.0 if value == mean else math.copysign(math.inf, value - mean)
    wanted = {"both": abs(z), "spike": z, "drop": -z}[direction]
    flagged = wanted > sensitivity and _change(value, mean) >= change
    if not flagged:
        return Point(at, value, mean, std, z, False, "normal")
    side = "above" if z > 0 else "below"
    ratio = f"{value / mean:.2f}x expected" if mean else f"expected {mean:g}"
    if std > 0:
        reason = f"{side} expected by {abs(z):.1f} sd ({ratio})"
    else:
        reason = f"{side} a constant {mean:,.2f} (training points that do not vary; {ratio})"
    return Point(at, value, mean, std, z, True, reason)
