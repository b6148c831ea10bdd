"""fanout check grain and fanout reconcile on the incident's builds; their SQL in other dialects."""

import json

import pytest
import sqlglot

from fanout.cli.checks import DIALECTS
from fanout.toolkit.grain import grain_sql
from fanout.toolkit.reconcile import daily_sql

from .conftest import RAW
from .conftest import run_cli as _run

INJECTIONS = [
    'order_id"; drop table stg_orders; --',
    "order_id'; select 1; --",
    "order_id) union select 1 --",
    "x`; drop table y",
]


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
    assert code == 2 and "--tolerance must be a number >= 0, got -1" in err
    code, _, err = _run(capsys, "reconcile", "--db", builds["fix"].database, "--tolerance", "NaN")
    assert code == 2 and "--tolerance must be a number >= 0, got NaN" in err


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


def test_lint_flags_the_enrichment_and_passes_the_fix(capsys, builds):
    code, out, _ = _run(
        capsys, "lint", "--manifest", builds["enrichment"].manifest_path, "--format", "json"
    )
    assert code == 1
    found = {(f["model"], f["rule"]) for f in json.loads(out)["findings"]}
    assert ("stg_orders", "staging-joins-sources") in found
    assert ("stg_orders", "fan-out") in found
    assert ("fct_revenue_daily", "sum-over-fan-out") in found
    code, out, _ = _run(capsys, "lint", "--manifest", builds["fix"].manifest_path)
    assert code == 0 and out.strip() == "fanout_shop: no findings"


def test_lint_rejects_a_file_that_is_not_a_manifest(capsys, tmp_path):
    bad = tmp_path / "m.json"
    bad.write_text('{"hello": 1}')
    code, _, err = _run(capsys, "lint", "--manifest", bad)
    assert code == 2 and "is not a dbt manifest" in err


def test_blast_radius_quantifies_the_misstatement(capsys, builds):
    e = builds["enrichment"]
    code, out, _ = _run(
        capsys,
        "blast-radius",
        "stg_orders",
        "--manifest",
        e.manifest_path,
        "--db",
        e.database,
        "--data",
        RAW,
        "--format",
        "json",
    )
    report = json.loads(out)
    assert code == 1  # misstatements found
    assert report["models"] == ["fct_orders", "fct_revenue_daily"]
    assert {x["name"]: x["owner"] for x in report["exposures"]} == {
        "executive_kpis": "Data Platform",
        "orders_overview": "Operations",
        "revenue_dashboard": "Finance Analytics",
    }
    daily = report["misstatements"]["fct_revenue_daily"]
    assert daily["overstated_by"] == "779780.97"
    assert (daily["days_misstated"], daily["first_day"], daily["last_day"]) == (
        90,
        "2026-08-01",
        "2026-10-29",
    )
    assert report["misstatements"]["fct_orders"]["overstated_by"] == "779780.97"
    kpis = {(d["exposure"], d["metric"]): round(d["factor"], 3) for d in report["dashboards"]}
    assert kpis[("executive_kpis", "average order value")] == 1.239
    assert kpis[("executive_kpis", "orders")] == round(10468 / 4157, 3)
    assert kpis[("revenue_dashboard", "revenue")] == round(1147498.87 / 367717.90, 3)


def test_blast_radius_on_the_fix_finds_nothing_misstated(capsys, builds):
    f = builds["fix"]
    code, out, _ = _run(
        capsys,
        "blast-radius",
        "stg_orders",
        "--manifest",
        f.manifest_path,
        "--db",
        f.database,
        "--format",
        "json",
    )
    report = json.loads(out)
    assert code == 0
    assert all(m["days_misstated"] == 0 for m in report["misstatements"].values())
    assert all(abs(d["factor"] - 1) < 1e-9 for d in report["dashboards"])


def test_reconcile_by_day_of_a_timestamp_column(capsys, builds):
    code, out, _ = _run(
        capsys,
        "reconcile",
        "--db",
        builds["fix"].database,
        "--mart",
        "stg_orders",
        "--date-column",
        "ordered_at",
        "--revenue-column",
        "amount",
    )
    assert code == 0
    assert out.startswith("stg_orders vs finance: 90 days, 0 disagree")


def test_investigate_names_stg_orders_and_the_enrichment_pr(capsys, builds):
    e = builds["enrichment"]
    code, out, _ = _run(
        capsys,
        "investigate",
        "--db",
        e.database,
        "--manifest",
        e.manifest_path,
        "--symptom",
        "fct_revenue_daily",
    )
    assert code == 1
    assert "root cause: stg_orders, the first model whose grain broke" in out
    assert 'introduced by: PR #482 "Add order-item detail' in out
    assert "blast radius: 2 models, 3 exposures" in out
    f = builds["fix"]
    code, out, _ = _run(
        capsys,
        "investigate",
        "--db",
        f.database,
        "--manifest",
        f.manifest_path,
        "--symptom",
        "fct_revenue_daily",
    )
    assert code == 0 and "no model upstream has a broken grain" in out


def test_check_grain_from_the_fix_manifest_on_the_enrichment_tables(capsys, builds):
    code, out, _ = _run(
        capsys,
        "check",
        "grain",
        "--db",
        builds["enrichment"].database,
        "--manifest",
        builds["fix"].manifest_path,
        "--format",
        "json",
    )
    report = json.loads(out)
    assert code == 1
    verdicts = {c["relation"]: c["ok"] for c in report["checks"]}
    assert verdicts == {
        "main.fct_orders": True,
        "main.fct_revenue_daily": True,
        "main.stg_orders": False,
    }
    assert [m["relation"] for m in report["missing"]] == ["main.stg_order_items"]


def test_anomalies_flags_a_planted_spike(capsys, tmp_path):
    series = tmp_path / "s.csv"
    lines = ["at,value"] + [f"2026-01-{d:02d},{100 + d % 3}" for d in range(1, 29)]
    series.write_text("\n".join([*lines, "2026-01-29,350"]) + "\n")
    code, out, _ = _run(capsys, "anomalies", series)
    assert code == 1 and "29 points, 1 anomalies" in out and "2026-01-29" in out
    code, _, err = _run(capsys, "anomalies", series, "--value-column", "revenue")
    assert code == 2 and "has no column 'revenue'" in err
