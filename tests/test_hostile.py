"""Hostile input, as an adversarial user hands it in: special files, huge lines, YAML bombs,
deep and cyclic graphs, hostile relation names, NaN settings, bad data given to a build, a
killed build, the committed dataset. Every one ends in one line with its exit code (2: bad
input, 1: findings), never a traceback, never a hang (each read runs under a deadline), and
nothing on disk written or lost."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.manifest import chain as _chain
from fanout import bounded
from fanout.errors import DataError, ParameterError
from fanout.incident.data import validate
from fanout.incident.data.generate import generate
from fanout.incident.data.raw import verify_checksums
from fanout.incident.params import Params, load_yaml
from fanout.toolkit import anomaly, lineage

from .conftest import RAW, ROOT, deadline
from .conftest import run_cli as _run

V12 = "https://schemas.getdbt.com/dbt/manifest/v12.json"
SMALL = Params(days=5, orders_per_day=8, seed=3)


def _one_line(err: str) -> str:
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def _manifest(nodes=None, sources=None, parent_map=None, version=V12, **more) -> dict:
    metadata = {"project_name": "p"}
    if version is not None:
        metadata["dbt_schema_version"] = version
    return {
        "metadata": metadata,
        "nodes": nodes or {},
        "sources": sources or {},
        "parent_map": parent_map or {},
        **more,
    }


def _write(folder: Path, name: str, content) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clean") / "data"
    generate(SMALL, folder)
    return folder


@pytest.fixture
def data(clean, tmp_path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(clean, folder)
    return folder


def _special(kind: str, path: Path) -> Path:
    """`path` made a symbolic link to /dev/zero, or a FIFO nobody writes to."""
    path.unlink(missing_ok=True)
    if kind == "/dev/zero":
        path.symlink_to("/dev/zero")
    else:
        os.mkfifo(path)
    return path


WHAT = {"/dev/zero": "a character device", "fifo": "a FIFO (named pipe)"}


# ---------------------------------------------------------------------------- bounded reads


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_special_files_are_refused_by_every_reader_before_a_byte_is_read(
    capsys, tmp_path, builds, kind
):
    special = _special(kind, tmp_path / "input")
    project = tmp_path / "project"
    project.mkdir()
    _special(kind, project / "dbt_project.yml")
    manifest = builds["fix"].manifest_path
    commands = [
        (["workbook", "--params", special], f"parameter file {special}"),
        (["lint", "--manifest", special], f"manifest {special}"),
        (["lint", "--manifest", manifest, "--project", project], "dbt project file"),
        (["anomalies", special], f"series {special}"),
        (["check", "grain", "--db", special, "--relation", "t", "--key", "k"], "database"),
        (["blast-radius", "stg_orders", "--manifest", special], f"manifest {special}"),
    ]
    for argv, who in commands:
        with deadline(20):
            code, out, err = _run(capsys, *argv)
        assert code == 2 and out == "", (argv, err)
        line = _one_line(err)
        assert who in line and line.endswith(f"is {WHAT[kind]}, not a regular file"), line


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_raw_files_that_are_special_are_named_by_check_raw_and_refused_by_build(
    capsys, tmp_path, builds, data, kind
):
    _special(kind, data / "raw_orders.csv")
    with deadline(20):
        code, out, err = _run(capsys, "check", "raw", "--data", data)
    assert (code, err) == (1, "")
    assert f"raw_orders.csv: not a regular file ({WHAT[kind]}): 1 row" in out.splitlines()
    build = tmp_path / "build"
    with deadline(20):
        code, out, err = _run(
            capsys, "build", "--revision", "fix", "--data", data, "--build-dir", build
        )
    assert (code, out) == (2, "")
    assert _one_line(err).startswith(
        f"fanout build: error: raw data in {data} is not valid: raw_orders.csv: not a "
        f"regular file ({WHAT[kind]})"
    )
    assert not build.exists()  # nothing written, not even the build folder
    db = builds["fix"].database
    manifest = builds["fix"].manifest_path
    for argv in (
        ["reconcile", "--db", db, "--data", data],
        ["blast-radius", "stg_orders", "--manifest", manifest, "--db", db, "--data", data],
    ):
        with deadline(20):
            code, out, err = _run(capsys, *argv)
        assert (code, out) == (2, "")
        assert _one_line(err).endswith(
            f"error: raw file {data / 'raw_orders.csv'} is {WHAT[kind]}, not a regular file"
        )


def test_size_and_line_limits_are_named_with_the_variable_that_raises_them(
    capsys, monkeypatch, tmp_path, builds, data
):
    manifest = builds["fix"].manifest_path
    monkeypatch.setenv("FANOUT_MAX_MANIFEST_BYTES", "100")
    code, _, err = _run(capsys, "lint", "--manifest", manifest)
    assert code == 2
    assert _one_line(err).endswith("over the limit of 100 bytes (FANOUT_MAX_MANIFEST_BYTES)")
    params = _write(tmp_path, "p.yaml", "days: 30\n" * 4)
    monkeypatch.setenv("FANOUT_MAX_TEXT_BYTES", "10")
    code, _, err = _run(capsys, "workbook", "--params", params)
    assert code == 2 and _one_line(err) == (
        f"fanout workbook: error: parameter file {params} is 36 bytes, over the limit of "
        "10 bytes (FANOUT_MAX_TEXT_BYTES)"
    )
    series = _write(tmp_path, "s.csv", "at,value\n2026-01-01," + "9" * 80 + "\n")
    monkeypatch.setenv("FANOUT_MAX_LINE_BYTES", "50")
    code, _, err = _run(capsys, "anomalies", series)
    assert code == 2 and _one_line(err) == (
        f"fanout anomalies: error: series {series}: line 2 is longer than 50 bytes "
        "(FANOUT_MAX_LINE_BYTES)"
    )
    code, out, _ = _run(capsys, "check", "raw", "--data", data)  # a 54-byte header
    assert code == 1
    assert (
        "raw_order_items.csv: malformed CSV: a header longer than 50 bytes "
        "(FANOUT_MAX_LINE_BYTES): 1 row"
    ) in out.splitlines()


def test_a_limit_variable_that_is_not_a_number_is_named(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("FANOUT_MAX_LINE_BYTES", "lots")
    series = _write(tmp_path, "s.csv", "at,value\n2026-01-01,1\n")
    code, _, err = _run(capsys, "anomalies", series)
    assert code == 2 and _one_line(err) == (
        "fanout anomalies: error: FANOUT_MAX_LINE_BYTES must be a whole number of at least 1, "
        "got 'lots'"
    )


def test_text_that_is_not_utf8_names_the_file_and_the_line(capsys, tmp_path):
    params = _write(tmp_path, "p.yaml", b"days: 30\n# caf\xe9\n")
    code, _, err = _run(capsys, "workbook", "--params", params)
    assert code == 2 and _one_line(err) == (
        f"fanout workbook: error: parameter file {params} is not UTF-8 text: byte 0xe9 on line 2"
    )
    series = _write(tmp_path, "s.csv", b"at,value\n2026-01-01,1\n2026-01-02,\xff\n")
    code, _, err = _run(capsys, "anomalies", series)
    assert code == 2 and _one_line(err) == (
        f"fanout anomalies: error: series {series} is not UTF-8 text: byte 0xff on line 3"
    )


# ---------------------------------------------------------------------------- YAML


LAUGHS = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
    )
    + f"days: [{', '.join(['*i'] * 10)}]\n"
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "days: " + "[" * 100_000 + "]" * 100_000 + "\n",
            "nested more than 64 levels deep (FANOUT_MAX_YAML_DEPTH) (line 1)",
        ),
        (
            LAUGHS,
            "it expands to more than 10,000,000 nodes and characters once its aliases are "
            "followed (FANOUT_MAX_YAML_EXPANSION) (line 7)",
        ),
        ("days: 30\nseed: 1\ndays: 40\n", "duplicate key 'days' (line 3)"),
        ("days: &a [*a]\n", "the alias *a refers to itself (line 1)"),
    ],
    ids=["100,000 nested lists", "billion laughs", "duplicate key", "recursive alias"],
)
def test_yaml_bombs_are_refused_at_once_in_one_line(capsys, tmp_path, text, problem):
    params = _write(tmp_path, "p.yaml", text)
    started = time.monotonic()
    with deadline(20):
        code, out, err = _run(capsys, "workbook", "--params", params)
    assert time.monotonic() - started < 10
    assert (code, out) == (2, "")
    assert _one_line(err) == (
        f"fanout workbook: error: parameter file {params} is not valid YAML: {problem}"
    )


def test_anchors_and_merge_keys_within_the_bounds_still_load(tmp_path):
    project = _write(
        tmp_path,
        "dbt_project.yml",
        "name: p\nvars:\n  base: &base {exclude_models: [spine]}\n  fanout:\n    <<: *base\n"
        "    exclude_models: [spine, legacy]\n",
    )
    assert lineage.Settings.from_project(project).exclude_models == ("spine", "legacy")
    days = _write(tmp_path, "p.yaml", "days: &d 30\n")
    assert load_yaml(days).days == 30


def test_the_alias_expansion_limit_is_set_by_its_variable(monkeypatch, tmp_path):
    doc = _write(tmp_path, "x.yaml", "a: &a [1, 2, 3]\nb: [*a, *a, *a, *a]\n")
    assert bounded.load_yaml(doc, "file")["b"][3] == [1, 2, 3]
    monkeypatch.setenv("FANOUT_MAX_YAML_EXPANSION", "20")
    with pytest.raises(DataError, match=r"expands to more than 20 nodes"):
        bounded.load_yaml(doc, "file")


# ---------------------------------------------------------------------------- deep graphs


def test_lint_on_a_chain_of_10000_models_gives_its_findings(capsys, tmp_path):
    manifest = _write(tmp_path, "m.json", _chain(10_000))
    code, out, err = _run(capsys, "lint", "--manifest", manifest, "--format", "json")
    assert (code, err) == (1, "")
    found = json.loads(out)
    assert len(found["findings"]) == 10_000
    last = next(p for p in found["predictions"] if p["model"] == "m9999")
    assert (last["status"], last["reason"]) == (
        "unknown",
        "the grain of m9998 is unknown (traced to m0: raw.e has no declared or tested grain)",
    )


def test_blast_radius_on_a_chain_of_10000_models_is_a_tree_of_bounded_width(capsys, tmp_path):
    manifest = _write(tmp_path, "m.json", _chain(10_000))
    code, out, err = _run(capsys, "blast-radius", "m0", "--manifest", manifest)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "m0 (model)" and lines[1] == "└── m1 (model)"
    assert lines[-2].startswith("[depth 9999] ... ") and lines[-2].endswith("└── m9999 (model)")
    assert lines[-1] == "9999 models, 0 tests and 0 exposures downstream of m0"
    assert max(len(x) for x in lines) < 150  # indentation stops growing: linear text
    code, out, _ = _run(capsys, "blast-radius", "m0", "--manifest", manifest, "--format", "json")
    rows = json.loads(out)["tree"]
    assert len(rows) == 10_000
    assert rows[-1] == {
        "name": "m9999",
        "resource_type": "model",
        "unique_id": "model.p.m9999",
        "exposure_type": None,
        "owner": None,
        "depth": 9999,
        "parent": "model.p.m9998",
        "expanded": True,
    }


def test_a_lattice_of_diamonds_expands_each_node_once(capsys, tmp_path):
    """40 levels of two models, each reading both above: 2^40 paths, 80 nodes."""
    nodes, parents, above = {}, {}, []
    for level in range(40):
        here = [f"model.p.l{level}_{j}" for j in range(2)]
        for uid in here:
            name = uid.rsplit(".", 1)[1]
            nodes[uid] = {"unique_id": uid, "name": name, "resource_type": "model"}
            parents[uid] = list(above)
        above = here
    manifest = _write(tmp_path, "m.json", _manifest(nodes, {}, parents))
    with deadline(20):
        code, out, err = _run(capsys, "blast-radius", "l0_0", "--manifest", manifest)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[-1] == "78 models, 0 tests and 0 exposures downstream of l0_0"
    assert len(lines) == 2 + 2 + 38 * 4  # one line per edge: the tree grows with the edges
    # levels 2 to 38 are each reached twice: expanded the first time, "see above" the second
    assert sum(x.endswith("(model) (see above)") for x in lines) == 2 * 37


def test_the_root_cause_walk_orders_a_deep_chain_parents_first():
    from fanout.toolkit.investigate import _upstream_models

    graph = lineage.load(_chain(10_000))
    order = _upstream_models(graph, graph.node("m9999"))
    assert [n.name for n in order] == [f"m{i}" for i in range(10_000)]


def test_investigate_walks_a_chain_longer_than_the_recursion_limit(tmp_path):
    import duckdb

    from fanout.toolkit import investigate

    n = sys.getrecursionlimit() + 100
    manifest = _chain(n, grain=True)
    con = duckdb.connect()
    for i in range(n):
        con.execute(f"create view main.m{i} as select 1 as id")
    found = investigate.walk(con, manifest, f"m{n - 1}")
    assert len(found.steps) == n and found.root_cause is None


def test_sql_nested_too_deeply_is_unknown_not_a_crash():
    manifest = _chain(2)
    deep = "(" * 50_000 + "1" + ")" * 50_000
    manifest["nodes"]["model.p.m1"]["compiled_code"] = f"select {deep} as a from m0"
    (prediction,) = lineage.predict(lineage.load(manifest), ["m1"])
    assert (prediction.status, prediction.reason) == (
        "unknown",
        "its SQL is nested too deeply to parse",
    )


def test_lint_output_grows_linearly_with_the_project(capsys, tmp_path):
    """A chain's unknown grains are traced to their source, not nested once per model; a
    source read by many lists its readers once."""
    sizes = {}
    for n in (400, 800):
        manifest = _write(tmp_path, f"chain-{n}.json", _chain(n))
        _, out, _ = _run(capsys, "lint", "--manifest", manifest, "--format", "json")
        sizes[("chain", n)] = len(out)
        nodes, parents = {}, {"source.p.raw.e": []}
        for i in range(n):
            uid = f"model.p.stg_{i}"
            nodes[uid] = {"unique_id": uid, "name": f"stg_{i}", "resource_type": "model"}
            parents[uid] = ["source.p.raw.e"]
        wide = _chain(0)
        wide.update(nodes=nodes, parent_map=parents)
        manifest = _write(tmp_path, f"wide-{n}.json", wide)
        _, out, _ = _run(capsys, "lint", "--manifest", manifest, "--no-predict")
        sizes[("wide", n)] = len(out)
        first = out.splitlines()[:3]
        assert first[1] == f"    read by {n} models"
        assert first[0].count("stg_") == n  # the readers, once
    for kind in ("chain", "wide"):
        assert sizes[(kind, 800)] / sizes[(kind, 400)] < 2.2, sizes


def test_a_finding_names_the_way_in_without_listing_every_reader():
    nodes = {
        f"model.p.{n}": {"unique_id": f"model.p.{n}", "name": n, "resource_type": "model"}
        for n in ["stg_e", *(f"fct_{i}" for i in range(5))]
    }
    manifest = _chain(0)
    manifest.update(nodes=nodes, parent_map={u: ["source.p.raw.e"] for u in nodes})
    (finding,) = lineage.lint(lineage.load(manifest), [lineage.source_read_by_many])
    assert finding.message == "read by 6 models"
    assert finding.parents == ("fct_0", "fct_1", "fct_2", "fct_3", "fct_4", "stg_e")
    assert finding.suggestion == "read stg_e instead in the 5 other models"


# ---------------------------------------------------------------------------- cycles


def test_a_cycle_is_named_in_one_line_by_every_command(capsys, tmp_path, builds):
    manifest = _chain(3)
    manifest["parent_map"]["model.p.m0"] = ["model.p.m2"]
    path = _write(tmp_path, "m.json", manifest)
    db = builds["fix"].database
    expected = (
        f"{path} is not a dbt manifest: its parent_map has a cycle of 3 nodes: model.p.m0 -> "
        "model.p.m2 -> model.p.m1 -> model.p.m0"
    )
    for argv in (
        ["lint", "--manifest", path],
        ["blast-radius", "m0", "--manifest", path],
        ["investigate", "--db", db, "--manifest", path, "--symptom", "m2"],
        ["check", "grain", "--manifest", path, "--dialect", "snowflake"],
    ):
        with deadline(20):
            code, out, err = _run(capsys, *argv)
        assert (code, out) == (2, ""), (argv, err)
        assert _one_line(err).endswith(f"error: {expected}"), err


def test_a_cycle_in_child_map_alone_and_a_long_cycle_are_named_too(tmp_path):
    manifest = _chain(3)
    manifest["child_map"] = {"model.p.m2": ["model.p.m1"], "model.p.m1": ["model.p.m2"]}
    with pytest.raises(DataError, match=r"its child_map has a cycle of 2 nodes: model.p.m1 -> "):
        lineage.load(manifest)
    long = _chain(10_000)
    long["parent_map"]["model.p.m0"] = ["model.p.m9999"]
    with pytest.raises(DataError) as caught:
        lineage.load(long)
    message = str(caught.value)
    assert "a cycle of 10000 nodes: model.p.m0 -> model.p.m9999 -> model.p.m9998 -> ..." in message
    assert len(message) < 300


# ---------------------------------------------------------------------------- schema versions


@pytest.mark.parametrize(
    ("version", "code", "stderr"),
    [
        ("v12", 1, ""),
        ("v4", 1, ""),
        (
            "v13",
            1,
            "fanout lint: warning: {path} is a v13 manifest, newer than v12, the newest "
            "fanout knows: what the newer schema adds is not read",
        ),
        (
            None,
            1,
            "fanout lint: warning: {path} names no schema version (metadata.dbt_schema_version): "
            "read as v12, the newest fanout knows",
        ),
        (
            "v3",
            2,
            "fanout lint: error: {path} is not a dbt manifest: its schema is v3 (dbt before 1.0); "
            "fanout reads v4 (dbt 1.0) to v12 (dbt 1.8 and later): regenerate it with a newer dbt",
        ),
        (
            "banana",
            2,
            "fanout lint: error: {path} is not a dbt manifest: metadata.dbt_schema_version is "
            "'banana', not a manifest schema (https://schemas.getdbt.com/dbt/manifest/vN.json)",
        ),
    ],
)
def test_schema_versions_outside_the_supported_range_are_named(
    capsys, tmp_path, version, code, stderr
):
    url = version if version in (None, "banana") else V12.replace("v12", version)
    manifest = _chain(2)
    if url is None:
        del manifest["metadata"]["dbt_schema_version"]
    else:
        manifest["metadata"]["dbt_schema_version"] = url
    path = _write(tmp_path, "m.json", manifest)
    got, out, err = _run(capsys, "lint", "--manifest", path)
    assert got == code
    assert err.strip() == stderr.format(path=path)
    if code == 1:
        assert out.endswith("2 findings, 0 errors (missing-grain)\n")


def test_a_manifest_read_twice_warns_once(capsys, tmp_path, builds):
    manifest = json.loads(builds["fix"].manifest_path.read_text())
    del manifest["metadata"]["dbt_schema_version"]
    path = _write(tmp_path, "m.json", manifest)
    db = builds["fix"].database
    code, out, err = _run(
        capsys, "investigate", "--db", db, "--manifest", path, "--symptom", "fct_orders"
    )
    assert code == 0 and "no model upstream has a broken grain" in out
    assert err == (
        f"fanout investigate: warning: {path} names no schema version "
        "(metadata.dbt_schema_version): read as v12, the newest fanout knows\n"
    )


# ---------------------------------------------------------------------------- relation names


@pytest.mark.parametrize(
    "relation",
    [
        '"fanout_shop"."main"."stg_orders"; drop table main.fct_orders; --',
        '"a"."b"."c"."d"',
        "stg_orders as x",
        "(select 1)",
        "read_text('/etc/passwd')",
        '"unterminated',
    ],
)
def test_a_hostile_relation_name_in_a_manifest_is_one_line_exit_2(
    capsys, tmp_path, builds, relation
):
    manifest = json.loads(builds["fix"].manifest_path.read_text())
    uid = "model.fanout_shop.stg_orders"
    manifest["nodes"][uid]["relation_name"] = relation
    path = _write(tmp_path, "m.json", manifest)
    db = tmp_path / "w.duckdb"
    shutil.copyfile(builds["fix"].database, db)
    before = _sha(db)
    for argv in (
        ["check", "grain", "--db", db, "--manifest", path],
        ["check", "grain", "--manifest", path, "--dialect", "snowflake"],
        ["investigate", "--db", db, "--manifest", path, "--symptom", "fct_orders"],
    ):
        code, out, err = _run(capsys, *argv)
        assert (code, out) == (2, ""), (argv, err)
        line = _one_line(err)
        assert "error: stg_orders: relation_name " in line, line
        assert line.endswith(("is not a table name", "is not a table")), line
    assert _sha(db) == before


# ---------------------------------------------------------------------------- anomalies

DAYS = [dt.datetime(2026, 1, 1) + dt.timedelta(days=i) for i in range(40)]


def test_a_window_that_does_not_vary_is_handled_by_rule():
    found = anomaly.detect(DAYS[:20], [0.0] * 19 + [5.0])
    last = found[-1]
    assert (last.flagged, last.expected, last.stddev, last.z) == (True, 0.0, 0.0, math.inf)
    assert last.reason == "above a constant 0.00 (training points that do not vary; expected 0)"
    same = anomaly.detect(DAYS[:20], [100.0] * 20)[-1]
    assert (same.flagged, same.z, same.reason) == (False, 0.0, "normal")
    small = anomaly.detect(DAYS[:20], [100.0] * 19 + [150.0])[-1]  # not double: not flagged
    assert (small.flagged, small.z) == (False, math.inf)
    exact = anomaly.detect(DAYS[:20], [0.1] * 20)[-1]  # no rounding: exactly no variance
    assert (exact.stddev, exact.z) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--sensitivity", "nan", "sensitivity must be a finite number, got nan"),
        ("--sensitivity", "inf", "sensitivity must be a finite number, got inf"),
        ("--sensitivity", "0", "sensitivity must be > 0, got 0"),
        ("--min-change", "nan", "min_change must be a finite number, got nan"),
        ("--min-change", "-0.5", "min_change must be >= 0, got -0.5"),
        (
            "--training-days",
            "1000000000",
            "training_days must be between 1 and 3,652,059, got 1,000,000,000",
        ),
        ("--training-days", "0", "training_days must be between 1 and 3,652,059, got 0"),
        (
            "--min-training-points",
            "1",
            "min_training_points must be between 2 and 1,000,000,000, got 1",
        ),
    ],
)
def test_anomaly_settings_must_be_finite_and_in_range(capsys, tmp_path, flag, value, message):
    series = _write(tmp_path, "s.csv", "at,value\n" + "".join(f"{d.date()},100\n" for d in DAYS))
    code, out, err = _run(capsys, "anomalies", series, flag, value)
    assert (code, out) == (2, "")
    assert _one_line(err) == f"fanout anomalies: error: {message}"


def test_nan_can_no_longer_hide_a_spike(capsys, tmp_path):
    values = [100 + i % 3 for i in range(29)] + [6600]  # 66 standard deviations out
    series = _write(
        tmp_path,
        "s.csv",
        "at,value\n" + "".join(f"{d.date()},{v}\n" for d, v in zip(DAYS, values, strict=False)),
    )
    code, out, _ = _run(capsys, "anomalies", series, "--format", "json")
    assert code == 1 and json.loads(out)["flagged"][0]["value"] == 6600.0
    with pytest.raises(ParameterError, match="sensitivity must be a finite number, got nan"):
        anomaly.detect(DAYS[:30], values, sensitivity=float("nan"))
    with pytest.raises(ParameterError, match=r"value 3 \(nan\) is not a finite number"):
        anomaly.detect(DAYS[:3], [1.0, 2.0, float("nan")])


def test_json_output_carries_no_infinity(capsys, tmp_path):
    series = _write(tmp_path, "s.csv", "at,value\n" + "".join(f"{d.date()},0\n" for d in DAYS[:19]))
    with series.open("a") as fh:
        fh.write(f"{DAYS[19].date()},5\n")
    code, out, _ = _run(capsys, "anomalies", series, "--format", "json")

    def refuse(constant):
        raise AssertionError(f"{constant} in the JSON output")

    (point,) = json.loads(out, parse_constant=refuse)["flagged"]
    assert code == 1 and (point["z"], point["stddev"]) == (None, 0.0)


def _reference(times, values, training_days, min_points, sensitivity, direction, min_change):
    """The detector's definition, point by point over every earlier point, in exact
    fractions: what the linear detector must agree with."""
    flags, zs = [], []
    for i, (at, value) in enumerate(zip(times, values, strict=True)):
        start = at.date().toordinal() - training_days
        train = [
            Fraction(values[j])
            for j in range(i)
            if times[j].date().toordinal() >= start and not flags[j]
        ]
        if len(train) < min_points:
            flags.append(False)
            zs.append(None)
            continue
        n = len(train)
        mean = sum(train) / n
        var = sum((v - mean) ** 2 for v in train) / (n - 1)
        std = math.sqrt(var)
        if std > 0:
            z = (value - float(mean)) / std
        else:
            z = 0.0 if Fraction(value) == mean else math.copysign(math.inf, value - float(mean))
        wanted = {"both": abs(z), "spike": z, "drop": -z}[direction]
        flags.append(wanted > sensitivity and anomaly._change(value, float(mean)) >= min_change)
        zs.append(z)
    return flags, zs


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    gaps=st.lists(st.sampled_from([1, 6, 24, 30, 72]), min_size=3, max_size=80),
    values=st.lists(
        st.one_of(
            st.sampled_from([0.0, 5.0, 100.0, 0.1]),
            st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda v: round(v, 2)),
        ),
        min_size=80,
        max_size=80,
    ),
    training_days=st.sampled_from([1, 3, 28]),
    min_points=st.sampled_from([2, 3, 7]),
    direction=st.sampled_from(["spike", "drop", "both"]),
)
def test_the_linear_detector_agrees_with_its_definition(
    gaps, values, training_days, min_points, direction
):
    times, at = [], dt.datetime(2026, 1, 1)
    for gap in gaps:
        at += dt.timedelta(hours=gap)
        times.append(at)
    values = values[: len(times)]
    found = anomaly.detect(
        times, values, training_days=training_days, min_training_points=min_points,
        direction=direction, sensitivity=2.0, min_change=0.5,
    )  # fmt: skip
    flags, zs = _reference(times, values, training_days, min_points, 2.0, direction, 0.5)
    for point, flag, z in zip(found, flags, zs, strict=True):
        if z is None or math.isinf(z):
            assert point.z == z
        else:
            assert point.z == pytest.approx(z, rel=1e-9, abs=1e-9)
        # a z within rounding of the sensitivity may land either side: the rest must agree
        if z is None or abs(abs(z) - 2.0) > 1e-6:
            assert point.flagged == flag


# ---------------------------------------------------------------------------- build --data


def _rewrite(path: Path, change) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(change(lines)) + "\n")


def _column(lines, index, change, rows=slice(1, None)):
    out = list(lines)
    for i in range(len(out))[rows]:
        fields = out[i].split(",")
        fields[index] = change(fields[index])
        out[i] = ",".join(fields)
    return out


def _parquet(folder: Path, table: str, column: str, kind) -> None:
    """The dataset as Parquet, one column written with another type."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from fanout.incident.data.raw import TABLES

    for name in TABLES:
        tab = pcsv.read_csv(folder / f"{name}.csv")
        if name == table:
            i = tab.schema.get_field_index(column)
            tab = tab.set_column(i, column, kind(tab[column]))
        pq.write_table(tab, folder / f"{name}.parquet")
        (folder / f"{name}.csv").unlink()


