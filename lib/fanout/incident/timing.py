"""Timings that say whether a difference rises above the noise.

A ratio of two medians from a handful of runs at the default size moves by half its value
from one run to the next; stated as a finding it would be noise. `alternate` runs two
contenders in turns (so drift in the machine hits both alike), takes the ratio within each
pair, and gives the median ratio with a distribution-free 95% interval: only when the
interval lies wholly above (or below) 1 is one contender slower.
"""

from __future__ import annotations

import csv
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Comparison", "alternate", "bench_build_ratios", "median_interval"]


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval for the median: order statistics chosen from the binomial
    distribution, so that the interval holds the true median with at least `confidence`.

    >>> median_interval([float(i) for i in range(1, 22)])
    (6.0, 16.0)
    """
    ordered = sorted(values)
    n = len(ordered)
    tail = (1 - confidence) / 2
    k, below = 0, 0.0  # the largest k with P(Binomial(n, 1/2) < k) <= tail
    while k < n and below + math.comb(n, k) / 2**n <= tail:
        below += math.comb(n, k) / 2**n
        k += 1
    if k == 0:
        return ordered[0], ordered[-1]
    return ordered[k - 1], ordered[n - k]


@dataclass(frozen=True)
class Comparison:
    """Two contenders timed in turns: `second`'s time over `first`'s, pair by pair."""

    first_ms: tuple[float, ...]
    second_ms: tuple[float, ...]

    @property
    def ratios(self) -> list[float]:
        return [b / a for a, b in zip(self.first_ms, self.second_ms, strict=True) if a > 0]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def interval(self) -> tuple[float, float]:
        return median_interval(self.ratios)

    @property
    def verdict(self) -> str:
        """slower, faster, or within noise (the interval holds 1), judged on the interval as
        it is shown, to two decimals: "1.00x to 1.12x" is never called slower."""
        low, high = (round(x, 2) for x in self.interval)
        if low > 1:
            return "slower"
        if high < 1:
            return "faster"
        return "within noise"


def alternate(
    first: Callable[[], object],
    second: Callable[[], object],
    pairs: int = 31,
    *,
    budget_s: float = 10.0,
    at_least: int = 9,
) -> Comparison:
    """Run `first` and `second` in turns, `pairs` times each after one warm-up of each; on
    large data, stop once `budget_s` seconds are spent and `at_least` pairs are done."""
    first(), second()
    a, b = [], []
    started_all = time.perf_counter()
    for i in range(pairs):
        if i >= at_least and time.perf_counter() - started_all > budget_s:
            break
        order = ((first, a), (second, b)) if i % 2 == 0 else ((second, b), (first, a))
        for run, times in order:
            started = time.perf_counter()
            run()
            times.append((time.perf_counter() - started) * 1000)
    return Comparison(tuple(a), tuple(b))


def bench_build_ratios(results: Path) -> dict[str, tuple[float, float, float, int]]:
    """From `make bench`'s builds.csv: per scale, the enrichment's dbt build time over the
    baseline's (median of the repeats), the lowest and highest per-repeat ratio, and the
    number of repeats. Empty when the file is absent."""
    try:
        with results.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return {}
    by_case: dict[str, dict[str, dict[int, float]]] = {}
    for r in rows:
        if r.get("ok") != "True":
            continue
        case = by_case.setdefault(r["case"], {})
        case.setdefault(r["contender"], {})[int(r["repeat"])] = float(r["seconds"])
    out = {}
    for case, found in by_case.items():
        base, enr = found.get("baseline", {}), found.get("enrichment", {})
        ratios = [enr[k] / base[k] for k in sorted(base.keys() & enr.keys()) if base[k] > 0]
        if ratios:
            median = statistics.median(enr.values()) / statistics.median(base.values())
            out[case] = (median, min(ratios), max(ratios), len(ratios))
    return out
