"""The root-cause walk on the incident's builds and on the marketplace project."""

import pytest

from fanout.errors import DataError
from fanout.incident import timeline, warehouse
from fanout.incident.params import Params
from fanout.toolkit import investigate


def _walk(db, manifest, symptom, **kw):
    con = warehouse.connect(db)
    try:
        return investigate.walk(con, manifest, symptom, **kw)
    finally:
        con.close()


@pytest.mark.parametrize("symptom", ["fct_revenue_daily", "fct_orders"])
def test_the_walk_names_stg_orders_and_the_enrichment_pr(builds, symptom):
    e = builds["enrichment"]
    found = _walk(e.database, e.manifest_path, symptom, history=timeline.incident_history(Params()))
    assert found.root_cause == "stg_orders"
    assert [s.model for s in found.steps] == ["stg_orders", symptom]
    first = found.steps[0]
    assert (first.rows, first.distinct_keys, first.broke) == (10468, 4157, True)
    assert first.key == ("order_id",) and first.key_source == "inherited from shop.raw_orders"
    assert dict(first.parent_rows) == {"shop.raw_order_items": 10468, "shop.raw_orders": 4157}
    assert (found.introduced.revision, found.introduced.pr) == ("enrichment", 482)
    assert found.introduced.deployed_at == Params().pr_deployed_at
    assert found.blast_radius.reached("exposure") == (
        "executive_kpis",
        "orders_overview",
        "revenue_dashboard",
    )
    assert found.seconds < 5


@pytest.mark.parametrize("revision", ["baseline", "fix"])
def test_the_walk_finds_nothing_where_the_grain_holds(builds, revision):
    b = builds[revision]
    found = _walk(b.database, b.manifest_path, "fct_revenue_daily")
    assert found.root_cause is None and found.introduced is None and found.blast_radius is None
    assert all(not s.broke for s in found.steps)
    sources = {s.model: s.key_source for s in found.steps}
    expected = "declared" if revision == "fix" else "inferred"
    assert sources == {"stg_orders": expected, "fct_revenue_daily": expected}


def test_without_deploy_history_the_deploy_is_not_named(builds):
    e = builds["enrichment"]
    assert _walk(e.database, e.manifest_path, "fct_orders").introduced is None


@pytest.mark.parametrize(
    ("symptom", "root", "rows", "keys"),
    [
        ("fct_daily_sales", "int_orders_with_payments", 6, 4),
        ("int_orders_with_payments", "int_orders_with_payments", 6, 4),
        ("dim_products", "dim_products", 5, 3),
        ("stg_ads__spend_eur", "stg_ads__spend", 4, 2),
        ("int_channel_metrics", "stg_ads__spend", 4, 2),
        ("fct_orders", None, None, None),
        ("fct_category_sales", None, None, None),
    ],
)
def test_the_walk_on_the_marketplace(marketplace, symptom, root, rows, keys):
    found = _walk(marketplace / "marketplace.duckdb", marketplace / "target/manifest.json", symptom)
    assert found.root_cause == root
    broken = [s for s in found.steps if s.broke]
    if root is None:
        assert broken == []
    else:
        assert (broken[0].model, broken[0].rows, broken[0].distinct_keys) == (root, rows, keys)
        assert found.steps[-1].model == symptom


def test_the_walk_visits_parents_before_children(marketplace):
    found = _walk(
        marketplace / "marketplace.duckdb", marketplace / "target/manifest.json", "fct_daily_sales"
    )
    order = [s.model for s in found.steps]
    assert order.index("stg_shop__orders") < order.index("int_orders_with_payments")
    assert order.index("stg_shop__payments") < order.index("int_orders_with_payments")
    assert order.index("int_orders_with_payments") < order.index("fct_daily_sales")
    assert order[-1] == "fct_daily_sales"


def test_the_symptom_must_be_a_model(builds):
    e = builds["enrichment"]
    with pytest.raises(DataError, match="is a source, not a model"):
        _walk(e.database, e.manifest_path, "shop.raw_orders")
    with pytest.raises(DataError, match="no model, source, test or exposure named 'nope'"):
        _walk(e.database, e.manifest_path, "nope")


def test_a_fan_out_that_keeps_the_finer_key_is_still_found(tmp_path):
    """A variant of the PR that also selects order_item_id: stg_orders is then unique on
    order_item_id, but it no longer holds one row per order_id of raw_orders."""
    import json
    import shutil

    from .conftest import RAW, ROOT

    project = tmp_path / "variant"
    shutil.copytree(
        ROOT / "warehouse" / "enrichment",
        project,
        ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"),
    )
    sql = project / "models" / "staging" / "stg_orders.sql"
    sql.write_text(
        sql.read_text().replace(
            "cast(order_items.product_id as bigint) as product_id,",
            "cast(order_items.product_id as bigint) as product_id,\n"
            "        cast(order_items.order_item_id as bigint) as order_item_id,",
        )
    )
    work = tmp_path / "work"
    work.mkdir()
    db = work / "warehouse.duckdb"
    profile = {
        "fanout_shop": {"target": "t", "outputs": {"t": {"type": "duckdb", "path": str(db)}}}
    }
    (work / "profiles.yml").write_text(json.dumps(profile))
    results = warehouse.invoke(
        [
            "build",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(work),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "--vars",
            json.dumps({"raw_dir": str(RAW), "raw_format": "csv"}),
        ]
    )
    assert all(r.ok for r in results)
    found = _walk(db, work / "target" / "manifest.json", "fct_revenue_daily")
    assert found.root_cause == "stg_orders"
    broke = found.steps[0]
    assert broke.key == ("order_id",) and broke.key_source == "inherited from shop.raw_orders"
    assert (broke.rows, broke.distinct_keys) == (10468, 4157)