def _zoned(column):
    import pyarrow as pa

    return column.cast(pa.timestamp("s", tz="Europe/Paris"))


BAD_DATA = {
    "a missing column": (
        lambda d: _rewrite(d / "raw_orders.csv", lambda ls: [x.rsplit(",", 1)[0] for x in ls]),
        "raw_orders.csv: missing columns: amount: 1 row (e.g. header=order_id,customer_id,"
        "ordered_at)",
    ),
    "an empty file": (
        lambda d: (d / "raw_orders.csv").write_text(""),
        "raw_orders.csv: missing columns: order_id, customer_id, ordered_at, amount: 1 row",
    ),
    "duplicate keys": (
        lambda d: _rewrite(d / "raw_orders.csv", lambda ls: [*ls, ls[1]]),
        "raw_orders.csv: duplicate order_id: 1 row (e.g. order_id=1, copies=2, first_line=2)",
    ),
    "an uppercase header": (
        lambda d: _rewrite(d / "raw_orders.csv", lambda ls: [ls[0].upper(), *ls[1:]]),
        "raw_orders.csv: missing columns: order_id, customer_id, ordered_at, amount: 1 row",
    ),
    "an extra column": (
        lambda d: _rewrite(
            d / "raw_orders.csv", lambda ls: [ls[0] + ",note", *(x + ",ok" for x in ls[1:])]
        ),
        "raw_orders.csv: unexpected columns: note: 1 row",
    ),
    "header-only files": (
        lambda d: [
            _rewrite(d / f"{t}.csv", lambda ls: ls[:1])
            for t in ("raw_orders", "raw_order_items", "finance_daily_revenue")
        ],
        "raw_orders.csv: no orders (the file has its header only): 1 row",
    ),
    "unit prices with 3 decimals": (
        lambda d: _rewrite(d / "raw_order_items.csv", lambda ls: _column(ls, 4, lambda v: v + "1")),
        "raw_order_items.csv: unit_price has more than 2 decimal places: 82 rows (e.g. line=2, "
        "value=25.031;",
    ),
    "time-zone timestamps": (
        lambda d: _rewrite(d / "raw_orders.csv", lambda ls: _column(ls, 2, lambda v: v + "+02:00")),
        "raw_orders.csv: ordered_at carries a time zone (read as local time, it would be "
        "ignored): 35 rows (e.g. line=2, value=2026-08-01 00:36:46+02:00;",
    ),
    "a fractional quantity": (
        lambda d: _rewrite(
            d / "raw_order_items.csv", lambda ls: _column(ls, 3, lambda v: "1.5", slice(1, 2))
        ),
        "raw_order_items.csv: quantity is not a whole number: 1 row (e.g. line=2, value=1.5)",
    ),
    "a date with a time of day": (
        lambda d: _rewrite(
            d / "finance_daily_revenue.csv",
            lambda ls: _column(ls, 0, lambda v: v + " 10:00", slice(1, 2)),
        ),
        "finance_daily_revenue.csv: revenue_date carries a time of day: 1 row (e.g. line=2, "
        "value=2026-08-01 10:00)",
    ),
    "a ragged row": (
        lambda d: _rewrite(d / "raw_order_items.csv", lambda ls: [*ls[:3], ls[3] + ",7,8"]),
        "raw_order_items.csv: malformed CSV: a row with more fields than the header's 5: 1 row "
        "(e.g. line=4)",
    ),
    "Parquet: a key as text": (
        lambda d: _parquet(d, "raw_orders", "order_id", lambda c: c.cast("string")),
        "raw_orders.parquet: wrong type: order_id is string, not BIGINT: 1 row",
    ),
    "Parquet: money as double": (
        lambda d: _parquet(d, "raw_orders", "order_id", lambda c: c),
        "raw_orders.parquet: wrong type: amount is double, not DECIMAL(18,2): 1 row",
    ),
    "Parquet: a time zone": (
        lambda d: _parquet(d, "raw_orders", "ordered_at", _zoned),
        "raw_orders.parquet: wrong type: ordered_at is timestamp[ms, tz=Europe/Paris], not "
        "TIMESTAMP: 1 row",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_build_validates_its_data_first_and_writes_nothing(capsys, tmp_path, data, case):
    inject, problem = BAD_DATA[case]
    inject(data)
    before = _tree(data)
    build = tmp_path / "build"
    code, out, err = _run(
        capsys, "build", "--revision", "fix", "--data", data, "--build-dir", build
    )
    assert (code, out) == (2, "")
    line = _one_line(err)
    assert line.startswith(f"fanout build: error: raw data in {data} is not valid: {problem}"), line
    assert line.endswith(f"(fanout check raw --data {data} lists them)")
    assert not build.exists() and _tree(data) == before
    code, out, _ = _run(capsys, "check", "raw", "--data", data)
    assert code == 1 and any(x.startswith(problem) for x in out.splitlines()), out


def test_valid_data_is_checked_once_per_content(monkeypatch, tmp_path, clean):
    cache = tmp_path / "validated"
    assert validate.require_input(clean, cache) == clean
    assert len(list(cache.glob("*.valid"))) == 1

    def again(data_dir):
        raise AssertionError("validated twice")

    monkeypatch.setattr(validate, "check", again)
    assert validate.require_input(clean, cache) == clean


# ---------------------------------------------------------------------------- leftovers


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_dead_runs_are_cleaned_even_when_the_build_is_reused(builds):
    from fanout.incident import warehouse

    fix = builds["fix"]
    parent = fix.folder.parent
    leftover = parent / f".{fix.folder.name}.tmp-{_dead_pid()}-x1"
    leftover.mkdir()
    (leftover / "warehouse.duckdb").write_bytes(b"half")
    again = warehouse.build("fix", fix.data_dir, parent.parent)
    assert again.reused and not leftover.exists()


def test_a_killed_build_then_a_reused_build_leaves_nothing_behind(tmp_path):
    from fanout.incident import warehouse

    build = tmp_path / "build"
    first = warehouse.build("baseline", RAW, build)
    parent = first.folder.parent
    victim = subprocess.Popen(
        [sys.executable, "-m", "fanout", "build", "--revision", "baseline", "--force",
         "--build-dir", str(build)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        give_up = time.monotonic() + 60
        while not [p for p in parent.iterdir() if ".tmp-" in p.name]:
            assert victim.poll() is None, "the forced build ended before it could be killed"
            assert time.monotonic() < give_up, "the forced build never started"
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
    assert [p for p in parent.iterdir() if ".tmp-" in p.name]  # what the kill left
    again = warehouse.build("baseline", RAW, build)
    assert again.reused and again.folder == first.folder
    assert not [p for p in parent.iterdir() if ".tmp-" in p.name]


# ---------------------------------------------------------------------------- data/raw


def test_generate_never_writes_the_committed_dataset_or_the_sources(capsys, tmp_path):
    before = {p.name: (p.stat().st_mtime_ns, _sha(p)) for p in RAW.iterdir()}
    for out, message in (
        (RAW, f"{RAW} is the committed dataset: only `make data` rewrites it"),
        (RAW / "sub", f"{RAW / 'sub'} is the committed dataset: only `make data` rewrites it"),
        (ROOT / "warehouse" / "x", f"{ROOT / 'warehouse' / 'x'} is among the project's sources"),
        (ROOT / "notebooks", f"{ROOT / 'notebooks'} is among the project's sources"),
    ):
        code, _, err = _run(capsys, "generate", "--out", out, "--overwrite", "--days", "3")
        assert code == 2 and _one_line(err).startswith(f"fanout generate: error: {message}")
    code, _, err = _run(capsys, "generate", "--committed-dataset", "--days", "3")
    assert code == 2 and _one_line(err) == (
        "fanout generate: error: the committed dataset is the default parameters' CSV; these "
        "change it: days"
    )
    assert not (RAW / "sub").exists() and not (ROOT / "warehouse" / "x").exists()
    assert {p.name: (p.stat().st_mtime_ns, _sha(p)) for p in RAW.iterdir()} == before
    assert verify_checksums(RAW) == []


@pytest.fixture
def home(monkeypatch, tmp_path) -> Path:
    """A copy of the project's committed dataset in a project folder of its own."""
    root = tmp_path / "home"
    shutil.copytree(RAW, root / "data" / "raw")
    (root / "warehouse").mkdir()
    (root / "lib" / "fanout").mkdir(parents=True)
    monkeypatch.setenv("FANOUT_HOME", str(root))
    return root


def test_the_committed_dataset_flag_rewrites_it_byte_for_byte(capsys, home):
    raw = home / "data" / "raw"
    (raw / "raw_orders.csv").write_text("order_id\n")
    code, out, err = _run(capsys, "generate", "--committed-dataset")
    assert (code, err) == (0, "")
    assert out.startswith(f"wrote 4,157 orders and 10,468 line items (csv) to {raw}")
    assert _tree(raw) == _tree(RAW)


def test_a_default_run_refuses_a_committed_dataset_that_changed(capsys, home, tmp_path):
    raw = home / "data" / "raw"
    (raw / "raw_orders.csv").write_bytes((RAW / "raw_orders.csv").read_bytes() + b"\n")
    code, _, err = _run(capsys, "build", "--revision", "fix")
    assert code == 2 and _one_line(err) == (
        f"fanout build: error: {raw} no longer matches its checksums (raw_orders.csv changed): "
        "restore it with `git checkout -- data/raw` or `make data`"
    )
    three = generate(Params(days=3), tmp_path / "three").data_dir
    for p in three.iterdir():
        shutil.copyfile(p, raw / p.name)
    code, _, err = _run(capsys, "build", "--revision", "fix")
    assert code == 2 and _one_line(err) == (
        f"fanout build: error: {raw} no longer holds the committed default dataset (days=3): "
        "restore it with `git checkout -- data/raw` or `make data`"
    )
    assert not (home / "build").exists()


# ---------------------------------------------------------------------------- messages


def test_database_arguments_that_are_not_duckdb_files_say_what_they_are(capsys, builds, tmp_path):
    manifest = builds["fix"].manifest_path
    for db, what in (
        (manifest, "is not a DuckDB database file"),
        (Path("/dev/zero"), "is a character device, not a regular file"),
        (tmp_path, "is a folder, not a regular file"),
        (_write(tmp_path, "empty.duckdb", b""), "is not a DuckDB database file"),
    ):
        code, _, err = _run(capsys, "check", "grain", "--db", db, "--relation", "t", "--key", "k")
        assert code == 2 and _one_line(err) == f"fanout check: error: database {db} {what}"


@pytest.mark.parametrize(
    ("only", "message"),
    [
        ("", "--only needs notebook numbers or name prefixes (e.g. 01,03), got ''"),
        (" , ", "--only needs notebook numbers or name prefixes (e.g. 01,03), got ' , '"),
        ("01,01", "--only names 01-load-the-raw-data twice ('01,01')"),
    ],
)
def test_only_must_name_each_notebook_once(capsys, tmp_path, only, message):
    code, out, err = _run(capsys, "workbook", "--only", only, "--build-dir", tmp_path / "b")
    assert (code, out) == (2, "") and _one_line(err) == f"fanout workbook: error: {message}"
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (ValueError("boom"), 3, "internal error: ValueError: boom (a bug; FANOUT_DEBUG=1 shows"),
        (MemoryError(), 2, "error: out of memory: the input is too large"),
        (RecursionError(), 2, "error: the input is nested too deeply"),
    ],
)
def test_an_unexpected_error_is_one_line_and_never_exit_1(
    capsys, monkeypatch, tmp_path, error, code, message
):
    from fanout import cli
    from fanout.cli import toolkit as toolkit_cli

    def crash(args):
        raise error

    monkeypatch.setattr(toolkit_cli, "cmd_lint", crash)
    got, out, err = _run(capsys, "lint", "--manifest", tmp_path / "m.json")
    assert (got, out) == (code, "") and _one_line(err).startswith(f"fanout lint: {message}")
    monkeypatch.setenv("FANOUT_DEBUG", "1")
    with pytest.raises(type(error)):
        cli.main(["lint", "--manifest", str(tmp_path / "m.json")])
