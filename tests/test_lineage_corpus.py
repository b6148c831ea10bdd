"""The toolkit on real dbt projects nobody here wrote (tests/corpus/, see its README): the
lint rules give dbt-project-evaluator's own expected results on its integration tests, the
prediction makes no false fan-out error on any project, and a fan-out planted like the
incident's (a staging model joining a child table) is found in a copy of each."""

from __future__ import annotations

import copy
import gzip
import json
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from fanout.toolkit import lineage
from fanout.toolkit.lineage.grains import Found

CORPUS = Path(__file__).parent / "corpus"
EVALUATOR = CORPUS / "dbt-project-evaluator"


@cache
def _manifest(name: str) -> dict:
    folder = CORPUS / name
    if (folder / "manifest.json.gz").exists():
        return json.loads(gzip.decompress((folder / "manifest.json.gz").read_bytes()))
    return json.loads((folder / "manifest.json").read_text())


@cache
def _graph(name: str) -> lineage.Graph:
    return lineage.load(_manifest(name), _settings(name))


def _settings(name: str) -> lineage.Settings | None:
    if name != "dbt-project-evaluator":
        return None
    # the evaluator's own vars; a project that installs the evaluator leaves its package
    # out, as the evaluator does itself
    project = lineage.Settings.from_project(EVALUATOR / "dbt_project.yml")
    return project.merged(exclude_packages=["dbt_project_evaluator"])


def _measured(name: str, graph: lineage.Graph) -> dict[str, Found]:
    """Grains `fanout lint --db` measured on the project's own test data (measured.json)."""
    path = CORPUS / name / "measured.json"
    if not path.exists():
        return {}
    by_label = {n.label: uid for uid, n in graph.nodes.items()}
    return {
        by_label[label]: Found(tuple(tuple(k) for k in f["keys"]), f["how"], f["by"])
        for label, f in json.loads(path.read_text()).items()
    }


def _rules(findings) -> dict[str, int]:
    return dict(sorted(Counter(f.rule for f in findings).items()))


def _errors(findings) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f.model, f.rule, f.parents) for f in findings if f.severity == "error"]


# ---------------------------------------------------------------------------- the evaluator


def _evaluator_rows(rule: str) -> list[dict]:
    return json.loads((EVALUATOR / "expected.json").read_text())[rule]["rows"]


def _pairs(findings, rules: tuple[str, ...]) -> set[tuple[str, str]]:
    return {(f.model, p) for f in findings if f.rule in rules for p in f.parents}


def _groups(findings, rules: tuple[str, ...]) -> set[tuple[str, frozenset]]:
    return {(f.model, frozenset(f.parents)) for f in findings if f.rule in rules}


# each evaluator rule, the rules of ours giving the same findings, and both as comparable sets
AGREEMENT = {
    "fct_multiple_sources_joined": (
        ("staging-joins-sources", "model-joins-sources"),
        lambda r: (r["child"], frozenset(r["source_parents"].split(", "))),
        _groups,
    ),
    "fct_staging_dependent_on_staging": (
        ("staging-reads-staging",),
        lambda r: (r["child"], r["parent"]),
        _pairs,
    ),
    "fct_staging_dependent_on_marts_or_intermediate": (
        ("staging-reads-mart",),
        lambda r: (r["child"], r["parent"]),
        _pairs,
    ),
    "fct_source_fanout": (
        ("source-read-by-many",),
        lambda r: (r["parent"], frozenset(r["model_children"].split(", "))),
        _groups,
    ),
    "fct_marts_or_intermediate_dependent_on_source": (
        ("mart-reads-source", "intermediate-reads-source"),
        lambda r: (r["child"], r["parent"]),
        _pairs,
    ),
    "fct_missing_primary_key_tests": (
        ("missing-grain",),
        lambda r: r["resource_name"],
        lambda findings, rules: {f.model for f in findings if f.rule in rules},
    ),
}


