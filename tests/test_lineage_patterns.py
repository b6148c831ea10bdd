"""Each pattern that made the prediction wrong on real projects (issue 12), as a general
rule pinned on a minimal SQL repro: what is proven is a key, what cannot be decided is
"cannot tell", never a fan-out."""

from __future__ import annotations

import pytest

from fanout.toolkit import lineage

GRAINS = {
    "orders": [["order_id"]],
    "items": [["item_id"]],
    "customers": [["customer_id"]],
    "events": [["event_id"]],
    "history": [["customer_id", "valid_from"]],
    "dim_encounter_groups": [["encounter_group_sk"]],
}


def _grain(sql: str, grains=GRAINS):
    return lineage.infer_grain(sql, grains)


# ---------------------------------------------------------------------------- dedups


def test_a_row_number_dedup_survives_a_reselection_in_a_subquery():
    grain = _grain(
        "with ranked as (select customer_id, valid_from, row_number() over"
        " (partition by customer_id order by valid_from desc) as rn from history)"
        " select customer_id, valid_from from (select * from ranked) as latest where rn = 1"
    )
    assert grain.key == ("customer_id",)


def test_a_first_row_flag_filters_to_one_row_per_partition():
    grain = _grain(
        "with flagged as (select customer_id, valid_from, row_number() over"
        " (partition by customer_id order by valid_from desc) = 1 as is_latest from history)"
        " select customer_id, valid_from from flagged where is_latest"
    )
    assert grain.key == ("customer_id",)


def test_a_row_number_is_unique_within_its_partition():
    grain = _grain(
        "with seq as (select event_id, customer_id, row_number() over"
        " (partition by customer_id order by event_id) as n from events)"
        " select a.event_id, b.event_id as next_event_id from seq as a"
        " left join seq as b on a.customer_id = b.customer_id and a.n + 1 = b.n"
    )
    assert (grain.key, grain.fanouts) == (("event_id",), ())


def test_a_fan_out_through_a_numbered_cte_names_the_cte():
    grain = _grain(
        "with numbered as (select *, row_number() over (order by item_id) as n from items)"
        " select o.order_id, numbered.item_id from orders as o"
        " join numbered on numbered.order_id = o.order_id"
    )
    assert [(f.side, f.relation, f.side_grain) for f in grain.fanouts] == [
        ("numbered", "numbered", ("item_id",))
    ]


# ---------------------------------------------------------------------------- constants


def test_a_constant_column_is_never_part_of_a_key():
    grain = _grain(
        "select cast('2026-01-01' as timestamp) as loaded_at, 'shop' as source, order_id"
        " from orders"
    )
    assert grain.key == ("order_id",)
    grouped = _grain(
        "select cast('2026-01-01' as timestamp) as run_at, customer_id, count(*) as n"
        " from orders group by 1, 2"
    )
    assert grouped.key == ("customer_id",)


# ---------------------------------------------------------------------------- joins


@pytest.mark.parametrize(
    "condition",
    [
        "o.customer_id = c.customer_id or (o.customer_id is null and c.customer_id is null)",
        "o.customer_id is not distinct from c.customer_id",
    ],
)
def test_a_null_safe_equality_is_an_equi_join(condition):
    grain = _grain(
        f"select o.order_id, c.name from orders as o left join customers as c on {condition}"
    )
    assert (grain.key, grain.fanouts) == (("order_id",), ())


def test_a_cross_join_of_constant_relations_is_a_product_not_a_fan_out():
    grain = _grain(
        "with a as (select 0 as n union all select 1 as n),"
        " b as (select 0 as n union all select 1 as n)"
        " select a.n as tens, b.n as units from a cross join b"
    )
    assert (grain.key, grain.fanouts) == (("tens", "units"), ())


def test_a_cross_join_with_a_relation_of_unknown_grain_is_unknown_not_a_fan_out():
    grain = _grain("select o.order_id, d.day from orders as o cross join days as d")
    assert (grain.key, grain.fanouts) == (None, ())
    assert grain.reason.startswith("cannot tell whether d (days) is unique")


def test_a_comma_join_bound_by_unqualified_columns_in_where_is_no_product():
    grain = _grain(
        "with o as (select order_id from orders), i as (select item_id, order_id as ref"
        " from items) select order_id, item_id from o, i where order_id = ref"
    )
    assert [f.side for f in grain.fanouts] == ["i"]


