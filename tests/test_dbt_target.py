"""--target through a dbt profile, on the adapter every install has (dbt-duckdb): the same
figures as --db, and one-line errors for what is missing. The same on PostgreSQL and Spark
is in test_engines.py."""

import json

import pytest

from fanout.errors import DataError
from fanout.toolkit import dbt_target

from .conftest import ROOT
from .conftest import run_cli as _run


def _flags(build, revision: str) -> list:
    """The profile `fanout build` wrote beside its DuckDB file (target `fanout`)."""
    project = ROOT / "warehouse" / revision
    return ["--target", "fanout", "--project-dir", project, "--profiles-dir", build.folder]


def _json(capsys, *argv):
    code, out, err = _run(capsys, *argv, "--format", "json")
    assert out, err
    return code, json.loads(out)


@pytest.mark.parametrize(
    ("adapter", "dialect"),
    [("postgres", "postgres"), ("spark", "spark"), ("sqlserver", "tsql"), ("duckdb", "duckdb")],
)
def test_an_adapter_type_names_its_sqlglot_dialect(adapter, dialect):
    assert dbt_target.dialect_of(adapter) == dialect


def test_an_adapter_sqlglot_does_not_know_is_one_line():
    with pytest.raises(DataError, match=r"^no SQL dialect known for the dbt adapter 'nosuch' "):
        dbt_target.dialect_of("nosuch")


def test_dbt_messages_become_one_line():
    exc = RuntimeError('Runtime Error\n  Database Error\n    relation "x" does not exist\n')
    assert dbt_target.one_line(exc) == 'relation "x" does not exist'
    postgres = 'relation "a.b" does not exist\nLINE 1: select * from a.b\n                      ^\n'
    assert dbt_target.one_line(RuntimeError(postgres)) == 'relation "a.b" does not exist'
    assert dbt_target.one_line(RuntimeError("a\n- b\n" + "c" * 400), 20) == "a b ccccccccccccc..."


def test_check_grain_through_a_duckdb_target_equals_db(capsys, builds):
    enrichment = builds["enrichment"]
    argv = ["check", "grain", "--relation", "stg_orders", "--key", "order_id"]
    code, report = _json(capsys, *argv, *_flags(enrichment, "enrichment"))
    duck_code, duck = _json(capsys, *argv, "--db", enrichment.database)
    assert code == duck_code == 1
    assert report == duck
    (check,) = report["checks"]
    assert (check["rows"], check["distinct_keys"], check["duplicated_keys"]) == (10468, 4157, 3243)
    assert check["examples"][0] == [[528], 8]


def test_check_grain_of_a_manifest_through_a_duckdb_target(capsys, builds):
    fix = builds["fix"]
    manifest = fix.folder / "target" / "manifest.json"
    code, out, err = _run(capsys, "check", "grain", "--manifest", manifest, *_flags(fix, "fix"))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "ok   main.fct_orders (order_id): 4,157 rows, 4,157 distinct keys",
        "ok   main.fct_revenue_daily (revenue_date): 90 rows, 90 distinct keys",
        "ok   main.stg_order_items (order_item_id): 10,468 rows, 10,468 distinct keys",
        "ok   main.stg_orders (order_id): 4,157 rows, 4,157 distinct keys",
    ]


def test_investigate_through_a_duckdb_target_equals_db(capsys, builds):
    enrichment = builds["enrichment"]
    manifest = enrichment.folder / "target" / "manifest.json"
    argv = ["investigate", "--symptom", "fct_revenue_daily", "--manifest", manifest]
    code, report = _json(capsys, *argv, *_flags(enrichment, "enrichment"))
    duck_code, duck = _json(capsys, *argv, "--db", enrichment.database)
    assert code == duck_code == 1
    assert report["root_cause"] == "stg_orders"
    for key in ("steps", "root_cause", "introduced", "blast_radius"):
        assert report[key] == duck[key], key


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--db", "x.duckdb", "--target", "t"], "give --db FILE or --target NAME, not both"),
        (["--db", "x.duckdb", "--project-dir", "."], "--project-dir goes with --target NAME"),
        (["--db", "x.duckdb", "--profiles-dir", "."], "--profiles-dir goes with --target NAME"),
        (
            ["--target", "t", "--dialect", "snowflake"],
            "--dialect prints the SQL, --target runs it: give one of them",
        ),
    ],
)
def test_flags_that_do_not_go_together_are_one_line_exit_2(capsys, argv, message):
    code, out, err = _run(capsys, "check", "grain", "--relation", "r", "--key", "k", *argv)
    assert (code, out, err) == (2, "", f"fanout check: error: {message}\n")


def test_a_missing_target_profile_or_relation_is_one_line_exit_2(capsys, builds, tmp_path):
    fix = builds["fix"]
    argv = ["check", "grain", "--relation", "stg_orders", "--key", "order_id"]
    project = ["--project-dir", ROOT / "warehouse" / "fix"]
    before = sorted(p.name for p in fix.folder.iterdir())
    code, out, err = _run(capsys, *argv, *project, "--profiles-dir", fix.folder, "--target", "nope")
    assert (code, out) == (2, "")
    assert err == (
        "fanout check: error: target 'nope': The profile 'fanout_shop' does not have a "
        "target named 'nope'. The valid target names for this profile are: fanout\n"
    )
    (tmp_path / "profiles.yml").write_text("other_profile:\n  outputs: {}\n")
    code, out, err = _run(capsys, *argv, *project, "--profiles-dir", tmp_path, "--target", "x")
    assert (code, out) == (2, "") and len(err.splitlines()) == 1
    assert err.startswith("fanout check: error: target 'x': ") and "fanout_shop" in err
    code, out, err = _run(
        capsys, *argv, *project, "--profiles-dir", tmp_path / "no", "--target", "x"
    )
    assert (code, out, err) == (
        2,
        "",
        f"fanout check: error: --profiles-dir {tmp_path / 'no'}: no profiles.yml there\n",
    )
    code, out, err = _run(
        capsys, "check", "grain", "--relation", "nope", "--key", "order_id", *_flags(fix, "fix")
    )
    assert (code, out) == (2, "") and len(err.splitlines()) == 1
    assert err.startswith("fanout check: error: nope: ")
    assert sorted(p.name for p in fix.folder.iterdir()) == before  # nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profiles.yml"]