@pytest.mark.parametrize("evaluator_rule", sorted(AGREEMENT))
def test_lint_gives_the_evaluators_own_results_on_its_integration_tests(evaluator_rule):
    ours, row, comparable = AGREEMENT[evaluator_rule]
    expected = {row(r) for r in _evaluator_rows(evaluator_rule)}
    assert expected  # each rule has something to find on this project
    assert comparable(lineage.lint(_graph("dbt-project-evaluator")), ours) == expected


def test_on_the_evaluators_project_every_finding_is_one_of_its_rules():
    found = lineage.check(_graph("dbt-project-evaluator"))
    assert _rules(found) == {
        "intermediate-reads-source": 1,
        "mart-reads-source": 1,
        "missing-grain": 12,
        "source-read-by-many": 2,
        "staging-joins-sources": 1,
        "staging-reads-mart": 1,
        "staging-reads-staging": 1,
    }


def test_versioned_models_keep_their_version_in_every_finding():
    missing = {f.model for f in lineage.lint(_graph("dbt-project-evaluator"))}
    assert {"int_model_5.v1", "int_model_5.v2", "int_model_5.v3"} <= missing


def test_without_the_exclusions_the_excluded_paths_and_packages_come_back():
    graph = lineage.load(_manifest("dbt-project-evaluator"))
    labels = {f.model for f in lineage.lint(graph)}
    assert {"int_model_10", "excluded_model", "fct_model_directories"} <= labels


def test_seeds_count_as_sources_only_when_asked():
    manifest = _manifest("dbt-project-evaluator")
    settings = _settings("dbt-project-evaluator")
    plain = lineage.lint(lineage.load(manifest, settings))
    seeded = lineage.lint(lineage.load(manifest, settings.merged(seeds_as_sources=True)))
    assert {f.rule for f in seeded} - {f.rule for f in plain} <= {"mart-reads-source"}
    assert len(seeded) >= len(plain)


def test_the_stricter_rule_is_separate_and_off_by_default():
    strict = _settings("dbt-project-evaluator").merged(strict=True)
    graph = lineage.load(_manifest("dbt-project-evaluator"), strict)
    assert lineage.lint(graph) == lineage.lint(_graph("dbt-project-evaluator")) + tuple(
        f for f in lineage.lint(graph) if f.rule == "staging-reads-model"
    )


def test_a_model_silenced_in_its_meta_gives_no_finding():
    manifest = copy.deepcopy(_manifest("dbt-project-evaluator"))
    node = manifest["nodes"]["model.dbt_project_evaluator_integration_tests.stg_model_2"]
    node["config"] = {"meta": {"fanout": {"skip": ["staging-joins-sources"]}}}
    found = lineage.lint(lineage.load(manifest, _settings("dbt-project-evaluator")))
    assert "staging-joins-sources" not in {f.rule for f in found}
    assert ("stg_model_2" in {f.model for f in found}) is False or all(
        f.rule != "staging-joins-sources" for f in found
    )


def test_the_evaluators_own_package_judged():
    """Left in (as the evaluator never does with itself), its own models get four
    prediction errors: two intended (a triad join is one row per parent, child and
    parent-and-child by design), two false (model types and folders are one to one; tests
    have one primary relationship, a filter the SQL alone cannot show)."""
    graph = lineage.load(_manifest("dbt-project-evaluator"))
    assert _errors(lineage.check(graph)) == [
        ("fct_model_directories", "fan-out", ("stg_naming_convention_folders",)),  # false
        ("fct_rejoining_of_upstream_concepts", "fan-out", ("int_all_dag_relationships",)),
        ("fct_rejoining_of_upstream_concepts", "fan-out", ("int_all_dag_relationships",)),
        ("int_model_test_summary", "sum-over-fan-out", ("int_model_test_summary",)),  # false
    ]


# ---------------------------------------------------------------------------- every project

