"""fanout check grain and fanout reconcile on the incident's builds; their SQL in other dialects."""

import json

import pytest
import sqlglot

from fanout.cli import DIALECTS, main
from fanout.grain import grain_sql
from fanout.reconcile import daily_sql

from .conftest import RAW

INJECTIONS = [
    'order_id"; drop table stg_orders; --',
    "order_id'; select 1; --",
    "order_id) union select 1 --",
    "x`; drop table y",
]


def _run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_grain_check_fails_on_the_enrichment_and_lists_the_worst_orders(capsys, builds):
    db = builds["enrichment"].database
    code, out, _ = _run(
        capsys,
        "check",
        "grain",
        "--db",
        db,
        "--relation",
        "stg_orders",
        "--key",
        "order_id",
        "--format",
        "json",
    )
    assert code == 1
    (check,) = json.loads(out)["checks"]
    assert (check["rows"], check["distinct_keys"], check["duplicated_keys"]) == (10468, 4157, 3243)
    assert check["examples"][0] == [[528], 8]


@pytest.mark.parametrize("revision", ["baseline", "fix"])
def test_grain_check_passes_where_the_grain_holds(capsys, builds, revision):
    code, out, _ = _run(
        capsys,
        "check",
        "grain",
        "--db",
        builds[revision].database,
        "--relation",
        "main.stg_orders",
        "--key",
        "order_id",
    )
    assert code == 0
    assert out.startswith("ok   main.stg_orders (order_id): 4,157 rows, 4,157 distinct keys")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--relation", "nope", "--key", "order_id"], "nope: Catalog Error: Table with name nope"),
        (["--relation", "stg_orders", "--key", "nope"], 'Referenced column "nope" not found'),
        (["--relation", "stg_orders"], "--relation needs --key"),
        (["--relation", "stg_orders", "--key", "a,,b"], "--key must be column names"),
    ],
)
def test_grain_check_bad_input_exits_2(capsys, builds, argv, message):
    code, out, err = _run(capsys, "check", "grain", "--db", builds["fix"].database, *argv)
    assert code == 2 and message in err and out == ""
    assert len(err.strip().splitlines()) == 1


def test_missing_database_exits_2(capsys, tmp_path):
    code, _, err = _run(
        capsys, "check", "grain", "--db", tmp_path / "x.duckdb", "--relation", "t", "--key", "k"
    )
    assert code == 2 and "x.duckdb does not exist" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", INJECTIONS)
def test_identifiers_are_quoted_never_pasted(capsys, builds, key):
    db = builds["fix"].database
    code, _, err = _run(
        capsys, "check", "grain", "--db", db, "--relation", "stg_orders", "--key", key
    )
    assert code == 2 and "not found" in err
    code, _, err = _run(capsys, "check", "grain", "--db", db, "--relation", key, "--key", "x")
    assert code == 2 and "does not exist" in err
    assert (
        _run(capsys, "check", "grain", "--db", db, "--relation", "stg_orders", "--key", "order_id")[
            0
        ]
        == 0
    )


def test_reconcile_lists_every_inflated_day(capsys, builds, raw_facts):
    code, out, _ = _run(
        capsys,
        "reconcile",
        "--db",
        builds["enrichment"].database,
        "--data",
        RAW,
        "--format",
        "json",
    )
    report = json.loads(out)
    assert code == 1
    assert report["days"] == report["days_disagreeing"] == 90
    assert report["mart_total"] == str(raw_facts.fanned_amount)
    assert report["against_total"] == str(raw_facts.total_amount)
    first = report["disagreeing"][0]
    assert first["date"] == "2026-08-01"
    assert first["difference"] == "4414.84"


@pytest.mark.parametrize("against", ["finance", "raw"])
def test_reconcile_passes_on_the_fix(capsys, builds, against):
    code, out, _ = _run(
        capsys, "reconcile", "--db", builds["fix"].database, "--data", RAW, "--against", against
    )
    assert code == 0
    assert out.startswith(f"fct_revenue_daily vs {against}: 90 days, 0 disagree beyond 0.00")


def test_reconcile_tolerance_is_checked(capsys, builds):
    code, _, err = _run(capsys, "reconcile", "--db", builds["fix"].database, "--tolerance", "-1")
    assert code == 2 and "--tolerance must be at least 0" in err


@pytest.mark.parametrize("dialect", [d for d in DIALECTS if d != "duckdb"])
def test_generated_sql_parses_in_each_warehouse_dialect(capsys, dialect):
    for sql in (
        grain_sql("analytics.stg_orders", ["order_id", "line_number"], dialect=dialect),
        daily_sql("analytics.fct_revenue_daily", "finance.daily_revenue", dialect=dialect),
    ):
        parsed = sqlglot.parse_one(sql, dialect=dialect)
        assert parsed.sql(dialect=dialect) == sql  # round-trips: valid in that dialect
    code, out, _ = _run(
        capsys,
        "check",
        "grain",
        "--relation",
        "stg_orders",
        "--key",
        "order_id",
        "--dialect",
        dialect,
    )
    assert code == 0 and out.strip().endswith(";")
