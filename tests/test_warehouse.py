"""The three revisions built with dbt on the committed data, checked against the raw files."""

from decimal import Decimal

import pytest

from fanout.errors import DataError
from fanout.incident import warehouse
from fanout.incident.data.generate import generate
from fanout.incident.params import Params

from .conftest import ROOT

ROWS_AND_KEYS = "select count(*), count(distinct order_id) from stg_orders"


def _one(builds, revision, sql):
    con = warehouse.connect(builds[revision])
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_enrichment_stg_orders_has_one_row_per_line_item(builds, raw_facts):
    ((rows, keys),) = _one(builds, "enrichment", ROWS_AND_KEYS)
    assert rows == raw_facts.items == 10468
    assert keys == raw_facts.orders == 4157
    assert rows > keys


@pytest.mark.parametrize("revision", ["baseline", "fix"])
def test_baseline_and_fix_have_one_row_per_order(builds, raw_facts, revision):
    ((rows, keys),) = _one(builds, revision, ROWS_AND_KEYS)
    assert rows == keys == raw_facts.orders


def test_fix_revenue_equals_finance_every_day_to_the_cent(builds, raw_facts):
    daily = dict(_one(builds, "fix", "select revenue_date, revenue from fct_revenue_daily"))
    assert set(daily) <= set(raw_facts.finance)
    for day, revenue in raw_facts.finance.items():
        assert daily.get(day, Decimal(0)) == revenue, day


def test_enrichment_inflation_is_the_revenue_weighted_items_per_order(builds, raw_facts):
    ((dashboard,),) = _one(builds, "enrichment", "select sum(revenue) from fct_revenue_daily")
    ((orders_mart,),) = _one(builds, "enrichment", "select sum(amount) from fct_orders")
    finance = sum(raw_facts.finance.values(), Decimal(0))
    assert dashboard / finance == raw_facts.weighted_items
    assert orders_mart == dashboard  # both marts serve the same inflated revenue
    assert dashboard == Decimal("1147498.87")


def test_fix_grain_tests_fail_on_the_enrichment_tables_and_name_stg_orders(builds, build_root):
    results = warehouse.run_tests(
        "fix", builds["enrichment"].database, select="stg_orders", build_dir=build_root
    )
    assert {r.name for r in results} == {"assert_stg_orders_grain", "grain_stg_orders_order_id"}
    for r in results:
        assert r.status == "fail"
        assert r.failures == 3243  # orders with more than one line item
        assert r.depends_on == ("model.fanout_shop.stg_orders",)


def test_fix_build_passes_every_test_grain_tests_included(builds):
    fix = builds["fix"]
    assert fix.ok
    tests = {r.name: r.status for r in fix.results if r.resource_type == "test"}
    assert tests["assert_stg_orders_grain"] == "pass"
    assert tests["grain_stg_orders_order_id"] == "pass"
    assert tests["assert_fct_orders_items_total_equals_amount"] == "pass"
    assert len(tests) == 13


def test_baseline_and_enrichment_pass_ci_because_models_declare_no_grain(builds):
    for revision in ("baseline", "enrichment"):
        tests = [r for r in builds[revision].results if r.resource_type == "test"]
        assert builds[revision].ok
        assert all(r.name.startswith("source_") for r in tests)  # only the sources are tested


def test_fct_revenue_daily_sql_is_byte_identical_in_enrichment_and_fix():
    path = "models/marts/fct_revenue_daily.sql"
    wh = ROOT / "warehouse"
    assert (wh / "enrichment" / path).read_bytes() == (wh / "fix" / path).read_bytes()


def test_the_raw_loader_is_the_same_macro_in_every_revision():
    # each revision stays a complete dbt project, so each carries the loader; none differs
    wh = ROOT / "warehouse"
    path = "macros/load_raw.sql"
    assert len({(wh / rev / path).read_bytes() for rev in ("baseline", "enrichment", "fix")}) == 1


def test_stg_orders_feeds_two_marts_and_three_dashboards(builds):
    manifest = builds["enrichment"].manifest
    children = manifest["child_map"]["model.fanout_shop.stg_orders"]
    marts = sorted(c for c in children if c.startswith("model."))
    assert marts == ["model.fanout_shop.fct_orders", "model.fanout_shop.fct_revenue_daily"]
    dashboards = {c for m in marts for c in manifest["child_map"][m] if c.startswith("exposure.")}
    assert dashboards == {
        "exposure.fanout_shop.executive_kpis",
        "exposure.fanout_shop.orders_overview",
        "exposure.fanout_shop.revenue_dashboard",
    }
    assert all(manifest["exposures"][d]["type"] == "dashboard" for d in dashboards)


def test_fix_declares_the_grain_of_every_model(builds):
    nodes = builds["fix"].manifest["nodes"]
    models = [n for n in nodes.values() if n["resource_type"] == "model"]
    assert len(models) == 4
    for model in models:
        assert model["config"]["meta"]["grain"], model["name"]
        assert model["description"].startswith("One row per"), model["name"]


def test_unchanged_inputs_reuse_the_build(builds, build_root):
    again = warehouse.build("fix", builds["fix"].data_dir, build_root)
    assert again.reused
    assert again.database == builds["fix"].database
    assert again.results == builds["fix"].results


def test_the_database_is_released_after_a_build(builds):
    import duckdb

    con = duckdb.connect(str(builds["baseline"].database))  # read-write: fails if still locked
    con.close()


