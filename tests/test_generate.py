import csv
import json
from decimal import Decimal

import pytest

from fanout.errors import DataError
from fanout.incident.data import generate as gen
from fanout.incident.data.raw import verify_checksums
from fanout.incident.params import Params

from .conftest import RAW, read_raw


def test_committed_dataset_regenerates_byte_for_byte(tmp_path):
    made = gen.generate(Params(), tmp_path / "raw")
    for name in (
        "raw_orders.csv",
        "raw_order_items.csv",
        "finance_daily_revenue.csv",
        "dataset.json",
        "checksums.sha256",
    ):
        assert (tmp_path / "raw" / name).read_bytes() == (RAW / name).read_bytes(), name
    assert made.orders == 4157 and made.items == 10468


def test_committed_dataset_matches_its_checksums():
    assert verify_checksums(RAW) == []


def test_bytes_do_not_depend_on_chunk_size(tmp_path, monkeypatch):
    params = Params(days=12, orders_per_day=30, seed=3)
    gen.generate(params, tmp_path / "a")
    monkeypatch.setattr(gen, "CHUNK_ROWS", 50)  # many small chunks instead of one
    gen.generate(params, tmp_path / "b")
    for name in ("raw_orders.csv", "raw_order_items.csv", "finance_daily_revenue.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_amount_is_the_exact_sum_of_line_totals(raw_facts):
    assert raw_facts.amount.keys() == raw_facts.line_totals.keys()
    assert all(raw_facts.amount[o] == raw_facts.line_totals[o] for o in raw_facts.amount)
    assert min(raw_facts.items_per_order.values()) >= 1
    assert set(raw_facts.items_per_order) == raw_facts.order_ids


def test_finance_equals_the_daily_sum_of_amounts(raw_facts):
    daily = raw_facts.daily_amount()
    assert len(raw_facts.finance) == 90
    assert all(raw_facts.finance[d] == daily.get(d, Decimal(0)) for d in raw_facts.finance)


def test_default_inflation_is_about_three(raw_facts):
    assert 2.9 < raw_facts.weighted_items < 3.3
    assert raw_facts.weighted_items == Decimal("1147498.87") / Decimal("367717.90")


def test_mean_items_parameter_moves_the_data(tmp_path):
    gen.generate(Params(days=20, orders_per_day=200, mean_items_per_order=1.5), tmp_path / "x")
    facts = read_raw(tmp_path / "x")
    mean = facts.items / facts.orders
    assert 1.4 < mean < 1.6
    ones = Params(days=5, orders_per_day=50, mean_items_per_order=1)
    gen.generate(ones, tmp_path / "ones")
    assert set(read_raw(tmp_path / "ones").items_per_order.values()) == {1}


def test_parquet_holds_the_same_data_with_exact_decimals(tmp_path):
    import duckdb

    params = Params(days=5, orders_per_day=20, seed=9)
    gen.generate(params, tmp_path / "csv")
    gen.generate(params, tmp_path / "pq", fmt="parquet")
    con = duckdb.connect()
    for table in ("raw_orders", "raw_order_items", "finance_daily_revenue"):
        from fanout.incident.data.raw import read_sql

        a = con.sql(read_sql(tmp_path / "csv", table)).fetchall()
        b = con.sql(read_sql(tmp_path / "pq", table)).fetchall()
        assert a == b
    kinds = dict(
        con.sql(
            f"describe select * from read_parquet('{tmp_path}/pq/raw_orders.parquet')"
        ).fetchall()[i][:2]
        for i in range(4)
    )
    assert kinds["amount"] == "DECIMAL(18,2)"


def test_refuses_to_overwrite_without_being_asked(tmp_path):
    gen.generate(Params(days=2, orders_per_day=3), tmp_path / "d")
    before = (tmp_path / "d" / "raw_orders.csv").read_bytes()
    with pytest.raises(DataError, match="already holds a dataset"):
        gen.generate(Params(days=3, orders_per_day=3), tmp_path / "d")
    assert (tmp_path / "d" / "raw_orders.csv").read_bytes() == before
    gen.generate(Params(days=3, orders_per_day=3), tmp_path / "d", overwrite=True)
    assert json.loads((tmp_path / "d" / "dataset.json").read_text())["params"]["days"] == 3


def test_no_temporary_files_are_left_behind(tmp_path):
    gen.generate(Params(days=2, orders_per_day=3), tmp_path / "d")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_csv_has_the_declared_columns():
    with (RAW / "raw_order_items.csv").open() as fh:
        header = next(csv.reader(fh))
    assert header == ["order_item_id", "order_id", "product_id", "quantity", "unit_price"]
