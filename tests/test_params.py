import datetime as dt

import pytest

from fanout.errors import ParameterError
from fanout.incident.params import PARAMETERS, Params, load_yaml


def test_defaults_are_the_incident():
    p = Params()
    assert (p.seed, p.start_date, p.days) == (7, dt.date(2026, 8, 1), 90)
    assert p.mean_items_per_order == 2.5
    assert p.detected_at - p.pr_deployed_at == dt.timedelta(hours=2)
    assert p.fix_deployed_at - p.detected_at == dt.timedelta(minutes=95)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"days": 0}, "days must be at least 1, got 0"),
        ({"days": -3}, "days must be at least 1, got -3"),
        ({"days": 2.5}, "days must be a whole number, got 2.5"),
        ({"days": "90"}, "days must be a whole number, got '90'"),
        ({"days": True}, "days must be a whole number, got True"),
        ({"mean_items_per_order": 0.5}, "mean_items_per_order must be at least 1, got 0.5"),
        ({"orders_per_day": 0}, "orders_per_day must be greater than 0, got 0"),
        ({"orders_per_day": float("nan")}, "orders_per_day must be a finite number, got nan"),
        ({"seed": -1}, "seed must be at least 0, got -1"),
        ({"start_date": "2026-13-01"}, "start_date must be a date (YYYY-MM-DD), got '2026-13-01'"),
        ({"nope": 1}, "unknown parameter 'nope'; known: seed, start_date, days"),
        (
            {"fix_deployed_at": "2026-10-28T15:00"},
            "fix_deployed_at (2026-10-28 15:00:00) must be after detected_at (2026-10-28 16:05:00)",
        ),
        (
            {"detected_at": "2026-10-28T14:00"},
            "detected_at (2026-10-28 14:00:00) must be after pr_deployed_at (2026-10-28 14:05:00)",
        ),
        (
            {"pr_deployed_at": "2026-07-01T09:00"},
            "pr_deployed_at (2026-07-01 09:00:00) must be after start_date (2026-08-01)",
        ),
    ],
)
def test_bad_parameters_are_named_in_one_sentence(values, message):
    with pytest.raises(ParameterError) as err:
        Params.from_mapping(values)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_strings_from_yaml_and_notebooks_are_parsed():
    p = Params.from_mapping({"start_date": "2026-01-05", "detected_at": "2026-10-28T16:05:00"})
    assert p.start_date == dt.date(2026, 1, 5)
    assert p.detected_at == dt.datetime(2026, 10, 28, 16, 5)


def test_dataset_key_changes_with_data_parameters_only():
    base = Params()
    assert Params(pr_deployed_at=dt.datetime(2026, 10, 27, 9)).dataset_key() == base.dataset_key()
    assert Params(seed=8).dataset_key() != base.dataset_key()
    assert Params(build_dir="elsewhere").is_default_dataset()


def test_yaml_file_is_validated(tmp_path):
    good = tmp_path / "p.yaml"
    good.write_text("seed: 11\ndays: 14\nstart_date: 2026-10-20\n")
    assert load_yaml(good).days == 14
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 11\ndayz: 14\n")
    with pytest.raises(ParameterError, match=r"bad.yaml: unknown parameter 'dayz'"):
        load_yaml(bad)
    with pytest.raises(ParameterError, match=r"parameter file .*missing.yaml does not exist"):
        load_yaml(tmp_path / "missing.yaml")


def test_every_parameter_has_help_and_a_default_that_passes_its_own_check():
    for f in PARAMETERS:
        assert f.metadata["help"]
        assert f.metadata["check"](f.name, f.default) == f.default
