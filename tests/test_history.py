"""The rebuild at a point of the history: the orders placed before it, built with dbt."""

import datetime as dt

import pytest

from fanout.incident import history, warehouse
from fanout.incident.data import raw, validate
from fanout.incident.params import Params

from .conftest import RAW


@pytest.mark.parametrize(
    "at",
    [
        Params().pr_deployed_at,  # the rebuild notebook 05 checks the derivation against
        dt.datetime(2026, 8, 1, 13, 37),  # within the first day, before any build
        dt.datetime(2026, 10, 29, 23, 59, 59),  # after the fix's deploy, in the last days
    ],
)
def test_a_rebuild_is_valid_data_built_into_models_only(at, tmp_path):
    """The truncated data is not validated again when it is made (whole orders of valid
    data, with all their items, are valid): here every rule is checked on it. Only the
    models are built, on exactly the orders placed before `at` and their line items."""
    params = Params()
    built = history.rebuild_at(params, at, RAW, tmp_path)
    assert validate.check(built.data_dir) == []
    assert {r.resource_type for r in built.results} == {"model"} and built.ok
    con = raw.connect(RAW)
    ((orders, items),) = con.execute(
        "select count(distinct o.order_id), count(*) from raw_orders o "
        "join raw_order_items i using (order_id) where o.ordered_at < ?",
        [at],
    ).fetchall()
    con.close()
    db = warehouse.connect(built)
    revision = history.timeline.revision_at(params, at)
    ((rows, keys),) = db.execute(
        "select count(*), count(distinct order_id) from stg_orders"
    ).fetchall()
    db.close()
    assert keys == orders
    assert rows == (items if revision == "enrichment" else orders)
