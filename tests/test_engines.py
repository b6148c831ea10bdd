"""The warehouse and the checks on real engines through dbt's adapters: PostgreSQL (a
throwaway cluster started here) and Apache Spark (a local session, dbt-spark's `session`
method), each compared with DuckDB's figures at the default parameters.

Per engine and per test session: the engine starts once, the raw data is loaded once
(`dbt run-operation load_raw`), each revision is built once (`dbt build`, one schema per
revision) and the fix's grain tests run once on the enrichment's tables; every test below
shares that. Where an engine cannot start, its tests skip with one line saying why
(FANOUT_REQUIRE_ENGINES=1, which CI sets, turns that into a failure).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from fanout.incident.warehouse import REVISIONS

from . import servers
from .conftest import RAW, ROOT
from .conftest import run_cli as _run

# `make test` runs these in a pytest session of their own (`-m engines`): one engine after
# the other (the fixture's engine stops before the next starts), each started once.
pytestmark = pytest.mark.engines
ENGINES = ["postgres", "spark"]


def _unavailable(reason: str):
    if os.environ.get("FANOUT_REQUIRE_ENGINES") == "1":
        pytest.fail(f"{reason} (FANOUT_REQUIRE_ENGINES=1)", pytrace=False)
    pytest.skip(reason)


@dataclass
class Engine:
    """One engine with the three revisions built on it, and how to reach each."""

    name: str
    profiles_dir: Path
    builds: dict  # revision -> fanout.incident.target_builds.TargetBuild
    grain_tests: list  # the fix's grain tests on the enrichment's tables
    load_seconds: float

    def target(self, revision: str) -> str:
        return f"{self.name}_{revision}"

    def flags(self, revision: str) -> list[str]:
        """--target, --project-dir and --profiles-dir for a revision's build."""
        return [
            "--target",
            self.target(revision),
            "--project-dir",
            ROOT / "warehouse" / revision,
            "--profiles-dir",
            self.profiles_dir,
        ]


