"""The workbook's charts: matplotlib figures with titles, labelled axes and units.

Each function takes small, already aggregated data (lists or a pandas frame of a few
hundred rows at most) and returns a Figure; notebooks display it, the report embeds it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from fanout.incident.story import CURRENCY, duration

__all__ = [
    "anomalies",
    "before_and_after",
    "daily_orders_and_revenue",
    "dashboard_vs_finance",
    "detector_replay",
    "grain_comparison",
    "incident_timeline",
    "items_per_order",
    "money_axis",
    "row_count_trends",
]

COLORS = {"orders": "#4C72B0", "finance": "#55A868", "dashboard": "#C44E52", "muted": "#8C8C8C"}


def money_axis(ax, axis: str = "y") -> None:
    """Format an axis as currency units with thousands separators."""
    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _finish(fig: Figure, axes: Sequence, xlabel: str, *, money=(), grid: str = "both") -> Figure:
    """The tail the dated charts share: the x label and the dates on the bottom axes, money
    on the axes in `money`, and a light grid (`grid`: "both", "x" or "y") on every axes."""
    axes[-1].set_xlabel(xlabel)
    for ax in money:
        money_axis(ax)
    _date_axis(axes[-1])
    for ax in axes:
        ax.grid(axis=grid, alpha=0.3)
    return fig


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
    bottom.set_ylabel(f"revenue ({CURRENCY})")
    return _finish(fig, (top, bottom), "order date", money=(bottom,), grid="y")


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


def _floats(values) -> list[float]:
    return [float(v) for v in values]


def dashboard_vs_finance(
    dates,
    dashboard,
    finance,
    ratio: float,
    title: str = "Daily revenue: the dashboard (fct_revenue_daily, enrichment) vs finance",
) -> Figure:
    """Daily revenue on the dashboard vs the finance system (top), and their ratio (bottom)."""
    fig, (top, bottom) = _figure(2, 3.0)
    top.plot(dates, _floats(dashboard), color=COLORS["dashboard"], label="revenue dashboard")
    top.plot(dates, _floats(finance), color=COLORS["finance"], label="finance system")
    top.set_title(title)
    top.set_ylabel(f"revenue ({CURRENCY})")
    money_axis(top)
    top.legend(loc="upper left")
    daily_ratio = [
        d / f if f else float("nan")
        for d, f in zip(_floats(dashboard), _floats(finance), strict=True)
    ]
    bottom.plot(dates, daily_ratio, color=COLORS["dashboard"], marker=".", linestyle="none")
    bottom.axhline(
        ratio, color=COLORS["muted"], linestyle="--", label=f"whole period: {ratio:.3f}x"
    )
    bottom.axhline(1.0, color=COLORS["finance"], linewidth=1, label="no inflation: 1x")
    bottom.set_title("Dashboard / finance, per day")
    bottom.set_ylabel("ratio (x)")
    bottom.set_ylim(0, max([*daily_ratio, ratio]) * 1.15)
    bottom.legend(loc="lower left")
    return _finish(fig, (top, bottom), "revenue date")


def grain_comparison(labels: Sequence[str], rows: Sequence[int], keys: Sequence[int]) -> Figure:
    """Rows vs distinct keys for several relations: equal bars mean the grain holds."""
    fig, (ax,) = _figure(1, 3.2)
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], rows, width=0.4, color=COLORS["dashboard"], label="rows")
    ax.bar([i + 0.2 for i in x], keys, width=0.4, color=COLORS["orders"], label="distinct keys")
    for i, (r, k) in enumerate(zip(rows, keys, strict=True)):
        ax.annotate(
            f"{r / k:.2f} rows per key" if k else "",
            (i, max(r, k)),
            textcoords="offset points",
            xytext=(0, 4),
            ha="center",
            fontsize=9,
        )
    ax.set_xticks(list(x), labels)
    ax.set_ylabel("count")
    ax.set_ylim(0, max(list(rows) + list(keys)) * 1.18)
    ax.set_title("Grain check: rows vs distinct keys")
    ax.legend(loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    return fig


def _duration(delta) -> str:
    return duration(round(delta.total_seconds() / 60))


def _event_color(check: str) -> str:
    if check == "deploy":
        return COLORS["dashboard"]
    if check in ("fix_deploy", "verification"):
        return COLORS["finance"]
    return COLORS["orders"]


def _timeline_panel(ax, marks, spans, start, end, title: str) -> None:
    """`marks` are (time, label, check); `spans` (label, start, end), drawn under them."""
    shown = [m for m in marks if start <= m[0] <= end]
    levels = [1.0, 2.2, 1.6, 2.8]
    for i, (at, label, check) in enumerate(shown):
        level = levels[i % len(levels)]
        ax.vlines(at, 0, level, color=_event_color(check), linewidth=1)
        ax.plot([at], [0], "o", color=_event_color(check))
        ax.annotate(label, (at, level), xytext=(3, 0), textcoords="offset points", fontsize=9,
                    va="center")  # fmt: skip
    for i, (label, a, b) in enumerate(spans):
        y = -0.6 - 0.55 * i
        ax.annotate(
            "", xy=(b, y), xytext=(a, y), arrowprops={"arrowstyle": "<->", "color": COLORS["muted"]}
        )
        ax.text(a, y + 0.12, f"{label}: {_duration(b - a)}", fontsize=9)
    ax.set_ylim(-0.8 - 0.55 * len(spans), 3.4)
    ax.set_yticks([])
    pad = (end - start) * 0.08
    ax.set_xlim(start - pad * 0.3, end + pad * 2.5)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_title(title)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


_SHORT = {
    "dashboard_vs_finance": "finance notices",
    "ping": "analyst pings the team",
    "recent_deploys": "investigation: recent deploys",
    "suspect": "stg_orders suspected",
    "root_cause": "root cause confirmed",
    "fix_deploy": "fix deployed",
    "verification": "verified",
}


def incident_timeline(deploy, events, spans) -> Figure:
    """The incident on a time axis: from the PR's deploy to the verified fix (top), and the
    postmortem's seven steps from T+0 to verification (bottom).

    `deploy` is the PR's `timeline.Deploy`; `events` the `timeline.Event`s; `spans` the
    `timeline.Span`s to draw (each in the panel that holds it; `fanout.incident.timeline`).
    """
    by_check = {e.check: e for e in events}
    detected, verified = by_check["dashboard_vs_finance"].at, by_check["verification"].at
    marks = [(e.at, f"{e.label} {_SHORT.get(e.check, e.check)}", e.check) for e in events]
    pr = (deploy.at, f"PR #{deploy.pr} deployed", "deploy")
    whole = [(s.name.replace("_", " "), s.start, s.end) for s in spans if s.start < detected]
    investigation = [
        (s.name.replace("_", " "), s.start, s.end) for s in spans if s.start >= detected
    ]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.4), layout="constrained")
    _timeline_panel(
        top,
        [pr, *(m for m in marks if m[2] in ("dashboard_vs_finance", "verification"))],
        whole,
        deploy.at,
        verified,
        "The incident: from the PR's deploy to the verified fix",
    )
    _timeline_panel(
        bottom,
        marks,
        investigation,
        detected,
        verified,
        "The postmortem's timeline: from T+0 to verification",
    )
    bottom.set_xlabel("time (local)")
    return fig


def before_and_after(
    dates,
    shown,
    true,
    finance,
    title: str = "Daily revenue as the dashboard showed it, and restated",
) -> Figure:
    """Daily revenue as the dashboard showed it during the incident (top, with the true figure
    and finance's books; a day without a finance figure is left out of that line), and the
    overstatement per day (bottom)."""
    fig, (top, bottom) = _figure(2, 3.0)
    top.plot(dates, _floats(shown), color=COLORS["dashboard"], label="shown on the dashboard")
    top.plot(
        dates,
        _floats(true),
        color=COLORS["orders"],
        linewidth=3,
        alpha=0.6,
        label="true (restated)",
    )
    top.plot(
        dates,
        [math.nan if f is None else float(f) for f in finance],
        color=COLORS["finance"],
        linestyle="--",
        label="finance system",
    )
    top.set_title(title)
    top.set_ylabel(f"revenue ({CURRENCY})")
    money_axis(top)
    top.legend(loc="upper left")
    overstated = [float(s) - float(t) for s, t in zip(shown, true, strict=True)]
    bottom.bar(dates, overstated, color=COLORS["dashboard"], width=0.8)
    bottom.set_title("Overstated by, per day (shown minus true)")
    bottom.set_ylabel(f"{CURRENCY}")
    return _finish(fig, (top, bottom), "revenue date", money=(bottom,))


def row_count_trends(history, deploys, models: Sequence[str], title: str = "every build") -> Figure:
    """Per build: rows and distinct keys of each model, rows per key, and the query duration.

    `history` is a pandas frame with columns built_at, model, rows, distinct_keys,
    query_ms (already cut to the window to show); `deploys` a list of (time, label).
    """
    fig, (top, middle, bottom) = _figure(3, 2.9)
    palette = ["#C44E52", "#4C72B0", "#55A868", "#8172B2", "#CCB974"]
    for color, model in zip(palette, models, strict=False):
        part = history[history["model"] == model]
        if part.empty:
            continue
        top.plot(
            part["built_at"],
            part["rows"],
            color=color,
            marker=".",
            markersize=4,
            label=f"{model} rows",
        )
        top.plot(
            part["built_at"],
            part["distinct_keys"],
            color=color,
            linestyle=":",
            label=f"{model} distinct keys",
        )
        middle.plot(
            part["built_at"],
            part["rows"] / part["distinct_keys"],
            color=color,
            marker=".",
            markersize=4,
            label=model,
        )
    first = history[history["model"] == models[0]]
    bottom.plot(
        first["built_at"],
        first["query_ms"],
        color=COLORS["muted"],
        marker=".",
        markersize=4,
        label="revenue query, median of its runs (ms)",
    )
    if "query_ms_low" in first:
        bottom.fill_between(
            first["built_at"],
            first["query_ms_low"],
            first["query_ms_high"],
            color=COLORS["muted"],
            alpha=0.25,
            label="fastest to slowest run",
        )
    handles = bottom.get_legend_handles_labels()[0]
    if "build_s" in first:
        build = bottom.twinx()
        build.step(
            first["built_at"],
            first["build_s"],
            where="post",
            color=COLORS["orders"],
            alpha=0.7,
            label="the live revision's models, warm run (s)",
        )
        build.set_ylabel("models (s)")
        build.set_ylim(0, None)
        handles += build.get_legend_handles_labels()[0]
    bottom.legend(handles, [h.get_label() for h in handles], loc="lower left", fontsize=7)
    top.set_title(f"Rows (solid) and distinct keys (dotted) per model, {title}")
    top.set_ylabel("rows")
    middle.set_title("Rows per key: 1.0 while the grain holds")
    middle.set_ylabel("rows per key")
    bottom.set_title("Runtime: the revenue query on each build's data, and the models' run time")
    bottom.set_ylabel("milliseconds")
    bottom.set_ylim(0, None)
    start, end = history["built_at"].min(), history["built_at"].max()
    shown = [(at, label) for at, label in deploys if start <= at <= end]
    for ax in (top, middle, bottom):
        for at, _label in shown:
            ax.axvline(at, color=COLORS["dashboard"], linestyle="--", linewidth=1)
    for i, (at, label) in enumerate(shown):
        middle.annotate(
            f"deploy: {label}",
            (at, 1 - 0.1 * i),
            xycoords=("data", "axes fraction"),
            xytext=(-4, -4),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=8,
            color=COLORS["dashboard"],
        )
    top.legend(loc="upper left", fontsize=7, ncols=2)
    middle.legend(loc="center left", fontsize=7)
    return _finish(fig, (top, middle, bottom), "build time")


def detector_replay(
    names: Sequence[str],
    minutes: Sequence[int | None],
    caught: Sequence[bool],
    finance_minutes: int,
) -> Figure:
    """When each guard would have caught the bug, in minutes after the PR's deploy.

    CI guards (minutes None, caught) are drawn left of the deploy: they stop the PR before it.
    """
    fig, (ax,) = _figure(1, 0.55 * len(names) + 1.4)
    span = max([finance_minutes, *[m for m in minutes if m is not None]]) or 60
    ci_x = -0.25 * span
    for y, (_name, m, ok) in enumerate(zip(names, minutes, caught, strict=True)):
        if not ok:
            ax.text(0, y, "  not before the fix", va="center", fontsize=9, color=COLORS["muted"])
            continue
        x = ci_x if m is None else m
        color = COLORS["finance"] if x < finance_minutes else COLORS["dashboard"]
        ax.plot([x], [y], "o", color=color, markersize=9)
        label = "in CI, before the deploy" if m is None else f"{duration(m)} after the deploy"
        ax.annotate(
            label, (x, y), xytext=(8, 0), textcoords="offset points", va="center", fontsize=9
        )
    ax.axvline(0, color=COLORS["dashboard"], linestyle="--", linewidth=1)
    ax.axvline(finance_minutes, color=COLORS["muted"], linestyle=":", linewidth=1)
    ax.annotate(
        "PR deployed",
        (0, 1),
        xycoords=("data", "axes fraction"),
        xytext=(3, -3),
        textcoords="offset points",
        va="top",
        fontsize=8,
        color=COLORS["dashboard"],
    )
    ax.annotate(
        "finance noticed",
        (finance_minutes, 1),
        xycoords=("data", "axes fraction"),
        xytext=(3, -3),
        textcoords="offset points",
        va="top",
        fontsize=8,
    )
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlim(ci_x * 1.6, span * 1.45)
    ax.set_ylim(len(names) - 0.5, -0.9)
    ax.set_xlabel("minutes after the PR's deploy")
    ax.set_title("When each guard would have caught the fan-out")
    ax.grid(axis="x", alpha=0.3)
    return fig


def anomalies(times, values, flagged_at, expected=None, title: str = "") -> Figure:
    """A series with its expected value and the points the detector flagged."""
    fig, (ax,) = _figure(1, 3.2)
    ax.plot(
        times, _floats(values), color=COLORS["orders"], marker=".", markersize=4, label="observed"
    )
    if expected is not None:
        ax.plot(
            times,
            [float("nan") if e is None else e for e in expected],
            color=COLORS["muted"],
            linestyle="--",
            label="expected (training mean)",
        )
    hits = [(t, v) for t, v in zip(times, _floats(values), strict=True) if t in set(flagged_at)]
    if hits:
        ax.plot(
            [h[0] for h in hits],
            [h[1] for h in hits],
            "o",
            color=COLORS["dashboard"],
            markersize=10,
            fillstyle="none",
            markeredgewidth=2,
            label="flagged",
        )
    ax.set_title(title)
    ax.set_ylabel(f"revenue ({CURRENCY})")
    ax.legend(loc="upper left")
    return _finish(fig, (ax,), "build time", money=(ax,))
