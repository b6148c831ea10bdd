"""Timings that say whether a difference rises above the noise."""

from fanout.incident.timing import Comparison, median_interval


def test_the_interval_holds_the_median_of_the_pairs():
    assert median_interval([float(i) for i in range(1, 22)]) == (6.0, 16.0)
    assert median_interval([2.0]) == (2.0, 2.0)


def test_a_ratio_is_slower_only_when_the_whole_interval_lies_above_one():
    slower = Comparison((1.0,) * 21, tuple(1.2 + i / 100 for i in range(21)))
    assert slower.verdict == "slower"
    faster = Comparison((1.0,) * 21, tuple(0.7 + i / 100 for i in range(21)))
    assert faster.verdict == "faster"
    noise = Comparison((1.0,) * 21, tuple(0.9 + i / 100 for i in range(21)))
    assert noise.verdict == "within noise"


def test_the_verdict_is_judged_on_the_interval_as_shown_to_two_decimals():
    """A lower bound of 1.003 reads "1.00x": not slower, whatever the third decimal says."""
    edge = Comparison((1.0,) * 21, tuple(1.001 + i / 10000 for i in range(21)))
    low, _high = edge.interval
    assert 1 < low < 1.005
    assert edge.verdict == "within noise"