def test_a_left_join_kept_only_where_it_misses_is_an_anti_join():
    grain = _grain(
        "select o.order_id from orders as o left join items as i on i.order_id = o.order_id"
        " where i.order_id is null"
    )
    assert (grain.key, grain.fanouts) == (("order_id",), ())


def test_a_join_against_a_key_a_group_by_gives_is_cannot_tell_not_a_fan_out():
    grain = _grain(
        "with totals as (select order_id, customer_id, count(*) as n from items group by 1, 2)"
        " select o.order_id, t.n from orders as o join totals as t on t.order_id = o.order_id"
    )
    assert grain.fanouts == ()
    assert grain.doubts == (
        "cannot tell whether t (totals) is unique on (order_id): its rows are one per "
        "(order_id, customer_id), a key its SQL gives (by a group by or distinct), not a "
        "stated grain",
    )


def test_a_join_on_the_relations_own_entity_is_a_lookup():
    grain = _grain(
        "select e.event_id, g.encounter_group_sk from events as e"
        " join dim_encounter_groups as g on g.encounter_group = e.encounter_group"
    )
    assert grain.fanouts == ()
    assert "encounter_group names its entity" in grain.doubts[0]


def test_a_join_against_a_stated_grain_it_does_not_cover_is_a_fan_out():
    grain = _grain(
        "select o.order_id, i.quantity from orders as o join items as i on i.order_id = o.order_id"
    )
    assert [(f.side, f.side_grain) for f in grain.fanouts] == [("i", ("item_id",))]


def test_union_branches_of_constant_rows_are_keyed_by_any_one_distinct_column():
    grain = _grain(
        "with ranks as (select 'surgery' as cohort, 1 as rank union all"
        " select 'medicine' as cohort, 2 as rank)"
        " select e.event_id, ranks.cohort from events as e join ranks on ranks.rank = e.rank"
    )
    assert (grain.key, grain.fanouts) == (("event_id",), ())


# ---------------------------------------------------------------------------- empty models


@pytest.mark.parametrize(
    "sql",
    [
        "select cast(null as varchar) as x limit 0",
        "select * from orders where 1 = 0",
        "select order_id from orders where false",
    ],
)
def test_a_model_created_empty_is_unknown_not_one_row(sql):
    grain = _grain(sql)
    assert grain.key is None
    assert grain.reason.startswith("it is created empty")


# ---------------------------------------------------------------------------- manifests


def _manifest(models: dict, sources=(), tests=(), seeds=()) -> dict:
    """A small manifest: models {name: (sql, parents, meta grain, version)}, sources and
    seeds by name, tests as (test name, kwargs, model name)."""
    nodes, parent_map = {}, {}
    for name in sources:
        parent_map[f"source.p.raw.{name}"] = []
    for name in seeds:
        uid = f"seed.p.{name}"
        nodes[uid] = {"unique_id": uid, "name": name, "resource_type": "seed",
                      "fqn": ["p", name], "relation_name": f'"db"."main"."{name}"',
                      "package_name": "p"}  # fmt: skip
        parent_map[uid] = []
    for name, (sql, parents, grain, version) in models.items():
        uid = f"model.p.{name}" + (f".v{version}" if version else "")
        nodes[uid] = {
            "unique_id": uid, "name": name, "resource_type": "model", "fqn": ["p", name],
            "compiled_code": sql, "relation_name": f'"db"."main"."{name}"',
            "package_name": "p", "version": version,
            "config": {"meta": {"grain": grain}} if grain else {},
        }  # fmt: skip
        parent_map[uid] = list(parents)
    for i, (test, kwargs, model) in enumerate(tests):
        uid = f"test.p.t{i}"
        target = f"model.p.{model}"
        nodes[uid] = {"unique_id": uid, "name": f"t{i}", "resource_type": "test",
                      "test_metadata": {"name": test, "kwargs": kwargs},
                      "attached_node": target, "depends_on": {"nodes": [target]}}  # fmt: skip
        parent_map[uid] = [target]
    sources = {
        f"source.p.raw.{n}": {
            "unique_id": f"source.p.raw.{n}",
            "name": n,
            "resource_type": "source",
            "source_name": "raw",
            "relation_name": f'"db"."raw"."{n}"',
        }
        for n in sources
    }
    metadata = {"project_name": "p", "dbt_schema_version": SCHEMA}
    return {"metadata": metadata, "nodes": nodes, "sources": sources, "parent_map": parent_map}


SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"


def test_a_declared_surrogate_key_hashing_the_inferred_key_holds():
    manifest = _manifest(
        {
            "daily": (
                "select md5(cast(customer_id as varchar) || '-' || cast(day as varchar)) as sk,"
                " customer_id, day, count(*) as n from orders group by customer_id, day",
                ["model.p.orders"],
                ["sk"],
                None,
            ),
            "orders": ("select 1 as customer_id, current_date as day", [], None, None),
        }
    )
    (daily,) = lineage.predict(lineage.load(manifest), ["daily"])
    assert (daily.status, daily.declared) == ("ok", (("sk",),))


def test_jinja_in_a_combination_test_keeps_the_tested_grain():
    kwargs = {"combination_of_columns": ['{{ quote_column("plan") }}', "account_id"]}
    manifest = _manifest(
        {"plans": ("select 1 as plan, 2 as account_id", [], None, None)},
        tests=[("unique_combination_of_columns", kwargs, "plans")],
    )
    assert lineage.load(manifest).node("plans").tested_grains == (("plan", "account_id"),)


def test_versioned_models_keep_their_version():
    manifest = _manifest(
        {f"int_model_{v}": ("select 1 as id", [], None, None) for v in ()}
        | {"int_model": ("select 1 as id", [], None, "1")}
    )
    manifest["nodes"]["model.p.int_model.v2"] = dict(
        manifest["nodes"]["model.p.int_model.v1"], unique_id="model.p.int_model.v2", version=2
    )
    manifest["parent_map"]["model.p.int_model.v2"] = []
    labels = [f.model for f in lineage.lint(lineage.load(manifest))]
    assert labels == ["int_model.v1", "int_model.v2"]


def test_seeds_are_models_unless_the_settings_count_them_as_sources():
    manifest = _manifest(
        {
            "stg_codes": (
                "select a.code, b.label from codes as a join labels as b on a.code = b.code",
                ["seed.p.codes", "seed.p.labels"],
                None,
                None,
            )
        },
        seeds=["codes", "labels"],
    )
    plain = {f.rule for f in lineage.lint(lineage.load(manifest))}
    seeded = lineage.load(manifest, lineage.Settings(seeds_as_sources=True))
    assert "staging-joins-sources" not in plain
    assert "staging-joins-sources" in {f.rule for f in lineage.lint(seeded)}


def test_a_grain_implied_by_a_staging_test_makes_a_join_to_the_source_a_fan_out():
    """jaffle-shop's pattern: sources test nothing, their staging models test the key."""
    manifest = _manifest(
        {
            "stg_items": (
                'with s as (select * from "db"."raw"."items")'
                " select id as item_id, order_id from s",
                ["source.p.raw.items"],
                None,
                None,
            ),
            "stg_orders": (
                'select o.id as order_id, i.sku from "db"."raw"."orders" as o'
                ' left join "db"."raw"."items" as i on i.order_id = o.id',
                ["source.p.raw.items", "source.p.raw.orders"],
                None,
                None,
            ),
        },
        sources=["items", "orders"],
        tests=[("unique", {"column_name": "item_id"}, "stg_items")],
    )
    graph = lineage.load(manifest)
    found = lineage.found_grains(graph)
    assert {graph.nodes[u].label: (f.keys, f.how) for u, f in found.items()} == {
        "raw.items": ((("id",),), "implied")
    }
    (stg,) = lineage.predict(graph, ["stg_orders"])
    assert [(f.relation, f.side_grain) for f in stg.fanouts] == [("raw.items", ("id",))]


def test_an_assumed_grain_bounds_a_join_but_never_makes_a_fan_out():
    manifest = _manifest(
        {
            "stg_orders": (
                'select o.id as order_id, i.sku from "db"."raw"."orders" as o'
                ' left join "db"."raw"."items" as i on i.order_id = o.id',
                ["source.p.raw.items", "source.p.raw.orders"],
                None,
                None,
            )
        },
        sources=["items", "orders"],
    )
    manifest["sources"]["source.p.raw.items"]["columns"] = {"id": {}, "order_id": {}}
    (stg,) = lineage.predict(lineage.load(manifest), ["stg_orders"])
    assert stg.fanouts == ()
    assert stg.status == "unknown"