def test_parquet_data_builds_too(tmp_path):
    data = tmp_path / "pq"
    generate(Params(days=4, orders_per_day=10, seed=5), data, fmt="parquet")
    built = warehouse.build("enrichment", data, tmp_path / "build")
    assert built.ok
    ((rows, items),) = (
        warehouse.connect(built)
        .execute(
            f"select (select count(*) from stg_orders), "
            f"(select count(*) from read_parquet('{data}/raw_order_items.parquet'))"
        )
        .fetchall()
    )
    assert rows == items


def test_raw_data_is_not_written_by_a_build(builds):
    from fanout.incident.data.raw import verify_checksums

    assert verify_checksums(ROOT / "data" / "raw") == []


def test_unknown_revision_and_missing_data_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="unknown revision 'nope'; choose one of baseline, "):
        warehouse.build("nope", build_dir=tmp_path)
    with pytest.raises(DataError, match=r"data folder .*missing does not exist"):
        warehouse.build("fix", tmp_path / "missing", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_test_results_on_a_build_are_kept_beside_it_and_reused(builds, build_root):
    enrichment = builds["enrichment"]
    first = warehouse.run_tests(
        "fix", enrichment.database, select="stg_orders", build_dir=build_root
    )
    kept = sorted(enrichment.folder.glob("tests-fix-*.json"))
    assert len(kept) == 1
    again = warehouse.run_tests(
        "fix", enrichment.database, select="stg_orders", build_dir=build_root
    )
    assert again == first
    other = warehouse.run_tests(
        "fix", enrichment.database, select="fct_revenue_daily", build_dir=build_root
    )
    assert {r.name for r in other} == {"grain_fct_revenue_daily_revenue_date"}
    assert len(sorted(enrichment.folder.glob("tests-fix-*.json"))) == 2


def _run_by_dbt(build) -> set[str]:
    """The nodes dbt itself ran in a build (its run_results.json)."""
    import json

    results = json.loads((build.target_dir / "run_results.json").read_text())["results"]
    return {r["unique_id"] for r in results}


def test_the_tests_on_the_sources_run_once_per_dataset(builds):
    """The same SQL on the same data gives the same result: each of the seven tests on the
    sources ran in one of the three builds (the first made), and the other two hold its
    result, although the fix has macros of its own (a grain test, not one they call)."""
    source_tests = {
        r.unique_id
        for r in builds["baseline"].results
        if r.resource_type == "test" and r.name.startswith("source_")
    }
    assert len(source_tests) == 7
    for uid in source_tests:
        ran_in = [rev for rev, b in builds.items() if uid in _run_by_dbt(b)]
        assert len(ran_in) == 1, (uid, ran_in)
        for rev, built in builds.items():
            assert (uid in built.tests_from_earlier) == (rev not in ran_in)
            (result,) = [r for r in built.results if r.unique_id == uid]
            assert result.status == "pass"
    # the fix's grain tests read models: always its own
    fix = builds["fix"]
    assert {r.unique_id for r in fix.results if r.name.startswith("grain_")} <= _run_by_dbt(fix)


def test_a_test_on_the_sources_with_other_sql_or_macros_runs_again(builds, tmp_path):
    import shutil

    project = tmp_path / "edited"
    shutil.copytree(ROOT / "warehouse" / "enrichment", project)
    sources = project / "models" / "sources.yml"
    text = sources.read_text()
    old = "          - name: order_item_id\n            data_tests: [unique, not_null]"
    assert old in text
    sources.write_text(
        text.replace(
            old,
            "          - name: order_item_id\n            data_tests:\n"
            "              - unique:\n                  config: {where: 'order_id > 0'}\n"
            "              - not_null",
        )
    )
    build_root = builds["baseline"].folder.parent.parent
    edited = warehouse.build(project, builds["baseline"].data_dir, build_root)
    ran = {r.name for r in edited.results if r.unique_id in _run_by_dbt(edited)}
    taken = {uid.split(".")[2] for uid in edited.tests_from_earlier}
    assert "source_unique_shop_raw_order_items_order_item_id" in ran  # its SQL has a where
    assert "source_unique_shop_raw_orders_order_id" in taken
    assert len(taken) == 6 and edited.ok

    # a macro of the project's own that stands in for one the unique test calls
    (project / "macros" / "unique.sql").write_text(
        "{% macro default__test_unique(model, column_name) %}\n"
        "select {{ column_name }} from {{ model }} group by 1 having count(*) > 1\n"
        "{% endmacro %}\n"
    )
    again = warehouse.build(project, builds["baseline"].data_dir, build_root)
    ran = {r.name for r in again.results if r.unique_id in _run_by_dbt(again)}
    assert {n for n in ran if n.startswith("source_unique_")} == {
        "source_unique_shop_raw_orders_order_id",
        "source_unique_shop_raw_order_items_order_item_id",
        "source_unique_finance_finance_daily_revenue_revenue_date",
    }
    assert again.ok


def test_every_test_runs_when_asked_and_none_in_a_models_only_build(builds, tmp_path):
    data = builds["baseline"].data_dir
    warehouse.build("baseline", data, tmp_path)
    everything = warehouse.build("enrichment", data, tmp_path, reuse_tests=False)
    assert everything.tests_from_earlier == ()
    tests = {r.unique_id for r in everything.results if r.resource_type == "test"}
    assert len(tests) == 7 and tests <= _run_by_dbt(everything)
    models = warehouse.build("enrichment", data, tmp_path, tests=False)
    assert {r.resource_type for r in models.results} == {"model"}
    assert models.ok and models.folder != everything.folder
    assert warehouse.build("enrichment", data, tmp_path, reuse_tests=False).reused  # kept
