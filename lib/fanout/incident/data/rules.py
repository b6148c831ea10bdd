"""The raw data's content rules, each a small function over the typed views of the files
(keys, references, positive quantities and prices, amounts equal to line totals, finance
days), collected in `CONTENT_RULES`; and the `Problem` each reports."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CONTENT_RULES", "EXAMPLES", "Problem"]


EXAMPLES = 3


@dataclass(frozen=True)
class Problem:
    """One rule broken in one file: how many rows, and a few of them."""

    file: str
    rule: str
    count: int
    examples: tuple[dict[str, Any], ...] = field(default=())

    def __str__(self) -> str:
        shown = "; ".join(
            ", ".join(f"{k}={v}" for k, v in e.items()) for e in self.examples[:EXAMPLES]
        )
        rows = "row" if self.count == 1 else "rows"
        return f"{self.file}: {self.rule}: {self.count:,} {rows}" + (
            f" (e.g. {shown})" if shown else ""
        )


def _rows(con, sql: str, params=None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _count_rule(con, file: str, rule: str, sql: str) -> list[Problem]:
    (n,) = con.execute(f"select count(*) from ({sql})").fetchall()[0]
    if not n:
        return []
    return [Problem(file, rule, n, tuple(_rows(con, f"{sql} limit {EXAMPLES}")))]


# A content rule: (connection with the typed views t_<table>, file name by table) -> problems.
_Rule = Callable[[Any, Mapping[str, str]], list[Problem]]


def _needs(*tables: str) -> Callable[[_Rule], _Rule]:
    """Mark a content rule with the tables whose structure it needs intact."""

    def mark(rule: _Rule) -> _Rule:
        rule.needs = tables  # type: ignore[attr-defined]
        return rule

    return mark


def _rows_rule(table: str, name: str, sql: str, *also: str) -> _Rule:
    """A rule broken by every row `sql` returns, reported against `table`'s file; it needs
    `table` (and the tables in `also`) intact."""

    @_needs(table, *also)
    def rule(con, files: Mapping[str, str]) -> list[Problem]:
        return _count_rule(con, files[table], name, sql)

    rule.__name__ = rule.__qualname__ = re.sub(r"\W+", "_", name)
    return rule


@_needs("raw_orders")
def no_orders(con, files: Mapping[str, str]) -> list[Problem]:
    """A dataset with no orders has nothing to show: every figure would be empty."""
    (orders,) = con.execute("select count(*) from t_raw_orders").fetchall()[0]
    if orders:
        return []
    return [Problem(files["raw_orders"], "no orders (the file has its header only)", 1)]


null_order_id = _rows_rule(
    "raw_orders",
    "null order_id",
    "select line from t_raw_orders where order_id is null order by line",
)
duplicate_order_id = _rows_rule(
    "raw_orders",
    "duplicate order_id",
    "select order_id, count(*) as copies, min(line) as first_line from t_raw_orders "
    "where order_id is not null group by order_id having count(*) > 1 order by order_id",
)
null_ordered_at_or_amount = _rows_rule(
    "raw_orders",
    "null ordered_at or amount",
    "select line, order_id from t_raw_orders "
    "where ordered_at is null or amount is null order by line",
)
null_item_keys = _rows_rule(
    "raw_order_items",
    "null order_item_id or order_id",
    "select line from t_raw_order_items "
    "where order_item_id is null or order_id is null order by line",
)
duplicate_order_item_id = _rows_rule(
    "raw_order_items",
    "duplicate order_item_id",
    "select order_item_id, count(*) as copies from t_raw_order_items "
    "where order_item_id is not null group by 1 having count(*) > 1 order by 1",
)
non_positive_quantity_or_price = _rows_rule(
    "raw_order_items",
    "non-positive quantity or unit_price",
    "select line, order_item_id, quantity, unit_price from t_raw_order_items "
    "where quantity <= 0 or unit_price <= 0 or quantity is null or unit_price is null "
    "order by line",
)
items_without_order = _rows_rule(
    "raw_order_items",
    "line items whose order does not exist",
    "select i.line, i.order_item_id, i.order_id from t_raw_order_items i "
    "anti join t_raw_orders o on i.order_id = o.order_id "
    "where i.order_id is not null order by i.line",
    "raw_orders",
)
orders_without_items = _rows_rule(
    "raw_orders",
    "orders without line items",
    "select o.line, o.order_id from t_raw_orders o "
    "anti join t_raw_order_items i on i.order_id = o.order_id "
    "where o.order_id is not null order by o.line",
    "raw_order_items",
)
amount_is_line_total = _rows_rule(
    "raw_orders",
    "amount differs from the sum of the line totals",
    "with totals as (select order_id, sum(quantity * unit_price) as line_total "
    "from t_raw_order_items group by order_id) "
    "select o.line, o.order_id, o.amount, totals.line_total from t_raw_orders o "
    "join totals on o.order_id = totals.order_id "
    "where o.amount <> totals.line_total order by o.line",
    "raw_order_items",
)
finance_day_once = _rows_rule(
    "finance_daily_revenue",
    "duplicate or null revenue_date",
    "select revenue_date, count(*) as copies from t_finance_daily_revenue "
    "group by 1 having count(*) > 1 or revenue_date is null order by 1",
)
finance_days_missing = _rows_rule(
    "finance_daily_revenue",
    "finance days missing",
    "select distinct cast(o.ordered_at as date) as revenue_date "
    "from t_raw_orders o "
    "anti join t_finance_daily_revenue f "
    "on cast(o.ordered_at as date) = f.revenue_date "
    "where o.ordered_at is not null order by 1",
    "raw_orders",
)


# The content rules, in the order their problems are reported; each runs when the tables it
# needs have their structure intact.
CONTENT_RULES: tuple[_Rule, ...] = (
    no_orders,
    null_order_id,
    duplicate_order_id,
    null_ordered_at_or_amount,
    null_item_keys,
    duplicate_order_item_id,
    non_positive_quantity_or_price,
    items_without_order,
    orders_without_items,
    amount_is_line_total,
    finance_day_once,
    finance_days_missing,
)
