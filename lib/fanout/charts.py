"""The workbook's charts: matplotlib figures with titles, labelled axes and units.

Each function takes small, already aggregated data (lists or a pandas frame of a few
hundred rows at most) and returns a Figure; notebooks display it, the report embeds it.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

__all__ = ["daily_orders_and_revenue", "items_per_order", "money_axis"]

COLORS = {"orders": "#4C72B0", "finance": "#55A868", "dashboard": "#C44E52", "muted": "#8C8C8C"}


def money_axis(ax, axis: str = "y") -> None:
    """Format an axis as currency units with thousands separators."""
    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _figure(rows: int = 1, height: float = 3.6) -> tuple[Figure, Sequence]:
    fig, axes = plt.subplots(
        rows, 1, figsize=(10, height * rows), sharex=rows > 1, layout="constrained"
    )
    return fig, (axes if rows > 1 else [axes])


def daily_orders_and_revenue(dates, orders, revenue) -> Figure:
    """Orders per day (top) and the finance system's revenue per day (bottom)."""
    fig, (top, bottom) = _figure(2, 2.8)
    top.bar(dates, orders, color=COLORS["orders"], width=0.8)
    top.set_title("Orders per day (raw_orders)")
    top.set_ylabel("orders")
    bottom.plot(dates, [float(r) for r in revenue], color=COLORS["finance"], marker=".")
    bottom.set_title("Revenue per day, as the finance system books it (finance_daily_revenue)")
    bottom.set_ylabel("revenue (currency units)")
    bottom.set_xlabel("order date")
    money_axis(bottom)
    _date_axis(bottom)
    for ax in (top, bottom):
        ax.grid(axis="y", alpha=0.3)
    return fig


def items_per_order(items: Sequence[int], orders: Sequence[int], revenue_share=None) -> Figure:
    """How many orders have 1, 2, 3, ... line items; optionally each group's revenue share."""
    fig, (ax,) = _figure(1, 3.4)
    ax.bar(items, orders, color=COLORS["orders"], label="orders")
    ax.set_title("Line items per order (raw_order_items grouped by order_id)")
    ax.set_xlabel("line items in the order")
    ax.set_ylabel("orders")
    ax.set_xticks(list(items))
    ax.grid(axis="y", alpha=0.3)
    if revenue_share is not None:
        share = ax.twinx()
        share.plot(
            items,
            [100 * float(s) for s in revenue_share],
            color=COLORS["dashboard"],
            marker="o",
            label="share of revenue",
        )
        share.set_ylabel("share of revenue (%)")
        share.set_ylim(0, None)
        handles = ax.get_legend_handles_labels()[0] + share.get_legend_handles_labels()[0]
        ax.legend(handles, ["orders", "share of revenue"], loc="upper right")
    return fig
