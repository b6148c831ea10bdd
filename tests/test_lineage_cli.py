"""`fanout lint` on projects nobody here wrote: settings from the project's vars and the
command line, bad settings as one-line errors, grains measured on data, what it cannot tell."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from fanout.toolkit import lineage
from fanout.toolkit.lineage import grains

from .conftest import run_cli

CORPUS = Path(__file__).parent / "corpus"
EVALUATOR = CORPUS / "dbt-project-evaluator"


def test_lint_reads_the_evaluators_vars_and_the_command_lines_exclusions(capsys):
    code, out, err = run_cli(
        capsys,
        "lint",
        "--manifest", EVALUATOR / "manifest.json",
        "--project", EVALUATOR / "dbt_project.yml",
        "--exclude-package", "dbt_project_evaluator",
        "--format", "json",
    )  # fmt: skip
    assert (code, err) == (1, "")
    rules = Counter(f["rule"] for f in json.loads(out)["findings"])
    assert rules == {
        "missing-grain": 12,
        "source-read-by-many": 2,
        "intermediate-reads-source": 1,
        "mart-reads-source": 1,
        "staging-joins-sources": 1,
        "staging-reads-mart": 1,
        "staging-reads-staging": 1,
    }


def test_exclude_model_and_strict_change_the_findings(capsys):
    base = ["lint", "--manifest", EVALUATOR / "manifest.json", "--project", EVALUATOR]
    base += ["--exclude-package", "dbt_project_evaluator", "--no-predict", "--format", "json"]
    _, out, _ = run_cli(capsys, *base, "--exclude-model", "stg_model_2")
    models = {f["model"] for f in json.loads(out)["findings"]}
    assert "stg_model_2" not in models
    _, out, _ = run_cli(capsys, *base, "--strict")
    assert {f["rule"] for f in json.loads(out)["findings"]} >= {"missing-grain"}


VARS = "dbt_project.yml vars.fanout"
BAD_SETTINGS = [
    ("vars: {fanout: {exclude_paths: 3}}", f"{VARS}.exclude_paths must be a list of strings"),
    ("vars: {fanout: {exclude_modles: [x]}}", f"{VARS} has an unknown key 'exclude_modles'"),
    ("vars: {fanout: {exclude_paths: ['(']}}", "exclude_paths: '(' is not a regular expression"),
    ("vars: {fanout: {strict: yes please}}", f"{VARS}.strict must be true or false"),
    ("vars: [1, 2]", "dbt_project.yml: vars must be a mapping"),
    ("{{ not yaml", "dbt_project.yml is not valid YAML"),
]


@pytest.mark.parametrize(("text", "message"), BAD_SETTINGS)
def test_bad_settings_are_one_line_errors_naming_them(capsys, tmp_path, text, message):
    (tmp_path / "dbt_project.yml").write_text(text)
    argv = ["lint", "--manifest", EVALUATOR / "manifest.json", "--project", tmp_path]
    code, out, err = run_cli(capsys, *argv)
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1


def test_a_project_folder_without_dbt_project_yml_is_bad_usage(capsys, tmp_path):
    argv = ["lint", "--manifest", EVALUATOR / "manifest.json", "--project", tmp_path / "no"]
    code, out, err = run_cli(capsys, *argv)
    assert (code, out) == (2, "")
    assert "--project: no dbt_project.yml at" in err


def test_show_unknown_prints_what_cannot_be_told_and_why(capsys):
    manifest = CORPUS / "jaffle-shop" / "manifest.json"
    code, out, _ = run_cli(capsys, "lint", "--manifest", manifest, "--show-unknown")
    assert code == 1
    assert "metricflow_time_spine: unknown\n    no set of selected columns is unique" in out
    assert "fan-out" not in out


def _without_source_grains(path: Path) -> dict:
    manifest = json.loads(path.read_text())
    tests = [
        u
        for u, n in manifest["nodes"].items()
        if n["resource_type"] == "test"
        and any(d.startswith("source.") for d in n["depends_on"]["nodes"])
    ]
    for uid in tests:
        del manifest["nodes"][uid]
    for source in manifest["sources"].values():  # and their declared grains
        source["meta"], source["config"] = {}, {}
    for key in ("parent_map", "child_map"):
        manifest[key] = {
            u: [p for p in ps if p not in tests]
            for u, ps in manifest[key].items()
            if u not in tests
        }
    return manifest


def test_grains_measured_on_the_data_find_the_incidents_fan_out(builds):
    """The incident's sources with their tests removed: the enrichment's fan-out is found
    from the key-named columns unique on the data, measured in one pass per source."""
    from fanout.incident import warehouse

    manifest = _without_source_grains(builds["enrichment"].manifest_path)
    graph = lineage.load(manifest)
    assert lineage.predict(graph, ["stg_orders"])[0].fanouts == ()  # nothing stated
    con = warehouse.connect(builds["enrichment"])
    try:
        measured = grains.measure(graph, con, where="the enrichment build")
    finally:
        con.close()
    assert grains.describe(measured, graph) == {
        "shop.raw_order_items": {
            "keys": [["order_item_id"]],
            "how": "measured",
            "by": "its 10,468 rows in the enrichment build",
        },
        "shop.raw_orders": {
            "keys": [["order_id"]],
            "how": "measured",
            "by": "its 4,157 rows in the enrichment build",
        },
    }
    graph = lineage.Graph(graph.project, graph.nodes, graph.dialect, measured=measured)
    (stg,) = lineage.predict(graph, ["stg_orders"])
    assert [(f.relation, f.side_grain) for f in stg.fanouts] == [
        ("shop.raw_order_items", ("order_item_id",))
    ]
