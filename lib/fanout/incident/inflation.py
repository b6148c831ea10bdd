"""What the enrichment's join does to revenue, from the raw files alone: joining each order to
its line items repeats the order's amount once per item, so revenue grows by the
revenue-weighted mean number of line items per order (not the plain mean). Notebooks 01 and
02 and the training's expected answers all take these figures from `inflation`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["INFLATION_SQL", "Inflation", "inflation"]

# One pass over the raw tables (`con` has them as views); an order without line items still
# gives one row to a left join, hence greatest(n_items, 1).
INFLATION_SQL = """
    with per_order as (
        select raw_orders.order_id, raw_orders.amount, count(items.order_item_id) as n_items
        from raw_orders
        left join raw_order_items as items on raw_orders.order_id = items.order_id
        group by raw_orders.order_id, raw_orders.amount
    )
    select
        count(*),
        sum(n_items),
        count(*) filter (where n_items > 1),
        sum(amount),
        sum(amount * greatest(n_items, 1)),
        avg(greatest(n_items, 1)),
        (select sum(revenue) from finance_daily_revenue)
    from per_order
"""


@dataclass(frozen=True)
class Inflation:
    """Orders and their line items, and revenue before and after the join fans it out."""

    orders: int
    line_items: int
    multi_item_orders: int
    revenue: Decimal  # sum(amount): what the orders add up to
    fanned_out: Decimal  # sum(amount * line items): what a model with a row per item sums
    mean_items: float  # line items per order, the plain mean (the tempting wrong factor)
    finance: Decimal  # the finance system's total

    @property
    def weighted_items(self) -> Decimal:
        """Line items per order weighted by revenue: the factor the join inflates revenue by."""
        return self.fanned_out / self.revenue

    @property
    def factor(self) -> Decimal:
        """The dashboard's revenue over finance's, once the join has fanned out the orders."""
        return self.fanned_out / self.finance


def inflation(con) -> Inflation:
    """The figures of `Inflation`, computed in DuckDB on the raw tables' views of `con`."""
    orders, items, multi, revenue, fanned_out, mean, finance = con.execute(
        INFLATION_SQL
    ).fetchall()[0]
    return Inflation(int(orders), int(items or 0), int(multi), revenue, fanned_out, mean, finance)
