"""Anomaly detection: on the incident's build history, and on planted series."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanout.errors import ParameterError
from fanout.incident import history, warehouse
from fanout.incident.data import raw
from fanout.incident.params import Params
from fanout.toolkit import anomaly

from .conftest import RAW

DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(60)]


@pytest.fixture(scope="module")
def revenue_series(builds):
    con = raw.connect(RAW)
    for rev, built in builds.items():
        warehouse.attach(con, built, rev)
    points = history.build_points(Params())
    return points, history.previous_day_revenue(con, points)


def test_defaults_flag_the_first_inflated_build_and_nothing_else(revenue_series):
    points, values = revenue_series
    flagged = [p for p in anomaly.detect([p.at for p in points], values) if p.flagged]
    assert [p.at for p in flagged] == [Params().pr_deployed_at]
    assert flagged[0].reason.startswith("above expected by")


def test_watching_both_directions_also_flags_a_quiet_day(revenue_series):
    points, values = revenue_series
    found = anomaly.detect([p.at for p in points], values, direction="both")
    flagged = [p.at for p in found if p.flagged]
    assert flagged == [dt.datetime(2026, 10, 15, 6, 0), Params().pr_deployed_at]


def test_previous_day_revenue_is_the_dashboard_figure(revenue_series, raw_facts):
    points, values = revenue_series
    daily = raw_facts.daily_amount()
    scheduled = [(p, v) for p, v in zip(points, values, strict=True) if p.kind == "scheduled"]
    for point, value in scheduled:
        assert value == pytest.approx(float(daily[point.at.date() - dt.timedelta(days=1)]))


def test_a_point_needs_enough_training_points():
    found = anomaly.detect(DAYS[:10], [100.0] * 9 + [1000.0], min_training_points=10)
    assert all(p.reason == "training" for p in found)


def test_weekday_seasonality_compares_with_the_same_weekday():
    values = [300.0 if d.weekday() == 5 else 100.0 for d in DAYS]  # busy Saturdays
    plain = anomaly.detect(DAYS, values, sensitivity=2)
    seasonal = anomaly.detect(DAYS, values, weekday_seasonality=True, training_days=56,
                              min_training_points=3, sensitivity=2)  # fmt: skip
    saturdays = [p for p in plain if p.at.weekday() == 5 and p.z is not None]
    assert saturdays and all(p.z > 2 for p in saturdays)
    assert any(p.flagged for p in plain)
    scored = [p for p in seasonal if p.z is not None]
    assert scored and all(p.z == 0 and not p.flagged for p in scored)


def test_flagged_points_do_not_train_the_detector():
    values = [100.0 + (i % 2) for i in range(40)] + [400.0] * 5
    found = anomaly.detect(DAYS[:45], values)
    assert [p.flagged for p in found[40:]] == [True] * 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"direction": "up"}, "direction must be one of both, spike, drop, got 'up'"),
        ({"sensitivity": 0}, r"sensitivity must be > 0, got 0"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        anomaly.detect(DAYS[:3], [1.0, 2.0, 3.0], **kwargs)


def test_times_must_increase():
    with pytest.raises(ParameterError, match="strictly increasing"):
        anomaly.detect([DAYS[1], DAYS[0]], [1.0, 2.0])


@settings(max_examples=60, deadline=None)
@given(
    base=st.floats(min_value=10, max_value=1e6),
    noise=st.lists(st.floats(min_value=-0.05, max_value=0.05), min_size=30, max_size=30),
    factor=st.floats(min_value=2.5, max_value=10),
)
def test_a_planted_multiplication_is_always_found_and_nothing_else(base, noise, factor):
    values = [base * (1 + n) for n in noise] + [base * factor]
    found = anomaly.detect(DAYS[:31], values)
    assert [p.flagged for p in found] == [False] * 30 + [True]
