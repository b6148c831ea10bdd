"""Words for notebook 01, the raw data: grains, items per order, finance against the orders."""

from __future__ import annotations

from fanout.incident.recorded import Claim
from fanout.incident.story.words import Found, count, joined, money, weighting

__all__ = ["finance_matches_orders", "in_short_01", "items_per_order", "raw_grains"]


def raw_grains(f: Found) -> Claim:
    """Each raw table against its grain, and `raw_order_items` keyed by `order_id`."""
    tables = [
        ("raw_orders", "order_id", f["raw_orders_rows"], f["raw_orders_distinct_order_ids"]),
        (
            "raw_order_items",
            "order_item_id",
            f["raw_order_items_rows"],
            f["raw_order_items_distinct_order_item_ids"],
        ),
        ("finance_daily_revenue", "revenue_date", f["finance_days"], f["finance_distinct_days"]),
    ]
    broken = [t for t in tables if t[2] != t[3]]
    if broken:
        first = (
            "Not every raw table is at its grain: "
            + "; ".join(
                f"`{t}` has {rows:,} rows for {keys:,} distinct `{k}`"
                for t, k, rows, keys in broken
            )
            + "."
        )
    else:
        first = (
            "Each raw table is at its grain: "
            + "; ".join(
                f"`{t}` has {rows:,} rows for {keys:,} distinct `{k}`"
                for t, k, rows, keys in tables
            )
            + "."
        )
    items, orders = f["raw_order_items_rows"], f["raw_order_items_distinct_order_ids"]
    most = f["max_items_per_order"]
    if items > orders:
        second = (
            f"Keyed by `order_id`, the enrichment PR's join key, `raw_order_items` has {items:,} "
            f"rows for {orders:,} orders: {items / orders:.2f} rows per order, up to {most} for "
            "one order. A join from orders to items on `order_id` repeats each order's row once "
            "per line item."
        )
    else:
        second = (
            f"Keyed by `order_id`, `raw_order_items` has exactly one row per order ({orders:,}): "
            "no order has more than one line item, so a join from orders to items on `order_id` "
            "would not repeat any order in this dataset."
        )
    return Claim("raw-grains", f"{first}\n\n{second}")


def items_per_order(f: Found) -> Claim:
    """The plain and the revenue-weighted mean number of line items per order."""
    mean, weighted = f["mean_items_per_order"], f["revenue_weighted_items_per_order"]
    multi = f["multi_item_orders"]
    text = (
        f"Orders have {mean:.2f} line items on average; weighted by revenue, {weighted:.2f}: "
        f"{weighting(mean, weighted)}. {count(multi, 'order')} of {f['raw_orders_rows']:,} "
        f"{'has' if multi == 1 else 'have'} more than one line item. A model that repeats each "
        f"order's amount once per line item would overstate revenue {weighted:.2f} times."
    )
    checks = []
    if f["orders_without_items"]:
        checks.append(f"{count(f['orders_without_items'], 'order')} without any line item")
    if f["amount_mismatches"]:
        checks.append(
            f"{count(f['amount_mismatches'], 'order')} whose amount differs from its line totals"
        )
    text += (
        " Every order has at least one line item and its amount is the exact sum of its line "
        "totals."
        if not checks
        else " The data has " + joined(checks) + "."
    )
    return Claim("items-per-order", text)


def finance_matches_orders(f: Found) -> Claim:
    differ, n = f["days_finance_differs_from_orders"], f["finance_days"]
    if not differ:
        text = (
            f"Finance's ledger agrees with the sum of order amounts on all {count(n, 'day')}, to "
            f"the cent: {money(f['finance_total_revenue'])} in total."
        )
    else:
        text = (
            f"Finance's ledger differs from the sum of order amounts on {differ:,} of "
            f"{count(n, 'day')}: {money(f['finance_total_revenue'])} against "
            f"{money(f['orders_total_amount'])}."
        )
    return Claim("finance-matches-orders", text)


def in_short_01(f: Found) -> Claim:
    held = (
        f["raw_orders_rows"] == f["raw_orders_distinct_order_ids"]
        and f["raw_order_items_rows"] == f["raw_order_items_distinct_order_item_ids"]
        and f["finance_days"] == f["finance_distinct_days"]
    )
    text = (
        "**In short.** "
        + (
            "Each raw table is at its grain: one row per order, one row per line item, one row "
            "per finance day. "
            if held
            else "Not every raw table is at its grain (see section 1). "
        )
        + f"Orders have {f['mean_items_per_order']:.2f} line items on average and "
        f"{f['revenue_weighted_items_per_order']:.2f} weighted by revenue: the factor by which "
        "any model that repeats an order's amount per line item will overstate revenue. "
        + (
            "The finance ledger matches the orders to the cent."
            if not f["days_finance_differs_from_orders"]
            else f"The finance ledger differs from the orders on "
            f"{count(f['days_finance_differs_from_orders'], 'day')}."
        )
    )
    return Claim("in-short", text)