EXPECTED = {
    "jaffle-shop": {"missing-grain": 4},
    "stripe": {"missing-grain": 63, "staging-reads-staging": 22},
    "tuva": {
        "missing-grain": 647,
        "staging-reads-mart": 3,
        "staging-reads-staging": 16,
        "sum-over-fan-out": 1,
    },
}
# the prediction's errors, each judged
JUDGED = {
    "jaffle-shop": [],
    "stripe": [],  # with the grains measured on its test data; none without them either
    "tuva": [
        # false: practitioners are joined on npi, their natural key; core__practitioner
        # states only practitioner_id unique (its compiled SQL lists no columns)
        (
            "semantic_layer__dim_encounter_provider",
            "sum-over-fan-out",
            ("semantic_layer__dim_encounter_provider",),
        ),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_project_gets_exactly_these_findings(name):
    graph = _graph(name)
    measured = _measured(name, graph)
    if measured:
        graph = lineage.Graph(graph.project, graph.nodes, graph.dialect, measured=measured)
    found = lineage.check(graph)
    assert _rules(found) == EXPECTED[name]
    assert _errors(found) == JUDGED[name]


def test_jaffle_shop_sources_get_grains_implied_by_their_staging_tests():
    found = lineage.found_grains(_graph("jaffle-shop"))
    graph = _graph("jaffle-shop")
    assert {graph.nodes[u].label: (f.keys, f.how, f.by) for u, f in found.items()} == {
        "ecom.raw_customers": ((("id",),), "implied", "stg_customers"),
        "ecom.raw_items": ((("id",),), "implied", "stg_order_items"),
        "ecom.raw_products": ((("sku",),), "implied", "stg_products"),
        "ecom.raw_orders": ((("id",),), "implied", "stg_orders"),
        "ecom.raw_stores": ((("id",),), "implied", "stg_locations"),
    }


def test_the_jaffle_shop_date_spine_cross_joins_are_no_fan_out():
    (spine,) = lineage.predict(_graph("jaffle-shop"), ["metricflow_time_spine"])
    assert (spine.status, spine.fanouts) == ("unknown", ())


# ---------------------------------------------------------------------------- planted


def test_the_planted_jaffle_shop_stg_orders_fan_out_is_found_from_the_manifest_alone():
    """jaffle-shop with stg_orders left-joining the raw items source, compiled by dbt."""
    found = lineage.check(lineage.load(_manifest("jaffle-shop-planted")))
    assert _errors(found) == [("stg_orders", "fan-out", ("ecom.raw_items",))]
    assert ("stg_orders", "staging-joins-sources") in {(f.model, f.rule) for f in found}


def _plant(manifest: dict, model: str, child: str, key: str, foreign_key: str) -> dict:
    """A copy of the manifest whose `model` left-joins the `child` node on
    child.foreign_key = model.key, as the incident's stg_orders joined its line items."""
    planted = copy.deepcopy(manifest)
    uid = next(u for u, n in planted["nodes"].items() if n["name"] == model)
    child_uid = next(
        u
        for section in ("nodes", "sources")
        for u, n in planted[section].items()
        if u.endswith("." + child)
    )
    section = "sources" if child_uid in planted["sources"] else "nodes"
    relation = planted[section][child_uid]["relation_name"]
    node = planted["nodes"][uid]
    node["compiled_code"] = (
        f"select planted.*, lines.{foreign_key} as planted_{foreign_key}\n"
        f"from ({node['compiled_code']}) as planted\n"
        f"left join {relation} as lines on lines.{foreign_key} = planted.{key}"
    )
    planted["parent_map"][uid] = sorted({*planted["parent_map"][uid], child_uid})
    planted["child_map"].setdefault(child_uid, []).append(uid)
    return planted


PLANTS = {
    # (project, staging model, child node, the model's key, the child's column naming it)
    "stripe": ("stg_stripe__customer", "stripe.charge", "customer_id", "customer_id"),
    "tuva": ("cms_hcc__stg_core__patient", "core__medical_claim", "person_id", "person_id"),
}


@pytest.mark.parametrize("name", sorted(PLANTS))
def test_a_fan_out_planted_like_the_incidents_is_found(name):
    model, child, key, foreign_key = PLANTS[name]
    graph = lineage.load(_plant(_manifest(name), model, child, key, foreign_key), _settings(name))
    measured = _measured(name, graph)
    if measured:
        graph = lineage.Graph(graph.project, graph.nodes, graph.dialect, measured=measured)
    errors = _errors(lineage.check(graph))
    assert (model, "fan-out") in {(m, r) for m, r, _ in errors}, errors
