"""Lineage from the manifest alone: the graph, lint rules, static grain inference and blast
radius, on the incident's three revisions and on a second project (tests/projects/marketplace)
built for real with dbt. Predicted grains are then checked against the built tables."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanout.errors import DataError
from fanout.incident import warehouse
from fanout.toolkit import lineage
from fanout.toolkit.lineage import FanOut, InflatedSum


@pytest.fixture(scope="session")
def graphs(builds) -> dict[str, lineage.Graph]:
    return {rev: lineage.load(builds[rev].manifest_path) for rev in warehouse.REVISIONS}


def _triples(findings) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f.model, f.rule, f.parents) for f in findings]


def _statuses(predictions) -> dict[str, tuple[str, tuple[str, ...] | None]]:
    return {p.model: (p.status, p.grain) for p in predictions}


def _rows_and_keys(con, table: str, key: tuple[str, ...]) -> tuple[int, int]:
    cols = ", ".join(key)
    distinct = f"select distinct {cols} from {table}"
    return con.execute(
        f"select (select count(*) from {table}), (select count(*) from ({distinct}))"
    ).fetchone()


STG_ORDERS_FANOUT = FanOut(
    model="stg_orders",
    join="source.order_id = order_items.order_id",
    side="order_items",
    relation="shop.raw_order_items",
    side_grain=("order_item_id",),
    join_columns=("order_id",),
    many_to_many=False,
)


# ---------------------------------------------------------------------------- loading


def test_the_fix_manifest_loads_with_edges_grains_and_exposure_owners(graphs):
    graph = graphs["fix"]
    kinds = Counter(n.resource_type for n in graph.nodes.values())
    assert kinds == {"model": 4, "source": 3, "test": 13, "exposure": 3}
    stg = graph.node("stg_orders")
    assert [p.label for p in graph.parents(stg)] == ["shop.raw_orders"]
    assert sorted(c.name for c in graph.children(stg)) == [
        "assert_stg_orders_grain",
        "fct_orders",
        "fct_revenue_daily",
        "grain_stg_orders_order_id",
    ]
    assert stg.folders == ("staging",)
    assert stg.declared_grain == ("order_id",)
    assert stg.tested_grains == (("order_id",),)
    assert stg.grains == (("order_id",),)
    assert graph.node("shop.raw_order_items").tested_grains == (("order_item_id",),)
    kpis = graph.node("executive_kpis")
    assert (kpis.resource_type, kpis.exposure_type, kpis.owner) == (
        "exposure",
        "dashboard",
        "Data Platform",
    )
    assert kpis.parents == ("model.fanout_shop.fct_orders", "model.fanout_shop.fct_revenue_daily")


def test_grains_come_from_meta_unique_grain_and_unique_combination_tests(market):
    assert market.node("stg_shop__orders").grains == (("order_id",),)
    assert market.node("stg_shop__order_lines").grains == (("order_id", "line_number"),)
    assert market.node("stg_catalog__product_categories").grains == (("product_id", "category_id"),)
    assert market.node("catalog.product_categories").grains == (("product_id", "category_id"),)
    assert market.node("ads.spend").grains == (("spend_date", "channel"),)
    assert market.node("stg_ads__spend_eur").grains == ()


def test_a_file_that_is_not_json_is_not_a_dbt_manifest(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text("<html>not json</html>")
    with pytest.raises(DataError, match="is not a dbt manifest: it is not JSON") as caught:
        lineage.load(path)
    assert str(caught.value) == f"{path} is not a dbt manifest: it is not JSON"


def test_json_without_nodes_or_parent_map_is_not_a_dbt_manifest(tmp_path):
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps({"results": [], "nodes": {}}))
    with pytest.raises(DataError) as caught:
        lineage.load(path)
    assert str(caught.value) == f"{path} is not a dbt manifest: it has no nodes or parent_map"
    with pytest.raises(DataError, match=r"^the manifest is not a dbt manifest"):
        lineage.load({"nodes": []})


def test_a_missing_manifest_file_is_a_one_line_data_error(tmp_path):
    with pytest.raises(DataError, match=r"^manifest .*nowhere\.json does not exist$") as caught:
        lineage.load(tmp_path / "nowhere.json")
    assert "\n" not in str(caught.value)


KPIS = "exposure.fanout_shop.executive_kpis"
_GONE = object()  # the key is removed

WRONG_SHAPES = [
    # (where in the fix manifest, what to put there, the message after "is not a dbt manifest:")
    (("nodes", "x"), "str", "nodes['x'] is a string, not an object"),
    (("nodes", "a\nb"), 1, "nodes['a\\nb'] is a number, not an object"),
    (("parent_map", "m"), 7, "parent_map['m'] is a number, not an array of strings"),
    (("parent_map", "{stg}"), "x", "parent_map[{stg}] is a string, not an array of strings"),
    (("child_map", "{stg}"), [None], "child_map[{stg}][0] is null, not a string"),
    (("child_map",), [], "child_map is an array, not an object"),
    (("sources",), "shop", "sources is a string, not an object"),
    (
        ("nodes", "{stg}", "compiled_code"),
        5,
        "nodes[{stg}].compiled_code is a number, not a string",
    ),
    (
        ("nodes", "{stg}", "raw_code"),
        ["select 1"],
        "nodes[{stg}].raw_code is an array, not a string",
    ),
    (("nodes", "{stg}", "language"), True, "nodes[{stg}].language is a boolean, not a string"),
    (
        ("nodes", "{stg}", "relation_name"),
        {},
        "nodes[{stg}].relation_name is an object, not a string",
    ),
    (("nodes", "{stg}", "name"), _GONE, "nodes[{stg}] has no name"),
    (("nodes", "{stg}", "unique_id"), None, "nodes[{stg}].unique_id is null, not a string"),
    (
        ("nodes", "{stg}", "resource_type"),
        1,
        "nodes[{stg}].resource_type is a number, not a string",
    ),
    (("nodes", "{stg}", "fqn"), "staging", "nodes[{stg}].fqn is a string, not an array of strings"),
    (("nodes", "{stg}", "config"), [], "nodes[{stg}].config is an array, not an object"),
    (
        ("nodes", "{stg}", "config", "meta"),
        "x",
        "nodes[{stg}].config.meta is a string, not an object",
    ),
    (("nodes", "{stg}", "meta"), 0, "nodes[{stg}].meta is a number, not an object"),
    (
        ("nodes", "{test}", "test_metadata", "name"),
        ["grain"],
        "nodes[{test}].test_metadata.name is an array, not a string",
    ),
    (
        ("nodes", "{test}", "test_metadata", "kwargs"),
        "x",
        "nodes[{test}].test_metadata.kwargs is a string, not an object",
    ),
    (
        ("nodes", "{test}", "depends_on", "nodes"),
        [{}],
        "nodes[{test}].depends_on.nodes[0] is an object, not a string",
    ),
    (
        ("nodes", "{test}", "attached_node"),
        ["x"],
        "nodes[{test}].attached_node is an array, not a string",
    ),
    (
        ("exposures", "{kpis}", "owner"),
        "Finance",
        "exposures[{kpis}].owner is a string, not an object",
    ),
    (
        ("exposures", "{kpis}", "owner", "email"),
        [1],
        "exposures[{kpis}].owner.email[0] is a number, not a string",
    ),
    (("exposures", "{kpis}", "type"), {}, "exposures[{kpis}].type is an object, not a string"),
    (("metadata",), "v12", "metadata is a string, not an object"),
    (("metadata", "project_name"), 3, "metadata.project_name is a number, not a string"),
]


@pytest.mark.parametrize(
    ("where", "value", "what"), WRONG_SHAPES, ids=[w for *_, w in WRONG_SHAPES]
)
def test_a_wrongly_typed_manifest_field_is_a_one_line_data_error_naming_it(
    builds, tmp_path, where, value, what
):
    manifest = json.loads(builds["fix"].manifest_path.read_text())
    uids = {
        "stg": "model.fanout_shop.stg_orders",
        "kpis": KPIS,
        "test": next(u for u in manifest["nodes"] if u.startswith("test.fanout_shop.grain_stg_")),
    }
    *path, last = [key.format(**uids) for key in where]
    entry = manifest
    for key in path:
        entry = entry[key]
    if value is _GONE:
        del entry[last]
    else:
        entry[last] = value
    what = what.format(**{name: repr(uid) for name, uid in uids.items()})
    with pytest.raises(DataError) as caught:
        lineage.check(lineage.load(manifest))
    assert str(caught.value) == f"the manifest is not a dbt manifest: {what}"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    with pytest.raises(DataError) as caught:
        lineage.load(path)
    assert str(caught.value) == f"{path} is not a dbt manifest: {what}"
    assert "\n" not in str(caught.value)


def test_the_reviewers_wrongly_typed_manifests_are_data_errors():
    for manifest in (
        {"nodes": {"x": "str"}, "parent_map": {}},
        {"nodes": {}, "parent_map": {"m": 7}},
        {"nodes": {"m": {"unique_id": "m", "name": "m", "resource_type": "model"}},
         "parent_map": {"m": ["n"]}, "child_map": {"n": 7}},
        {"nodes": {"m": {"unique_id": "m", "name": "m", "resource_type": "model",
                         "compiled_code": 5}}, "parent_map": {}},
    ):  # fmt: skip
        with pytest.raises(DataError, match=r"^the manifest is not a dbt manifest: "):
            lineage.check(lineage.load(manifest))


def test_an_exposure_owned_by_several_emails_names_them(builds):
    manifest = json.loads(builds["fix"].manifest_path.read_text())
    manifest["exposures"][KPIS]["owner"] = {"name": None, "email": ["a@x.io", "b@x.io"]}
    assert lineage.load(manifest).node("executive_kpis").owner == "a@x.io, b@x.io"


# Fuzzing: randomly mutated copies of real manifests either load and check or raise a
# DataError, never another exception. Only the sections `load` reads are kept (the rest,
# macros and docs, it never looks at), so each copy is small.
_SECTIONS = ("metadata", "nodes", "sources", "exposures", "parent_map", "child_map")
_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["model", "test", "source", "exposure", "select 1", "{{ ref('x') }}"]),
)
_JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.fixture(scope="session")
def manifests(builds, marketplace) -> list[dict]:
    paths = [builds[rev].manifest_path for rev in warehouse.REVISIONS]
    paths.append(marketplace / "target" / "manifest.json")
    loaded = [json.loads(path.read_text()) for path in paths]
    return [{k: m[k] for k in _SECTIONS if k in m} for m in loaded]


def _children(value) -> list:
    if isinstance(value, dict):
        return sorted(value)
    if isinstance(value, list):
        return list(range(len(value)))
    return []


def _mutated(tree, path: list, change):
    """A copy of `tree` with `change` applied to the value at `path`; only the containers
    on the path are copied."""
    if not path:
        return change(tree)
    key, rest = path[0], path[1:]
    copy = dict(tree) if isinstance(tree, dict) else list(tree)
    value = _mutated(tree[key], rest, change) if rest else change(tree[key])
    if value is _DELETE:
        del copy[key]
    else:
        copy[key] = value
    return copy


_DELETE = object()


@st.composite
def _mutants(draw, manifests: list[dict]) -> dict:
    manifest = draw(st.sampled_from(manifests))
    for _ in range(draw(st.integers(1, 3))):
        path: list = []
        value = manifest
        while _children(value) and (not path or draw(st.integers(0, 4)) > 0):
            key = draw(st.sampled_from(_children(value)))
            path.append(key)
            value = value[key]
        how = draw(st.sampled_from(["replace", "delete", "truncate", "retype"]))
        if how == "delete" and path:
            change = lambda _: _DELETE  # noqa: E731
        elif how == "truncate" and isinstance(value, str | list):
            cut = draw(st.integers(0, len(value)))
            change = lambda v, cut=cut: v[:cut]  # noqa: E731
        elif how == "retype":
            change = lambda v: [v] if not isinstance(v, list) else {"0": v}  # noqa: E731
        else:
            new = draw(_JSON_VALUES)
            change = lambda _, new=new: new  # noqa: E731
        manifest = _mutated(manifest, path, change)
    return manifest


@pytest.mark.filterwarnings(
    "ignore::fanout.toolkit.lineage.ManifestWarning"
)  # a mutant may drop it
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_a_mutated_manifest_loads_and_checks_or_is_a_data_error(manifests, data):
    manifest = data.draw(_mutants(manifests))
    try:
        graph = lineage.load(manifest)
    except DataError as exc:
        assert str(exc).startswith("the manifest is not a dbt manifest: "), str(exc)
        assert "\n" not in str(exc)
        return
    lineage.check(graph)


def test_the_manifest_sql_is_read_in_its_adapter_dialect(graphs, builds):
    assert graphs["fix"].dialect == "duckdb"
    manifest = json.loads(builds["fix"].manifest_path.read_text())
    manifest["metadata"]["adapter_type"] = "snowflake"
    assert lineage.load(manifest).dialect == "snowflake"


def test_nodes_are_found_by_name_label_or_unique_id_and_unknown_names_fail(graphs):
    graph = graphs["fix"]
    assert graph.node("shop.raw_orders").unique_id == "source.fanout_shop.shop.raw_orders"
    assert graph.node("raw_orders").resource_type == "source"
    assert graph.node("model.fanout_shop.fct_orders").name == "fct_orders"
    with pytest.raises(DataError, match=r"^no model, source, test or exposure named 'nope'"):
        graph.node("nope")


# ---------------------------------------------------------------------------- lint


def test_lint_on_baseline_finds_only_the_missing_grains(graphs):
    assert _triples(lineage.lint(graphs["baseline"])) == [
        ("fct_orders", "missing-grain", ()),
        ("fct_revenue_daily", "missing-grain", ()),
        ("stg_orders", "missing-grain", ()),
    ]


def test_lint_on_enrichment_flags_stg_orders_joining_two_sources(graphs):
    findings = lineage.lint(graphs["enrichment"])
    assert _triples(findings) == [
        ("fct_orders", "missing-grain", ()),
        ("fct_revenue_daily", "missing-grain", ()),
        ("stg_orders", "missing-grain", ()),
        ("stg_orders", "staging-joins-sources", ("shop.raw_order_items", "shop.raw_orders")),
    ]
    assert findings[-1].message == (
        "staging model reads 2 source tables: shop.raw_order_items, shop.raw_orders"
    )


def test_lint_on_fix_finds_nothing(graphs):
    assert lineage.lint(graphs["fix"]) == ()


# models that declare a grain but test it with `unique` alone (or not at all): a tested
# primary key needs `unique` and `not_null`, or a combination test, as the evaluator counts
UNTESTED_KEYS = [
    ("dim_channels", "missing-grain", ()),
    ("dim_products", "missing-grain", ()),
    ("int_channel_metrics", "missing-grain", ()),
    ("int_orders_with_payments", "missing-grain", ()),
    ("stg_ads__spend", "missing-grain", ()),
    ("stg_ads__spend_eur", "missing-grain", ()),
    ("stg_catalog__brands", "missing-grain", ()),
    ("stg_catalog__categories", "missing-grain", ()),
    ("stg_catalog__products", "missing-grain", ()),
    ("stg_shop__payments", "missing-grain", ()),
]


def test_lint_on_marketplace_finds_each_planted_slip_and_nothing_else(market):
    assert _triples(lineage.lint(market)) == sorted(
        [
            ("ads.spend", "source-read-by-many", ("fct_daily_sales", "stg_ads__spend")),
            (
                "catalog.brands",
                "source-read-by-many",
                ("stg_catalog__brands", "stg_catalog__products"),
            ),
            ("fct_daily_sales", "mart-reads-source", ("ads.spend",)),
            ("stg_ads__spend_eur", "staging-reads-staging", ("stg_ads__spend",)),
            (
                "stg_catalog__products",
                "staging-joins-sources",
                ("catalog.brands", "catalog.products"),
            ),
            *UNTESTED_KEYS,
        ]
    )


def test_a_source_read_twice_is_one_finding_naming_its_staging_model_as_the_way_in(market):
    (finding,) = lineage.lint(market, rules=[lineage.source_read_by_many])[:1]
    assert (finding.model, finding.parents) == ("ads.spend", ("fct_daily_sales", "stg_ads__spend"))
    assert finding.message == "read by 2 models: fct_daily_sales, stg_ads__spend"
    assert finding.suggestion == "read stg_ads__spend instead in fct_daily_sales"


def test_unique_alone_makes_a_tested_key_when_the_settings_say_so(market):
    graph = lineage.Graph(
        market.project, market.nodes, market.dialect, lineage.Settings(unique_alone=True)
    )
    alone = [f for f in UNTESTED_KEYS if f[0] != "stg_shop__payments"]  # unique, no not_null
    assert _triples(lineage.lint(graph, rules=[lineage.missing_grain])) == alone


def test_each_rule_runs_on_its_own(market):
    rules = {rule.__name__: lineage.lint(market, rules=[rule]) for rule in lineage.RULES}
    assert {name: len(found) for name, found in rules.items()} == {
        "staging_joins_sources": 1,
        "staging_reads_staging": 1,
        "staging_reads_mart": 0,
        "source_read_by_many": 2,
        "mart_reads_source": 1,
        "missing_grain": 10,
    }


# ---------------------------------------------------------------------------- prediction


def test_prediction_flags_the_enrichment_stg_orders_fan_out_from_the_manifest_alone(graphs):
    (stg,) = lineage.predict(graphs["enrichment"], ["stg_orders"])
    assert stg.status == "fan-out"
    assert stg.fanouts == (STG_ORDERS_FANOUT,)
    assert stg.grain is None
    assert stg.reason == (
        "no set of selected columns is unique: order_items.order_item_id is not selected"
    )


def test_prediction_finds_the_enrichment_marts_summing_amount_over_the_fan_out(graphs):
    predictions = {p.model: p for p in lineage.predict(graphs["enrichment"])}
    assert predictions["fct_orders"].grain == ("order_id",)  # grouped back to one per order
    assert predictions["fct_orders"].fanouts == ()
    assert predictions["fct_orders"].sums == (
        InflatedSum("fct_orders", "sum(orders.amount)", "amount", STG_ORDERS_FANOUT),
    )
    assert predictions["fct_revenue_daily"].grain == ("revenue_date",)
    assert predictions["fct_revenue_daily"].sums == (
        InflatedSum("fct_revenue_daily", "sum(orders.amount)", "revenue", STG_ORDERS_FANOUT),
    )


@pytest.mark.parametrize("revision", ["baseline", "fix"])
def test_prediction_is_silent_on_baseline_and_fix(graphs, revision):
    expected = {
        "fct_orders": ("ok", ("order_id",)),
        "fct_revenue_daily": ("ok", ("revenue_date",)),
        "stg_orders": ("ok", ("order_id",)),
    }
    if revision == "fix":
        expected["stg_order_items"] = ("ok", ("order_item_id",))
    predictions = lineage.predict(graphs[revision])
    assert _statuses(predictions) == expected
    assert all(p.fanouts == () and p.sums == () for p in predictions)


def test_the_fix_joins_fct_orders_to_items_rolled_up_per_order_without_a_fan_out(graphs):
    (fct,) = lineage.predict(graphs["fix"], ["fct_orders"])
    assert (fct.status, fct.grain, fct.declared, fct.fanouts) == (
        "ok",
        ("order_id",),
        (("order_id",),),
        (),
    )


def test_check_on_the_three_revisions_gives_exactly_these_findings(graphs):
    missing = [
        ("fct_orders", "missing-grain", ()),
        ("fct_revenue_daily", "missing-grain", ()),
        ("stg_orders", "missing-grain", ()),
    ]
    assert _triples(lineage.check(graphs["baseline"])) == missing
    assert _triples(lineage.check(graphs["enrichment"])) == [
        ("fct_orders", "missing-grain", ()),
        ("fct_orders", "sum-over-fan-out", ("stg_orders",)),
        ("fct_revenue_daily", "missing-grain", ()),
        ("fct_revenue_daily", "sum-over-fan-out", ("stg_orders",)),
        ("stg_orders", "fan-out", ("shop.raw_order_items",)),
        ("stg_orders", "missing-grain", ()),
        ("stg_orders", "staging-joins-sources", ("shop.raw_order_items", "shop.raw_orders")),
    ]
    assert lineage.check(graphs["fix"]) == ()


def test_the_fan_out_finding_names_the_join_and_the_side_that_repeats(graphs):
    (stg,) = lineage.predict(graphs["enrichment"], ["stg_orders"])
    (finding,) = stg.findings()
    assert finding.message == (
        "join on source.order_id = order_items.order_id fans out: order_items "
        "(shop.raw_order_items) is not known to be unique on (order_id), its grain is "
        "(order_item_id)"
    )
    assert finding.suggestion == (
        "aggregate shop.raw_order_items to one row per (order_id) before the join, "
        "or declare the new grain"
    )


MARKETPLACE_PREDICTIONS = {
    "dim_channels": ("ok", ("channel",)),
    "dim_products": ("fan-out", None),
    "fct_category_sales": ("ok", ("order_date", "category_id")),
    "fct_daily_sales": ("sum-over-fan-out", ("order_date", "channel")),
    "fct_orders": ("ok", ("order_id",)),
    "int_channel_metrics": ("ok", ("metric", "metric_date", "channel")),
    "int_order_line_categories": ("ok", ("order_id", "line_number", "category_id")),
    "int_order_lines": ("ok", ("order_id", "line_number")),
    "int_orders_with_payments": ("fan-out", ("order_id", "payment_id")),
    "stg_ads__spend": ("mismatch", ("spend_date", "channel")),
    "stg_ads__spend_eur": ("ok", ("spend_date", "channel")),  # its parent's SQL, not its YAML
    "stg_catalog__brands": ("ok", ("brand_id",)),
    "stg_catalog__categories": ("ok", ("category_id",)),
    "stg_catalog__product_categories": ("ok", ("product_id", "category_id")),
    "stg_catalog__products": ("ok", ("product_id",)),
    "stg_shop__order_lines": ("ok", ("order_id", "line_number")),
    "stg_shop__orders": ("ok", ("order_id",)),
    "stg_shop__payments": ("ok", ("payment_id",)),
}


def test_marketplace_predictions_are_exactly_these(market):
    assert _statuses(lineage.predict(market)) == MARKETPLACE_PREDICTIONS


def test_marketplace_payments_fan_out_is_caught_through_a_renamed_join_key(market):
    (model,) = lineage.predict(market, ["int_orders_with_payments"])
    assert model.fanouts == (
        FanOut(
            model="int_orders_with_payments",
            join="orders.order_id = payments.paid_order_id",
            side="payments",
            relation="stg_shop__payments",
            side_grain=("payment_id",),
            join_columns=("paid_order_id",),
            many_to_many=False,
        ),
    )
    assert model.declared == (("order_id",),)
    assert not model.intended


def test_marketplace_join_through_the_product_categories_bridge_fans_out(market):
    (dim,) = lineage.predict(market, ["dim_products"])
    assert [(f.side, f.relation, f.side_grain, f.join_columns) for f in dim.fanouts] == [
        (
            "product_categories",
            "stg_catalog__product_categories",
            ("product_id", "category_id"),
            ("product_id",),
        )
    ]
    assert dim.reason == (
        "no set of selected columns is unique: product_categories.category_id is not selected"
    )


def test_a_fan_out_to_a_declared_grain_is_deliberate_and_not_a_finding(market):
    (model,) = lineage.predict(market, ["int_order_line_categories"])
    assert model.intended
    assert [f.side for f in model.fanouts] == ["product_categories"]
    assert model.findings() == ()


def test_sums_per_category_over_lines_repeated_per_category_are_not_inflated(market):
    (model,) = lineage.predict(market, ["fct_category_sales"])
    assert (model.status, model.sums) == ("ok", ())


def test_marketplace_check_gives_exactly_these_findings(market):
    assert _triples(lineage.check(market)) == sorted(
        [
            ("ads.spend", "source-read-by-many", ("fct_daily_sales", "stg_ads__spend")),
            (
                "catalog.brands",
                "source-read-by-many",
                ("stg_catalog__brands", "stg_catalog__products"),
            ),
            ("dim_products", "fan-out", ("stg_catalog__product_categories",)),
            ("fct_daily_sales", "mart-reads-source", ("ads.spend",)),
            ("fct_daily_sales", "sum-over-fan-out", ("int_orders_with_payments",)),
            ("int_orders_with_payments", "fan-out", ("stg_shop__payments",)),
            ("stg_ads__spend", "grain-mismatch", ()),
            ("stg_ads__spend_eur", "staging-reads-staging", ("stg_ads__spend",)),
            (
                "stg_catalog__products",
                "staging-joins-sources",
                ("catalog.brands", "catalog.products"),
            ),
            *UNTESTED_KEYS,
        ]
    )
    mismatch = next(f for f in lineage.check(market) if f.rule == "grain-mismatch")
    assert mismatch.message == (
        "declares grain (spend_date) but its SQL gives one row per (spend_date, channel)"
    )


def _without_compiled_sql(path: Path) -> dict:
    manifest = json.loads(path.read_text())
    for node in manifest["nodes"].values():
        node.pop("compiled_code", None)
    return manifest


def test_prediction_reads_raw_sql_when_the_manifest_was_never_compiled(
    graphs, builds, market, marketplace
):
    raw = lineage.load(_without_compiled_sql(builds["enrichment"].manifest_path))
    assert lineage.predict(raw) == lineage.predict(graphs["enrichment"])
    raw_market = lineage.load(_without_compiled_sql(marketplace / "target" / "manifest.json"))
    assert lineage.predict(raw_market) == lineage.predict(market)


def test_raw_sql_with_other_jinja_is_unknown_not_safe(builds):
    manifest = _without_compiled_sql(builds["fix"].manifest_path)
    node = manifest["nodes"]["model.fanout_shop.stg_orders"]
    node["raw_code"] = "{% set x = 1 %}" + node["raw_code"]
    (stg,) = lineage.predict(lineage.load(manifest), ["stg_orders"])
    assert (stg.status, stg.grain) == ("unknown", None)
    assert stg.reason == "no compiled SQL in the manifest and Jinja beyond ref() and source()"


# ---------------------------------------------------------------------------- against the data


def test_predicted_incident_grains_hold_on_the_built_tables(builds, graphs):
    for revision in warehouse.REVISIONS:
        con = warehouse.connect(builds[revision])
        try:
            for p in lineage.predict(graphs[revision]):
                rows, keys = _rows_and_keys(con, p.model, p.grain or ("order_id",))
                assert (rows == keys) == (p.grain is not None), (revision, p.model)
        finally:
            con.close()


def _table_columns(con, table: str) -> set[str]:
    return {row[0].lower() for row in con.execute(f"describe {table}").fetchall()}


def test_every_predicted_grain_is_made_of_the_built_tables_columns(
    builds, graphs, marketplace, market
):
    connections = [(warehouse.connect(builds[r]), graphs[r]) for r in warehouse.REVISIONS]
    connections.append(
        (duckdb.connect(str(marketplace / "marketplace.duckdb"), read_only=True), market)
    )
    try:
        predicted = 0
        for con, graph in connections:
            for p in lineage.predict(graph):
                if p.grain is not None:
                    assert set(p.grain) <= _table_columns(con, p.model), p.model
                    predicted += 1
        assert predicted > 20
    finally:
        for con, _ in connections:
            con.close()


def test_predicted_marketplace_grains_and_fan_outs_show_in_the_built_tables(marketplace, market):
    con = duckdb.connect(str(marketplace / "marketplace.duckdb"), read_only=True)
    try:
        for p in lineage.predict(market):
            if p.grain is not None:
                rows, keys = _rows_and_keys(con, p.model, p.grain)
                assert rows == keys > 0, p.model
        assert _rows_and_keys(con, "int_orders_with_payments", ("order_id",)) == (6, 4)
        assert _rows_and_keys(con, "dim_products", ("product_id",)) == (5, 3)
        shipping = con.execute(
            "select shipping_revenue from fct_daily_sales"
            " where order_date = date '2024-03-01' and channel = 'web'"
        ).fetchone()[0]
        assert str(shipping) == "9.80"  # order 1's 4.90 fee, once per payment of two
    finally:
        con.close()


# ---------------------------------------------------------------------------- small queries

GRAINS = {
    "orders": [["order_id"]],
    "items": [["item_id"]],
    "products": [["product_id"]],
    "bridge": [["product_id", "category_id"]],
    "categories": [["category_id"]],
    "lines": [["order_id", "line_number"]],
    "spend": [["spend_date", "channel"]],
}

CASES = [
    # (sql, key, fan-out sides, reason)
    ("select order_id as id, amount from orders", ("id",), [], None),
    ("select * from (select order_id as id from orders) as x", ("id",), [], None),
    (
        "select i.item_id, o.amount from items as i left join orders as o"
        " on i.order_id = o.order_id",
        ("item_id",),
        [],
        None,
    ),
    (
        "select o.order_id, s.n from orders as o left join"
        " (select order_id, count(*) as n from items group by order_id) as s"
        " on o.order_id = s.order_id",
        ("order_id",),
        [],
        None,
    ),
    (
        "select o.order_id, i.item_id from orders as o join items as i using (order_id)",
        ("item_id",),
        ["i"],
        None,
    ),
    (
        "select o.order_id, i.item_id from orders as o, items as i where o.order_id = i.order_id",
        ("item_id",),
        ["i"],
        None,
    ),
    ("select distinct customer_id, channel from orders", ("customer_id", "channel"), [], None),
    (
        "select distinct on (customer_id) customer_id, amount from orders",
        ("customer_id",),
        [],
        None,
    ),
    (
        "select cast(ordered_at as date) as d, sum(amount) as a from orders group by 1",
        ("d",),
        [],
        None,
    ),
    (
        "select * from orders qualify row_number() over (partition by customer_id) = 1",
        ("customer_id",),
        [],
        None,
    ),
    (
        "with r as (select customer_id, row_number() over (partition by customer_id) as rn"
        " from orders) select customer_id from r where rn = 1",
        ("customer_id",),
        [],
        None,
    ),
    (
        "select o.order_id, t.total from orders as o"
        " cross join (select sum(amount) as total from orders) as t",
        ("order_id",),
        [],
        None,
    ),
    (
        "select l.order_id, l.line_number, s.spend_usd from lines as l join spend as s"
        " on s.spend_date = l.order_date and s.channel = l.channel",
        ("order_id", "line_number"),
        [],
        None,
    ),
    (
        "select l.order_id, l.line_number, s.spend_usd from lines as l join spend as s"
        " on s.spend_date = l.order_date",
        None,
        ["s"],
        "no set of selected columns is unique: s.channel is not selected",
    ),
    (
        "select p.product_id, c.category_id from products as p"
        " join bridge as b on p.product_id = b.product_id"
        " join categories as c on b.category_id = c.category_id",
        ("product_id", "category_id"),
        ["b"],
        None,
    ),
    (
        "select 'web' as channel, order_id from orders union all select 'app', item_id from items",
        ("channel", "order_id"),
        [],
        None,
    ),
    (
        "select order_id from orders union all select item_id from items",
        None,
        [],
        "a union all whose branches no constant column tells apart",
    ),
    (
        "select o.order_id, i.item_id from orders as o left join items as i"
        " on o.order_id = i.order_id and i.item_id = 7",
        ("order_id",),
        [],
        None,
    ),
    (
        "select o.order_id, i.item_id from orders as o join items as i"
        " on o.order_id = i.order_id and i.item_id = 7",
        (),
        [],
        None,
    ),
    (
        "select o.order_id, i.item_id from orders as o right join items as i"
        " on o.order_id = i.order_id",
        ("item_id",),
        ["i"],
        None,
    ),
    (
        "select o.order_id from orders as o where exists"
        " (select 1 from items as i where i.order_id = o.order_id)",
        ("order_id",),
        [],
        None,
    ),
    (
        "select o.order_id from orders as o join unknown_table as u on o.order_id = u.order_id",
        None,
        [],
        "cannot tell whether u (unknown_table) is unique on (order_id):"
        " unknown_table has no known grain",
    ),
    (
        "with recursive x as (select 1 as n union all select n + 1 from x where n < 3)"
        " select * from x",
        None,
        [],
        "a recursive CTE",
    ),
    (
        "select from where",
        None,
        [],
        "cannot parse its SQL at line 1: Expected table name but got 'where'",
    ),
]


@pytest.mark.parametrize(("sql", "key", "sides", "reason"), CASES, ids=[c[0][:50] for c in CASES])
def test_small_queries_get_exactly_the_expected_grain(sql, key, sides, reason):
    grain = lineage.infer_grain(sql, GRAINS)
    assert (grain.key, [f.side for f in grain.fanouts], grain.reason) == (key, sides, reason)


def _multiplies(call: str) -> str:
    return f"{call} in the select list can give several rows per row"


UNKNOWN_ROWS = [
    # (dialect, sql, reason): each row can become several, or the columns change
    ("duckdb", "select order_id, unnest(tags) from orders", _multiplies("unnest(tags)")),
    ("duckdb", "select order_id, 1 + unnest(tags) as t from orders", _multiplies("unnest(tags)")),
    (
        "duckdb",
        "select order_id, generate_series(1, n) from orders",
        _multiplies("generate_series(1, n)"),
    ),
    ("duckdb", "select order_id, range(n) as r from orders", _multiplies("range(0, n)")),
    (
        "duckdb",
        "select order_id, count(*) as n, unnest([1, 2]) as u from orders group by order_id",
        _multiplies("unnest([1, 2])"),
    ),
    (
        "duckdb",
        "with r as (select order_id, unnest(tags) as tag,"
        " row_number() over (partition by order_id) as rn from orders)"
        " select order_id, tag from r where rn = 1",
        _multiplies("unnest(tags)"),
    ),
    (
        "postgres",
        "select order_id, generate_series(1, n) from orders",
        _multiplies("generate_series(1, n)"),
    ),
    (
        "postgres",
        "select order_id, jsonb_array_elements(j) as e from orders",
        _multiplies("jsonb_array_elements(j)"),
    ),
    ("spark", "select order_id, explode(tags) from orders", _multiplies("explode(tags)")),
    ("spark", "select order_id, posexplode(tags) from orders", _multiplies("posexplode(tags)")),
    ("spark", "select order_id, inline(parts) from orders", _multiplies("inline(parts)")),
    (
        "spark",
        "select order_id, explode_outer(tags) as tag from orders",
        _multiplies("explode_outer(tags)"),
    ),
    (
        "spark",
        "select order_id, tag from orders lateral view explode(tags) t as tag",
        "lateral view explode(tags) can give several rows per row",
    ),
    (
        "duckdb",
        "select * from items pivot (sum(qty) for item_id in (1, 2))",
        "a PIVOT of items, whose grain is not inferred",
    ),
    (
        "spark",
        "select * from items pivot (sum(qty) for item_id in (1, 2)) as p",
        "a PIVOT of items, whose grain is not inferred",
    ),
    (
        "duckdb",
        "select * from (select * from items) as i pivot (sum(qty) for item_id in (1, 2))",
        "a PIVOT of a subquery, whose grain is not inferred",
    ),
    (
        "duckdb",
        "select * from orders unpivot (v for k in (amount, tax))",
        "an UNPIVOT of orders, whose grain is not inferred",
    ),
    (
        "duckdb",
        "pivot items on item_id using sum(qty)",
        "a PIVOT statement, whose grain is not inferred",
    ),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "reason"), UNKNOWN_ROWS, ids=[f"{c[0]}: {c[1][:50]}" for c in UNKNOWN_ROWS]
)
def test_set_returning_functions_and_pivots_leave_the_grain_unknown(dialect, sql, reason):
    grain = lineage.infer_grain(sql, GRAINS, dialect=dialect)
    assert (grain.key, grain.keys, grain.fanouts, grain.reason) == (None, (), (), reason)


KEYED_ROWS = [
    # (dialect, sql, key): a DISTINCT (ON) after them, or a GROUP BY reading them, gives a key
    (
        "duckdb",
        "select distinct order_id, unnest(tags) as tag from orders",
        ("order_id", "tag"),
    ),
    (
        "duckdb",
        "select distinct on (order_id) order_id, unnest(tags) as tag from orders",
        ("order_id",),
    ),
    (
        "duckdb",
        "with t as (select order_id, unnest(tags) as tag from orders)"
        " select order_id, count(*) as n from t group by 1",
        ("order_id",),
    ),
    (
        "spark",
        "select order_id, count(tag) as n from orders lateral view explode(tags) t as tag"
        " group by order_id",
        ("order_id",),
    ),
    ("bigquery", "select order_id, 'a' in unnest(tags) as has_a from orders", ("order_id",)),
    (
        "duckdb",
        "select order_id, list_value(1, 2) as l, [x for x in tags] as t from orders",
        ("order_id",),
    ),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "key"), KEYED_ROWS, ids=[f"{c[0]}: {c[1][:50]}" for c in KEYED_ROWS]
)
def test_a_distinct_or_group_by_after_a_set_returning_function_gives_a_key(dialect, sql, key):
    assert lineage.infer_grain(sql, GRAINS, dialect=dialect).key == key


def test_a_model_reading_an_unnested_model_does_not_inherit_its_grain(builds):
    manifest = json.loads(builds["fix"].manifest_path.read_text())
    node = manifest["nodes"]["model.fanout_shop.stg_orders"]
    sql = node["compiled_code"]
    assert sql.rstrip().endswith("select * from renamed")
    node["compiled_code"] = (
        sql.rstrip().removesuffix("* from renamed") + "*, unnest([1, 2]) as copy from renamed"
    )
    (stg,) = lineage.predict(lineage.load(manifest), ["stg_orders"])
    assert (stg.status, stg.grain, stg.reason) == ("unknown", None, _multiplies("unnest([1, 2])"))


# Every predicted key must be made of output columns: each query that gets a key is run on
# empty tables in DuckDB, which says what its output columns are.
_COLUMNS = (
    "order_id integer, item_id integer, product_id integer, category_id integer,"
    " line_number integer, customer_id integer, channel varchar, amount decimal(10, 2),"
    " tax decimal(10, 2), ordered_at timestamp, order_date date, spend_date date,"
    " spend_usd decimal(10, 2), qty integer, quantity integer, n integer, tags integer[]"
)
_DUCKDB_QUERIES = [c[0] for c in CASES[:-3]] + [
    sql for d, sql, *_ in UNKNOWN_ROWS + KEYED_ROWS if d == "duckdb"
]


def test_a_predicted_key_is_always_among_the_query_output_columns():
    con = duckdb.connect()
    try:
        for table in GRAINS:
            con.execute(f"create table {table} ({_COLUMNS})")
        checked = 0
        for sql in _DUCKDB_QUERIES:
            grain = lineage.infer_grain(sql, GRAINS)
            if not grain.keys:
                continue
            columns = {
                d[0].lower() for d in con.execute(f"select * from ({sql}) limit 0").description
            }
            for key in grain.keys:
                assert set(key) <= columns, (sql, key, columns)
            checked += 1
        assert checked > 20
    finally:
        con.close()


def test_a_self_join_on_a_non_key_is_many_to_many():
    grain = lineage.infer_grain(
        "select a.order_id from orders as a join orders as b on a.customer_id = b.customer_id",
        GRAINS,
    )
    (fanout,) = grain.fanouts
    assert (fanout.side, fanout.many_to_many, grain.key) == ("b", True, None)


def test_a_sum_over_rows_the_same_query_fanned_out_is_reported():
    grain = lineage.infer_grain(
        "select o.order_id, sum(o.amount) as amount, sum(i.qty) as qty from orders as o"
        " join items as i on o.order_id = i.order_id group by o.order_id",
        GRAINS,
    )
    assert grain.key == ("order_id",)
    assert grain.fanouts == ()  # the group by folds the rows back to one per order
    assert [(s.column, s.expression) for s in grain.sums] == [("amount", "sum(o.amount)")]


# Soundness: whenever a key is predicted, the query's result is unique on it, for any data
# in which the inputs' keys hold.
_QUERIES = [
    "select a.x, a.y, b.w from a join b on a.x = b.x",
    "select a.x, b.y, b.w from a join b on a.x = b.x and a.y = b.y",
    "select a.x, count(*) as n from a join b on a.y = b.y group by a.x",
    "select distinct a.y, b.w from a join b on a.x = b.y",
    "select 'a' as t, x, y from a union all select 'b', x, y from b",
    "select a.x, a.y, s.n from a join (select x, count(*) as n from b group by x) s on a.x = s.x",
    "select b.x, b.y, a.v from b left join a on b.y = a.y",
    "select a.x, a.y, b.x as b_x, b.y as b_y from a join b on a.v = b.w",
    "select a.x, a.y, b.w from a left join b on a.x = b.x and b.y = 2",
    "select a.x, b.x as b_x, b.y as b_y from a right join b on a.x = b.x",
    "select a.x, a.y, b.x as b_x, b.y as b_y from a full join b on a.x = b.x and a.y = b.y",
    "select x, y from a union select x, y from b",
    "with r as (select x, y, row_number() over (partition by y order by x) as rn from a)"
    " select x, y from r where rn = 1",
    "select x, y, unnest([v, v + 1]) as u from a",
    "select a.x, a.y, generate_series(0, a.v) as g from a",
    "with r as (select x, y, unnest([v, v]) as u, row_number() over (partition by x, y) as rn"
    " from a) select x, y from r where rn = 1",
    "select distinct x, unnest([y, v]) as u from a",
    "select * from a pivot (sum(v) for x in (0, 1, 2, 3))",
    "select * from a unpivot (value for name in (y, v))",
]
_KEYS = [("x",), ("y",), ("x", "y")]
_ROWS = st.lists(st.tuples(*[st.integers(0, 3)] * 3), max_size=8)


def _keyed(rows, key):
    seen = {}
    for row in rows:
        seen.setdefault(tuple(row[("x", "y").index(c)] for c in key), row)
    return list(seen.values())


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(
    sql=st.sampled_from(_QUERIES),
    a_key=st.sampled_from(_KEYS),
    b_key=st.sampled_from(_KEYS),
    a_rows=_ROWS,
    b_rows=_ROWS,
)
def test_a_predicted_key_is_unique_on_any_data_that_keeps_the_input_keys(
    sql, a_key, b_key, a_rows, b_rows
):
    grain = lineage.infer_grain(sql, {"a": [a_key], "b": [b_key]})
    if not grain.key:  # unknown (or at most one row, which no query here gives)
        assert grain.key is None
        return
    con = duckdb.connect()
    try:
        con.execute("create table a (x integer, y integer, v integer)")
        con.execute("create table b (x integer, y integer, w integer)")
        for table, rows, key in (("a", a_rows, a_key), ("b", b_rows, b_key)):
            for row in _keyed(rows, key):
                con.execute(f"insert into {table} values (?, ?, ?)", row)
        result = con.execute(f"select * from ({sql}) as q limit 0").description
        assert set(grain.key) <= {d[0].lower() for d in result}, "a key that is not a column"
        rows, keys = _rows_and_keys(con, f"({sql}) as q", grain.key)
    finally:
        con.close()
    assert rows == keys


# ---------------------------------------------------------------------------- blast radius


def test_enrichment_stg_orders_feeds_two_marts_and_three_dashboards(graphs):
    impact = lineage.downstream(graphs["enrichment"], "stg_orders")
    assert impact.reached("model") == ("fct_orders", "fct_revenue_daily")
    assert impact.reached("test") == ()
    exposures = {(n.name, n.exposure_type, n.owner) for n in impact.walk() if n.exposure_type}
    assert exposures == {
        ("executive_kpis", "dashboard", "Data Platform"),
        ("orders_overview", "dashboard", "Operations"),
        ("revenue_dashboard", "dashboard", "Finance Analytics"),
    }
    assert lineage.render_tree(impact) == (
        "stg_orders (model)\n"
        "├── fct_orders (model)\n"
        "│   ├── executive_kpis (dashboard, owner Data Platform)\n"
        "│   └── orders_overview (dashboard, owner Operations)\n"
        "└── fct_revenue_daily (model)\n"
        "    ├── executive_kpis (dashboard, owner Data Platform)\n"
        "    └── revenue_dashboard (dashboard, owner Finance Analytics)"
    )


def test_in_the_fix_the_blast_radius_also_reaches_the_tests_that_guard_it(graphs):
    impact = lineage.downstream(graphs["fix"], "stg_orders")
    assert impact.reached("test") == (
        "assert_fct_orders_items_total_equals_amount",
        "assert_stg_orders_grain",
        "grain_fct_orders_order_id",
        "grain_fct_revenue_daily_revenue_date",
        "grain_stg_orders_order_id",
    )
    assert impact.reached("exposure") == ("executive_kpis", "orders_overview", "revenue_dashboard")


def test_marketplace_payments_blast_radius_is_exactly_this_tree(market):
    impact = lineage.downstream(market, "stg_shop__payments")
    assert lineage.render_tree(impact) == (
        "stg_shop__payments (model)\n"
        "├── fct_orders (model)\n"
        "│   ├── assert_fct_orders_paid_in_full (test)\n"
        "│   ├── grain_fct_orders_order_id (test)\n"
        "│   └── sales_dashboard (dashboard, owner Sales Operations)\n"
        "├── int_orders_with_payments (model)\n"
        "│   └── fct_daily_sales (model)\n"
        "│       ├── grain_fct_daily_sales_order_date__channel (test)\n"
        "│       ├── marketing_notebook (notebook, owner Growth Analytics)\n"
        "│       └── sales_dashboard (dashboard, owner Sales Operations)\n"
        "└── unique_stg_shop__payments_payment_id (test)"
    )
    assert impact.reached("exposure") == ("marketing_notebook", "sales_dashboard")


def test_a_source_blast_radius_starts_at_the_source(market):
    impact = lineage.downstream(market, "catalog.product_categories")
    assert (impact.name, impact.resource_type) == ("catalog.product_categories", "source")
    assert impact.reached("model") == (
        "dim_products",
        "fct_category_sales",
        "int_order_line_categories",
        "stg_catalog__product_categories",
    )
    assert impact.reached("exposure") == ("catalog_app", "sales_dashboard")


def test_the_blast_radius_of_an_unknown_node_is_a_data_error(graphs):
    with pytest.raises(DataError, match="no model, source, test or exposure named 'stg_nope'"):
        lineage.downstream(graphs["fix"], "stg_nope")


# ---------------------------------------------------------------------------- as JSON


def test_every_result_serializes_to_json(graphs):
    graph = graphs["enrichment"]
    payload = {
        "findings": [asdict(f) for f in lineage.check(graph)],
        "predictions": [asdict(p) for p in lineage.predict(graph)],
        "impact": asdict(lineage.downstream(graph, "stg_orders")),
    }
    back = json.loads(json.dumps(payload))
    stg = next(p for p in back["predictions"] if p["model"] == "stg_orders")
    assert stg["fanouts"][0]["side_grain"] == ["order_item_id"]
    assert back["impact"]["children"][0]["name"] == "fct_orders"