def _profiles(folder: Path, outputs: dict) -> Path:
    """profiles.yml with one target per output, the project's profile name."""
    profile = {"fanout_shop": {"target": next(iter(outputs)), "outputs": outputs}}
    (folder / "profiles.yml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return folder


def _build_all(name: str, profiles_dir: Path, data_dir: Path, work: Path) -> Engine:
    from fanout.incident import target_builds

    load = target_builds.load_raw(
        f"{name}_baseline", profiles_dir=profiles_dir, data_dir=data_dir, work=work
    )
    builds = {
        rev: target_builds.build_on(
            rev, f"{name}_{rev}", profiles_dir=profiles_dir, data_dir=data_dir, work=work
        )
        for rev in REVISIONS
    }
    tests = target_builds.run_tests_on(
        "fix",
        f"{name}_enrichment",
        select="stg_orders",
        profiles_dir=profiles_dir,
        data_dir=data_dir,
        work=work,
    )
    return Engine(name, profiles_dir, builds, tests, load)


@pytest.fixture(scope="session", params=ENGINES, ids=ENGINES)
def engine(request, tmp_path_factory):
    name = request.param
    work = tmp_path_factory.mktemp(name)
    if name == "postgres":
        try:
            import dbt.adapters.postgres  # noqa: F401
        except ImportError:
            _unavailable("PostgreSQL: dbt-postgres is not installed (the engines extra)")
        try:
            cluster = servers.start_postgres()
        except servers.Unavailable as exc:
            _unavailable(str(exc))
        try:
            outputs = {f"postgres_{r}": cluster.profile_output(r) for r in REVISIONS}
            profiles = _profiles(work, outputs)
            yield _build_all(name, profiles, cluster.readable_copy(RAW), work)
        finally:
            cluster.stop()
    else:
        settings = servers.spark_settings(work / "spark")
        try:
            session = servers.start_spark(settings)
        except servers.Unavailable as exc:
            _unavailable(str(exc))
        try:
            outputs = {f"spark_{r}": servers.spark_output(r, settings) for r in REVISIONS}
            profiles = _profiles(work, outputs)
            yield _build_all(name, profiles, RAW, work)
        finally:
            session.stop()


def _on_duckdb(build) -> list:
    """--manifest and --db of a DuckDB build (the `builds` fixture's)."""
    return ["--manifest", build.manifest_path, "--db", build.database]


def _json(capsys, *argv):
    code, out, err = _run(capsys, *argv, "--format", "json")
    assert out, err
    return code, json.loads(out)


# --- the builds ---------------------------------------------------------------------------


def test_the_three_revisions_build_from_the_same_raw_data(engine, builds):
    for rev in REVISIONS:
        on_engine, on_duckdb = engine.builds[rev], builds[rev]
        assert on_engine.ok, (rev, [(r.name, r.message) for r in on_engine.failed])
        statuses = sorted((r.resource_type, r.name, r.status) for r in on_engine.results)
        assert statuses == sorted((r.resource_type, r.name, r.status) for r in on_duckdb.results)
    tests = [r for r in engine.builds["fix"].results if r.resource_type == "test"]
    assert len(tests) == 13 and all(r.status == "pass" for r in tests)


def test_the_fix_grain_tests_fail_on_the_enrichment_tables_as_on_duckdb(engine, builds, tmp_path):
    from fanout.incident import warehouse

    assert {r.name for r in engine.grain_tests} == {
        "assert_stg_orders_grain",
        "grain_stg_orders_order_id",
    }
    on_duckdb = warehouse.run_tests(
        "fix", builds["enrichment"].database, select="stg_orders", build_dir=tmp_path
    )
    for r in engine.grain_tests:
        assert (r.status, r.failures) == ("fail", 3243)  # orders with more than one item
        assert r.depends_on == ("model.fanout_shop.stg_orders",)
    assert sorted((r.name, r.status, r.failures) for r in engine.grain_tests) == sorted(
        (r.name, r.status, r.failures) for r in on_duckdb
    )


# --- check grain ----------------------------------------------------------------------------


def test_check_grain_through_the_target_gives_duckdb_figures(capsys, engine, builds):
    argv = ["check", "grain", "--relation", "stg_orders", "--key", "order_id"]
    code, report = _json(capsys, *argv, *engine.flags("enrichment"))
    duck_code, duck = _json(capsys, *argv, "--db", builds["enrichment"].database)
    assert code == duck_code == 1
    (check,) = report["checks"]
    assert (check["rows"], check["distinct_keys"], check["duplicated_keys"]) == (10468, 4157, 3243)
    assert check == duck["checks"][0]  # every figure, the worst keys included
    assert check["examples"][0] == [[528], 8]


def test_check_grain_of_every_grained_model_passes_on_the_fix(capsys, engine, builds):
    fix = engine.builds["fix"]
    code, report = _json(
        capsys, "check", "grain", "--manifest", fix.manifest_path, *engine.flags("fix")
    )
    assert code == 0 and report["missing"] == []
    figures = {
        c["relation"].split(".")[-1]: (c["rows"], c["distinct_keys"]) for c in report["checks"]
    }
    assert figures == {
        "stg_orders": (4157, 4157),
        "stg_order_items": (10468, 10468),
        "fct_orders": (4157, 4157),
        "fct_revenue_daily": (90, 90),
    }
    assert {c["relation"].split(".")[0] for c in report["checks"]} == {"fix"}


def test_text_output_names_the_relation_in_the_target_schema(capsys, engine):
    code, out, err = _run(
        capsys,
        "check",
        "grain",
        "--relation",
        "stg_orders",
        "--key",
        "order_id",
        *engine.flags("baseline"),
    )
    assert (code, err) == (0, "")
    assert out == "ok   stg_orders (order_id): 4,157 rows, 4,157 distinct keys\n"


# --- reconcile ------------------------------------------------------------------------------


@pytest.mark.parametrize("against", ["finance", "raw"])
def test_reconcile_through_the_target_equals_duckdb_to_the_cent(capsys, engine, builds, against):
    argv = ["reconcile", "--against", against]
    code, report = _json(capsys, *argv, *engine.flags("enrichment"))
    duck_code, duck = _json(capsys, *argv, "--db", builds["enrichment"].database, "--data", RAW)
    assert code == duck_code == 1
    assert report == duck  # every day, every amount, as text, to the cent
    assert report["days_disagreeing"] == 90
    assert report["mart_total"] == "1147498.87"
    assert report["against_total"] == "367717.90"
    code, out, _ = _run(capsys, *argv, *engine.flags("fix"))
    assert code == 0
    assert out.startswith(f"fct_revenue_daily vs {against}: 90 days, 0 disagree beyond 0.00")


# --- investigate and blast radius ---------------------------------------------------------------


def test_investigate_through_the_target_names_stg_orders_as_on_duckdb(capsys, engine, builds):
    manifest = engine.builds["enrichment"].manifest_path
    argv = ["investigate", "--symptom", "fct_revenue_daily"]
    code, report = _json(capsys, *argv, "--manifest", manifest, *engine.flags("enrichment"))
    duck_code, duck = _json(capsys, *argv, *_on_duckdb(builds["enrichment"]))
    assert code == duck_code == 1
    assert report["root_cause"] == "stg_orders"
    assert report["introduced"]["pr"] == 482
    first = report["steps"][0]
    assert (first["model"], first["rows"], first["distinct_keys"], first["broke"]) == (
        "stg_orders",
        10468,
        4157,
        True,
    )
    for key in ("steps", "root_cause", "introduced", "blast_radius"):
        assert report[key] == duck[key], key


def test_blast_radius_through_the_target_quantifies_the_misstatement(capsys, engine, builds):
    e = engine.builds["enrichment"]
    argv = ["blast-radius", "stg_orders"]
    code, report = _json(capsys, *argv, "--manifest", e.manifest_path, *engine.flags("enrichment"))
    duck_code, duck = _json(capsys, *argv, *_on_duckdb(builds["enrichment"]), "--data", RAW)
    assert code == duck_code == 1
    assert report["misstatements"] == duck["misstatements"]
    assert report["misstatements"]["fct_revenue_daily"]["overstated_by"] == "779780.97"
    shown = {(d["exposure"], d["metric"]): d for d in report["dashboards"]}
    assert set(shown) == {(d["exposure"], d["metric"]) for d in duck["dashboards"]}
    # Sums and counts are exact everywhere. An average of DECIMAL(18,2) is a double on
    # DuckDB, a numeric of 16 decimals on PostgreSQL and a DECIMAL(22,6) on Spark (the
    # input's scale + 4, rounded half up): equal to the sixth decimal.
    for d in duck["dashboards"]:
        mine = shown[(d["exposure"], d["metric"])]
        for figure in ("shown", "truth"):
            assert round(mine[figure], 6) == round(d[figure], 6), (d, figure)
    money = {(d["exposure"], d["metric"]): round(d["shown"], 2) for d in report["dashboards"]}
    assert money == {
        ("revenue_dashboard", "revenue"): 1147498.87,
        ("orders_overview", "orders"): 4157.0,
        ("orders_overview", "average order value"): 276.04,
        ("executive_kpis", "revenue"): 1147498.87,
        ("executive_kpis", "orders"): 10468.0,
        ("executive_kpis", "average order value"): 109.62,
    }


# --- bad input --------------------------------------------------------------------------------


def _no_new_files(before: set, folder: Path) -> None:
    assert set(folder.rglob("*")) == before


def test_a_missing_relation_is_one_line_exit_2(capsys, engine):
    project = ROOT / "warehouse" / "fix"
    before = set(project.rglob("*"))
    code, out, err = _run(
        capsys, "check", "grain", "--relation", "nope", "--key", "order_id", *engine.flags("fix")
    )
    assert (code, out) == (2, "")
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("fanout check: error: nope: ")
    code, out, err = _run(capsys, "reconcile", "--mart", "nope", *engine.flags("fix"))
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1
    assert err.startswith("fanout reconcile: error: fix.nope: ")
    _no_new_files(before, project)


def test_a_missing_target_or_profile_is_one_line_exit_2(capsys, engine, tmp_path):
    argv = ["check", "grain", "--relation", "stg_orders", "--key", "order_id"]
    project = ["--project-dir", ROOT / "warehouse" / "fix"]
    code, out, err = _run(
        capsys, *argv, *project, "--profiles-dir", engine.profiles_dir, "--target", "nope"
    )
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1
    assert "target 'nope'" in err and "does not have a target named 'nope'" in err
    assert f"{engine.name}_fix" in err  # the valid names are listed
    (tmp_path / "profiles.yml").write_text("other_profile:\n  outputs: {}\n")
    code, out, err = _run(
        capsys, *argv, *project, "--profiles-dir", tmp_path, "--target", f"{engine.name}_fix"
    )
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1
    assert "fanout_shop" in err
    code, out, err = _run(
        capsys, *argv, *project, "--profiles-dir", tmp_path / "none", "--target", "x"
    )
    assert (code, out, err.strip()) == (
        2,
        "",
        f"fanout check: error: --profiles-dir {tmp_path / 'none'}: no profiles.yml there",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profiles.yml"]
