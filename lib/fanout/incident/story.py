"""Words computed from figures: every number and every comparison a notebook or the report
states comes from here, from this run's findings, so that it holds at any parameters.

Each claim function takes the figures as recorded (`fanout.incident.notebook.record` returns
them, and `fanout.incident.report.findings` reads them back) and returns a `Claim`: Markdown
that notebooks display and the tests check against the figures. The formatting helpers are the
one place that decides how money, ratios and durations read.

>>> money("1147498.87")
'1,147,498.87 USD'
>>> relative(3.1206, "finance's figure")
"3.12 times finance's figure"
>>> relative(1.37, "finance's figure")
"37% above finance's figure"
>>> duration(4015)
'2 days 18 h 55 min'
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from fanout.incident.notebook import Claim

__all__ = [
    "CURRENCY",
    "Claim",
    "count",
    "duration",
    "money",
    "relative",
    "show",
    "when",
]

# The shop books in US dollars, as the postmortem's "$X". Notebook outputs write the code
# (a "$" there would be read as the start of a formula by JupyterLab and MathJax); the
# report's own pages use the sign.
CURRENCY = "USD"

Found = Mapping[str, Any]
FINANCE_FIGURE = "finance's figure"


# ---------------------------------------------------------------- formatting


def _money(value: Any, *, sign: bool = False) -> str:
    """An amount with two decimals and its unit.

    >>> money("-12.5"), money(Decimal("0.00")), money(367717.9, sign=True)
    ('-12.50 USD', '0.00 USD', '$367,717.90')
    """
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    text = f"{abs(amount):,.2f}"
    minus = "-" if amount < 0 else ""
    return f"{minus}${text}" if sign else f"{minus}{text} {CURRENCY}"


money = _money


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and its noun, in the singular or the plural.

    >>> count(1, "day"), count(90, "day"), count(3243, "order_id", "order_ids")
    ('1 day', '90 days', '3,243 order_ids')
    """
    word = noun if n == 1 else (plural or f"{noun}s")
    return f"{n:,} {word}"


def times(ratio: float) -> str:
    """A ratio as a factor.

    >>> times(3.1206), times(1)
    ('3.12x', '1.00x')
    """
    return f"{float(ratio):.2f}x"


def relative(ratio: float, other: str) -> str:
    """How a figure compares with `other`, given figure / other.

    >>> relative(1.0, "finance"), relative(0.6, "finance"), relative(1.004, "finance")
    ('equal to finance', '40% below finance', '0.4% above finance')
    """
    ratio = float(ratio)
    if math.isclose(ratio, 1.0, abs_tol=1e-9):
        return f"equal to {other}"
    if ratio >= 1.995:
        return f"{ratio:.2f} times {other}"
    pct = abs(ratio - 1) * 100
    amount = f"{pct:.0f}%" if pct >= 1 else f"{pct:.1f}%"
    return f"{amount} {'above' if ratio > 1 else 'below'} {other}"


def duration(minutes: int) -> str:
    """A span of minutes as a reader says it.

    >>> duration(95), duration(120), duration(4320)
    ('95 min', '2 h 00 min', '3 days')
    """
    minutes = int(minutes)
    if abs(minutes) < 120:
        return f"{minutes} min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if not days:
        return f"{hours} h {mins:02d} min"
    parts = [count(days, "day")]
    if hours or mins:
        parts.append(f"{hours} h")
    if mins:
        parts.append(f"{mins} min")
    return " ".join(parts)


def when(value: Any) -> str:
    """A recorded time as a reader reads it (seconds only when there are some).

    >>> when("2026-10-28T14:05:00"), when("2026-10-27")
    ('2026-10-28 14:05', '2026-10-27')
    """
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M" + (":%S" if value.second else ""))
    return value.isoformat()


def _guess(value: Any) -> str:
    from fanout.incident.notebook import kind

    if isinstance(value, str):
        try:
            when(value)
        except ValueError:
            return "text"
        return "time"
    return kind(value)


def show(value: Any, kind: str | None = None) -> str:
    """A recorded figure formatted for a reader, by its kind (see `fanout.incident.notebook.kind`).

    >>> show("779780.97", "money"), show(4157, "count"), show(True, "flag"), show(None)
    ('779,780.97 USD', '4,157', 'yes', 'none')
    >>> show({"baseline": 0, "fix": 2}, "mapping"), show([], "list")
    ('baseline: 0; fix: 2', 'none')
    """
    kind = kind or _guess(value)
    if value is None or kind == "none":
        return "none"
    if kind == "money":
        return money(value)
    if kind == "flag":
        return "yes" if value else "no"
    if kind in ("count", "number"):
        return f"{value:,}"
    if kind == "time":
        return when(value)
    if kind == "mapping":
        return "; ".join(f"{k}: {show(v)}" for k, v in value.items()) or "none"
    if kind == "list":
        items = [" / ".join(show(v) for v in x) if isinstance(x, list) else show(x) for x in value]
        return ", ".join(items) or "none"
    return str(value)


def _join(items: Sequence[str]) -> str:
    """
    >>> _join(["a"]), _join(["a", "b"]), _join(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')
    """
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _all_of(part: int, whole: int, noun: str, plural: str | None = None) -> str:
    """
    >>> _all_of(2, 2, "test"), _all_of(1, 1, "test"), _all_of(5, 5, "test"), _all_of(1, 3, "test")
    ('Both tests', 'The test', 'All 5 tests', '1 of the 3 tests')
    """
    many = plural or f"{noun}s"
    if part == whole:
        return {1: f"The {noun}", 2: f"Both {many}"}.get(whole, f"All {whole:,} {many}")
    return f"{part:,} of the {count(whole, noun, plural)}"


def _the(names: Sequence[str]) -> str:
    """
    >>> _the(["grain test", "lint"])
    'the grain test and the lint'
    """
    return _join([f"the {n}" for n in names])


def _code(names: Sequence[str]) -> str:
    return _join([f"`{n}`" for n in names])


# ---------------------------------------------------------------- 01 · the raw data


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


def _weighting(mean: float, weighted: float) -> str:
    if math.isclose(weighted, mean, abs_tol=5e-5):
        return "the same as the plain mean"
    if weighted > mean:
        return "more than the plain mean, because orders with more items have larger amounts"
    return "less than the plain mean: here orders with more items have smaller amounts"


def items_per_order(f: Found) -> Claim:
    """The plain and the revenue-weighted mean number of line items per order."""
    mean, weighted = f["mean_items_per_order"], f["revenue_weighted_items_per_order"]
    multi = f["multi_item_orders"]
    text = (
        f"Orders have {mean:.2f} line items on average; weighted by revenue, {weighted:.2f}: "
        f"{_weighting(mean, weighted)}. {count(multi, 'order')} of {f['raw_orders_rows']:,} "
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
        else " The data has " + _join(checks) + "."
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


# ---------------------------------------------------------------- 02 · the reproduction


def ci_passed(f: Found) -> Claim:
    tests, on_models = f["enrichment_tests"], f["enrichment_tests_on_models"]
    if not f["enrichment_dbt_build_passed"]:
        return Claim("ci", "The enrichment's `dbt build` fails here: see the table above.")
    if on_models:
        text = (
            f"The enrichment's `dbt build` passes its {count(tests, 'test')}, "
            f"{on_models:,} of them on models."
        )
    else:
        text = (
            f"Both builds pass. All {count(tests, 'test')} of the enrichment test the sources "
            "(unique and not-null keys of `raw_orders` and `raw_order_items`); none tests a "
            "model, so nothing checks that `stg_orders` is still one row per order. That is "
            "why the PR passed CI."
        )
    return Claim("ci", text)


def reproduced(f: Found) -> Claim:
    ratio, days, over = f["inflation_ratio"], f["days"], f["days_overstated"]
    text = (
        f"Built on the whole dataset, the enrichment's revenue mart totals "
        f"{money(f['dashboard_total'])} against finance's {money(f['finance_total'])}: "
        f"{relative(ratio, 'finance')} ({ratio:.3f}x), overstated by "
        f"{money(f['overstatement'])}. "
    )
    if over == days:
        text += f"Every one of the {count(days, 'day')} is overstated"
    elif over:
        text += f"{over:,} of the {count(days, 'day')} are overstated"
    else:
        text += f"None of the {count(days, 'day')} is overstated"
    low, high = f["lowest_daily_ratio"], f["highest_daily_ratio"]
    if over and not math.isclose(low, high):
        text += (
            f", by a factor that varies from {times(low)} to {times(high)} from day to day: the "
            "dashboard is not off by a constant, the factor depends on which orders were placed "
            "that day."
        )
    else:
        text += "."
    return Claim("reproduced", text)


def grain_change(f: Found) -> Claim:
    rows, orders, items = f["stg_orders_rows"], f["stg_orders_distinct_orders"], None
    items = f["raw_order_items_rows"]
    if rows == orders:
        return Claim(
            "grain-change",
            f"In the enrichment, `stg_orders` still has one row per order ({rows:,}): no order "
            "has more than one line item in this dataset, so the join repeats nothing.",
        )
    same = "exactly as many as" if rows == items else f"against {items:,} line items in"
    return Claim(
        "grain-change",
        f"In the enrichment, `stg_orders` has {rows:,} rows for {orders:,} orders "
        f"({rows / orders:.2f} rows per order), {same} `raw_order_items`: one row per line "
        f"item instead of one per order (the baseline has {f['baseline_stg_orders_rows']:,}). "
        f"The order with the most rows has {f['most_rows_for_one_order']}, and its `amount` "
        "is repeated on every one of them.",
    )


def factor_explained(f: Found) -> Claim:
    mean, weighted = f["mean_items_per_order"], f["revenue_weighted_items_per_order"]
    held = f["inflation_is_weighted_items"]
    text = (
        (
            "The identity holds to the cent: the dashboard's total equals the sum of "
            "n times amount over the orders, and finance's the sum of the amounts. "
        )
        if held
        else "The identity does not hold here: see the table above. "
    )
    text += (
        f"The plain mean is {mean:.4f} line items per order, the revenue-weighted mean "
        f"{weighted:.4f}, {_weighting(mean, weighted)}; the dashboard is inflated by the "
        f"weighted one, {weighted:.4f} times, exactly the ratio measured in section 1."
    )
    return Claim("factor", text)


def bench_sentence(ratios: Mapping[str, Sequence[float]]) -> str:
    """What `make bench` measured of the two builds at scale (bench/results/builds.csv)."""
    parts = []
    for case in sorted(ratios, key=lambda c: float(c.rstrip("m")) if c[:-1].isdigit() else 0):
        median, low, high, n = ratios[case]
        scale = case.upper().replace("M", "M orders")
        if low > 1:
            parts.append(
                f"at {scale} the enrichment's dbt build took {times(median)} the baseline's "
                f"(slower in each of {n} runs: {times(low)} to {times(high)})"
            )
        else:
            parts.append(
                f"at {scale} its runs ranged from {times(low)} to {times(high)} the baseline's, "
                "within noise"
            )
    if not parts:
        return ""
    return " At scale, `make bench` measured whole builds: " + "; ".join(parts) + "."


def slower_query(f: Found) -> Claim:
    rows = f["mart_rows_ratio"]
    text = (
        f"**Rows read:** the revenue mart reads {rows:.2f} times as many rows from `stg_orders` "
        f"as before the PR ({f['stg_orders_rows']:,} instead of "
        f"{f['baseline_stg_orders_rows']:,}). That is certain, and it is the cause.\n\n"
    )
    ratio, low, high = f["query_time_ratio"], f["query_time_ratio_low"], f["query_time_ratio_high"]
    verdict = f["query_time_verdict"]
    measured = (
        f"**Runtime:** over {f['query_runs']} alternating runs the mart's query took "
        f"{times(ratio)} the baseline's time (95% interval {times(low)} to {times(high)}): "
    )
    if verdict == "slower":
        measured += "slower, beyond the noise of this machine."
    elif verdict == "faster":
        measured += "faster here, beyond the noise; the runtime is not what showed the bug."
    else:
        measured += (
            "within the noise. At this size the runtime does not show the bug, and no ratio "
            "inside its noise is a finding."
        )
    return Claim("slower-query", text + measured + bench_sentence(f.get("bench_build_ratios", {})))


def in_short_02(f: Found) -> Claim:
    ratio = f["inflation_ratio"]
    text = "**In short.** The enrichment revision's `dbt build` passes, yet "
    if f["stg_orders_rows"] > f["stg_orders_distinct_orders"]:
        text += (
            "`stg_orders` has one row per line item instead of one per order, and the revenue "
            f"dashboard shows {relative(ratio, 'finance')} over the whole dataset "
            f"({money(f['overstatement'])} too much). "
        )
    else:
        text += "in this dataset no order has several line items, so nothing is inflated. "
    text += (
        f"The factor is the revenue-weighted mean number of line items per order, "
        f"{f['revenue_weighted_items_per_order']:.4f}"
        + (", to the cent. " if f["inflation_is_weighted_items"] else ". ")
        + f"The mart reads {f['mart_rows_ratio']:.2f} times the rows; its runtime here is "
        + {
            "slower": f"slower ({times(f['query_time_ratio'])}).",
            "faster": "not slower: the row count is the signal.",
            "within noise": "within the noise: the row count is the signal.",
        }[f["query_time_verdict"]]
    )
    return Claim("in-short", text)


# ---------------------------------------------------------------- 03 · the timeline


def _after_deploy(minutes: int) -> str:
    return f"{duration(minutes)} after the PR's deploy"


def measures(f: Found) -> Claim:
    """The postmortem's measures at these parameters, beside its own words."""
    rows = [
        (
            "Time to detect",
            "~2 hours",
            f"{duration(f['time_to_detect_minutes'])}: from PR #482's deploy to T+0, finance "
            "noticing",
        ),
        (
            "Time to root cause",
            "T+0 to T+80",
            f"{duration(f['time_to_root_cause_minutes'])}: from T+0 to the root cause confirmed",
        ),
        (
            "Time to fix",
            "~30 min once root cause identified",
            f"{duration(f['time_to_fix_minutes'])}: from the root cause confirmed (T+80) to "
            f"verification ({f['verified_label']}); the fix deployed at "
            f"{f['fix_deployed_label']}, {duration(f['root_cause_to_fix_deploy_minutes'])} "
            "after the root cause",
        ),
        (
            "The whole incident",
            "",
            f"{duration(f['incident_minutes'])}: from the PR's deploy to verification",
        ),
    ]
    table = "| measure | the postmortem | at these parameters |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows
    )
    return Claim("measures", table)


def pr_deploy(f: Found) -> Claim:
    state = "passed" if f["pr_ci_passed"] else "failed"
    return Claim(
        "pr-deploy",
        f"PR #482's CI ran `dbt build` over {count(f['pr_ci_models'], 'model')} and "
        f"{count(f['pr_ci_tests'], 'test')}: it {state}. It was deployed at "
        f"{when(f['pr_deployed_at'])}, {duration(f['time_to_detect_minutes'])} before finance "
        "noticed.",
    )


def detection(f: Found) -> Claim:
    ratio = f["dashboard_ratio_at_detection"]
    return Claim(
        "detection",
        f"At T+0 ({when(f['detected_at'])}) the dashboard came from the "
        f"{f['revision_at_detection']} build of {when(f['last_build_before_detection'])}. For "
        f"{when(f['detection_day'])} it showed {money(f['dashboard_at_detection'])}; finance "
        f"booked {money(f['finance_at_detection'])}: the dashboard at "
        f"{relative(ratio, FINANCE_FIGURE)}. The postmortem's \\$X against \\$X/3 reads here "
        f"{money(f['dashboard_at_detection'])} against {money(f['finance_at_detection'])}.",
    )


def ping(f: Found) -> Claim:
    n, over = f["days_shown_at_ping"], f["days_overstated_at_ping"]
    ratio = _ratio(f["dashboard_total_at_ping"], f["finance_total_at_ping"])
    text = (
        f"At T+15 the dashboard ({f['revision_at_ping']} build of {when(f['build_at_ping'])}) "
        f"showed {money(f['dashboard_total_at_ping'])} over its {count(n, 'complete day')}, "
        f"against finance's {money(f['finance_total_at_ping'])} for the same days: "
        f"{relative(ratio, 'finance')}. "
    )
    if n and over == n:
        text += (
            f"All {count(n, 'day')} are overstated, not only those after the PR: the build "
            "recomputed every day from the fanned-out `stg_orders`."
        )
    else:
        text += f"{over:,} of the {count(n, 'day')} are overstated."
    return Claim("ping", text)


def _minus(a: Any, b: Any) -> Decimal:
    return Decimal(str(a)) - Decimal(str(b))


def _ratio(a: Any, b: Any) -> float:
    b = Decimal(str(b))
    return float(Decimal(str(a)) / b) if b else math.nan


def recent_deploys(f: Found) -> Claim:
    n, minutes = f["deploys_in_day_before_detection"], f["last_deploy_minutes_before_detection"]
    last = f"PR #{f['last_deploy_before_detection']}"
    if n:
        text = (
            f"{count(n, 'deploy')} in the 24 hours before T+0; the last, {last}, "
            f"{duration(minutes)} before. A first look at the day's deploys finds it."
        )
    else:
        text = (
            f"No deploy in the 24 hours before T+0: the last one, {last}, came "
            f"{duration(minutes)} before. A look at the last day's deploys alone would miss it."
        )
    return Claim("recent-deploys", text)


def lineage(f: Found) -> Claim:
    return Claim(
        "lineage",
        f"`stg_orders` feeds {count(f['marts_affected'], 'mart')} ({_code(f['marts'])}) and "
        f"{count(f['dashboards_affected'], 'dashboard')} ({_code(f['dashboards'])}): the "
        "revenue dashboard's numbers lead back to the model the PR changed.",
    )


def root_cause(f: Found) -> Claim:
    rows, orders = f["grain_query_rows"], f["grain_query_orders"]
    if rows > orders:
        text = (
            f"{rows:,} rows for {orders:,} orders: {rows / orders:.2f} rows per order. "
            "`stg_orders` is no longer one row per order; the join in the staging model fans "
            "out on line items. Root cause confirmed."
        )
    else:
        text = (
            f"{rows:,} rows for {orders:,} orders: one row per order. In this dataset no order "
            "has several line items, so the join fans nothing out."
        )
    return Claim("root-cause", text)


def verification(f: Found) -> Claim:
    wrong, n = f["verification_days_disagreeing"], f["verification_days"]
    grain_ok = f["verification_stg_orders_rows"] == f["verification_stg_orders_orders"]
    text = (
        f"On the {f['revision_at_verification']} build, "
        + (
            f"all {count(n, 'day')} the dashboard shows equal the truth, to the cent"
            if not wrong
            else f"{wrong:,} of {count(n, 'day')} still differ from the truth"
        )
        + f"; `stg_orders` has {f['verification_stg_orders_rows']:,} rows for "
        f"{f['verification_stg_orders_orders']:,} orders"
        + (" (one per order)." if grain_ok else ".")
        + (
            " The verification queries pass."
            if not wrong and grain_ok and f["fix_reconciles_every_day"]
            else " The verification fails."
        )
    )
    return Claim("verification", text)


def timeline_steps(f: Found, *, sign: bool = False) -> list[tuple[str, str, str, str]]:
    """The postmortem's seven steps with what the workbook found at each:
    (T, time, the postmortem's words, the evidence); `sign` writes money with "$"."""

    def money(value: Any) -> str:
        return _money(value, sign=sign)

    ratio = f["dashboard_ratio_at_detection"]
    ping_ratio = _ratio(f["dashboard_total_at_ping"], f["finance_total_at_ping"])
    rows, orders = f["grain_query_rows"], f["grain_query_orders"]
    evidence = [
        f"dashboard {money(f['dashboard_at_detection'])} for {when(f['detection_day'])}, "
        f"finance {money(f['finance_at_detection'])}: {times(ratio)}",
        f"dashboard {money(f['dashboard_total_at_ping'])} over {f['days_shown_at_ping']:,} "
        f"days, finance {money(f['finance_total_at_ping'])}: {times(ping_ratio)}",
        f"last deploy before T+0: PR #{f['last_deploy_before_detection']}, "
        f"{duration(f['last_deploy_minutes_before_detection'])} before; "
        f"{count(f['deploys_in_day_before_detection'], 'deploy')} in the 24 h before",
        f"PR #482's diff joins `raw_order_items` in `stg_orders`, which feeds "
        f"{count(f['marts_affected'], 'mart')} and {count(f['dashboards_affected'], 'dashboard')}",
        f"grain query: {rows:,} rows for {orders:,} orders ({rows / orders:.2f} per order)",
        f"PR #483 deployed at {when(f['fix_deployed_at'])}, "
        f"{duration(f['root_cause_to_fix_deploy_minutes'])} after the root cause",
        f"{f['verification_days_disagreeing']:,} of {count(f['verification_days'], 'day')} "
        f"differ from the truth; `stg_orders` {f['verification_stg_orders_rows']:,} rows for "
        f"{f['verification_stg_orders_orders']:,} orders",
    ]
    return [
        (label, when(at), event, found)
        for (label, at, _actor, event), found in zip(f["timeline"], evidence, strict=True)
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("$", "\\$")


def timeline_evidence(f: Found) -> Claim:
    table = "| T | at | the postmortem | what the workbook finds |\n|---|---|---|---|\n"
    table += "\n".join(
        f"| {label} | {at} | {_cell(event)} | {_cell(found)} |"
        for label, at, event, found in timeline_steps(f)
    )
    return Claim("timeline-evidence", table)


def in_short_03(f: Found) -> Claim:
    detect = f["time_to_detect_minutes"]
    replay = (
        "Finance noticed {d} after the deploy, the team needed {r} from the symptom, through "
        "the recent deploys and the lineage, to the grain query that named the cause, and the "
        "fix was verified {x} after that ({y} after the fix's deploy)."
    ).format(
        d=duration(detect),
        r=duration(f["time_to_root_cause_minutes"]),
        x=duration(f["time_to_fix_minutes"]),
        y=duration(f["time_to_fix_minutes"] - f["root_cause_to_fix_deploy_minutes"]),
    )
    return Claim(
        "in-short",
        f"**In short.** {replay} Every one of those steps is a query that a tool runs in "
        "seconds: notebook 06 shows which guard would have caught the bug, and when.",
    )


# ---------------------------------------------------------------- 04 · the fix


def fix_tests(f: Found) -> Claim:
    total, passed = f["dbt_tests_total"], f["dbt_tests_passed"]
    grains, grains_ok = f["grain_tests_total"], f["grain_tests_passed"]
    text = (
        f"{_all_of(passed, total, 'test')} {'pass' if passed != 1 else 'passes'} on the fix's "
        f"build, {_all_of(grains_ok, grains, 'grain test').lower()} among them."
    )
    return Claim("fix-tests", text)


def grain_tests_on_pr(f: Found) -> Claim:
    n, failing, rows = (
        f["grain_tests_on_enrichment"],
        f["grain_tests_failing_on_enrichment"],
        f["grain_test_failing_rows_on_enrichment"],
    )
    if failing:
        text = (
            f"{_all_of(failing, n, 'grain test')} on `stg_orders` "
            f"{'fails' if failing == 1 else 'fail'} on the "
            f"enrichment's tables ({count(rows, 'failing row')}): the test that was missing "
            "would have stopped the PR."
        )
    else:
        text = (
            f"None of the {count(n, 'grain test')} on `stg_orders` fails on the enrichment's "
            "tables: in this dataset no order has several line items, so there is nothing to "
            "catch."
        )
    return Claim("grain-tests-on-pr", text)


def reconciled(f: Found) -> Claim:
    n, wrong = f["days_reconciled"], f["days_disagreeing"]
    if not wrong:
        text = (
            f"All {count(n, 'day')} agree with finance to the cent (largest difference "
            f"{money(f['max_daily_difference'])}): {money(f['revenue_after_fix'])} in both."
        )
    else:
        text = (
            f"{wrong:,} of {count(n, 'day')} disagree with finance (largest difference "
            f"{money(f['max_daily_difference'])})."
        )
    return Claim("reconciled", text)


def items_add_up(f: Found) -> Claim:
    rows, orders = f["fct_orders_rows"], f["fct_orders_distinct_orders"]
    bad, empty = f["fct_orders_items_total_mismatches"], f["fct_orders_without_items"]
    text = f"`fct_orders` has {rows:,} rows for {orders:,} orders" + (
        " (one per order); " if rows == orders else "; "
    )
    text += (
        "every order's line items add up to its amount"
        if not bad
        else f"{count(bad, 'order')} whose line items do not add up to its amount"
    )
    text += "." if not empty else f", and {count(empty, 'order')} without items."
    return Claim("items-add-up", text)


def healed(f: Found) -> Claim:
    same_file, same_sql = (
        f["fct_revenue_daily_file_identical"],
        f["fct_revenue_daily_sql_identical"],
    )
    if same_file and same_sql:
        text = (
            "The file is byte-identical in the two revisions, and so is the SQL dbt compiled "
            "from it: `fct_revenue_daily` healed because its input, `stg_orders`, went back to "
            "one row per order."
        )
    else:
        text = "The revenue mart's SQL differs between the two revisions."
    return Claim("healed", text)


def restatement_days(f: Found) -> Claim:
    n, restated = f["days_shown_during_incident"], f["restated_days"]
    shown, true = f["shown_total_during_incident"], f["true_total_during_incident"]
    ratio = _ratio(shown, true)
    text = (
        f"The last build before the fix ({when(f['last_incident_build'])}) showed "
        f"{count(n, 'day')} of revenue: {money(shown)} in total, against {money(true)} for "
        f"the same orders ({relative(ratio, 'the truth')}). "
    )
    if restated:
        text += (
            f"{restated:,} of the {count(n, 'day')} must be restated, by "
            f"{money(Decimal(str(shown)) - Decimal(str(true)))} in all. "
        )
    else:
        text += "No day needs restating. "
    text += (
        "For every complete day the true figure is finance's own."
        if f["true_equals_finance_on_complete_days"]
        else "On some complete days the true figure differs from finance's books."
    )
    return Claim("restatement-days", text)


def restatement_dashboards(f: Found) -> Claim:
    rows = []
    for dashboard, figure, unit, shown, true in f["restatement_dashboards"]:
        show_value = money if unit == "currency" else (lambda v: f"{float(v):,.0f}")
        ratio = _ratio(shown, true)
        rows.append(
            f"| {dashboard} | {figure} | {show_value(shown)} | {show_value(true)} | "
            f"{relative(ratio, 'the truth') if not math.isnan(ratio) else 'no figure'} |"
        )
    table = (
        "| dashboard | figure | shown before the fix | true | shown |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
    )
    wrong = [r for r in f["restatement_dashboards"] if _ratio(r[3], r[4]) != 1]
    after = (
        "After the fix, every figure equals the truth."
        if f["dashboard_figures_now_true"]
        else "After the fix, some figures still differ from the truth."
    )
    lead = (
        f"{len(wrong):,} of the {count(len(f['restatement_dashboards']), 'figure')} on the "
        "dashboards were wrong while the PR was live. "
        if wrong
        else "No dashboard figure was wrong while the PR was live. "
    )
    return Claim("restatement-dashboards", f"{lead}{after}\n\n{table}")


def in_short_04(f: Found) -> Claim:
    parts = [fix_tests(f).text.rstrip(".")]
    parts.append(
        "its grain tests fail on the PR's tables "
        f"({count(f['grain_test_failing_rows_on_enrichment'], 'row')})"
        if f["grain_tests_failing_on_enrichment"]
        else "its grain tests find nothing on the PR's tables in this dataset"
    )
    parts.append(
        "the revenue mart reconciles with finance on every day, to the cent"
        if not f["days_disagreeing"]
        else f"the revenue mart disagrees with finance on {count(f['days_disagreeing'], 'day')}"
    )
    if not f["fct_orders_items_total_mismatches"]:
        parts.append("every order's items add up to its amount")
    if f["fct_revenue_daily_file_identical"] and f["fct_revenue_daily_sql_identical"]:
        parts.append("and the revenue mart healed with its SQL unchanged")
    restated = f["restated_days"]
    tail = (
        f" Finance's restatement: {count(restated, 'day')}, "
        f"{money(_minus(f['shown_total_during_incident'], f['true_total_during_incident']))}"
        " overstated."
        if restated
        else ""
    )
    return Claim("in-short", "**In short.** " + "; ".join(parts) + "." + tail)


# ---------------------------------------------------------------- 05 · row-count trends


def _while_live(builds: int) -> str:
    if builds == 1:
        return ", the only build the PR ran"
    return f", and stays above 1.0 for all {builds:,} builds the PR ran"


def history_shape(f: Found) -> Claim:
    n, inflated = f["history_builds"], f["inflated_builds"]
    first, last = f["first_inflated_build"], f["last_inflated_build"]
    span = (
        f"the build at its deploy ({when(first)}) only"
        if first == last
        else f"from {when(first)} to {when(last)}"
    )
    return Claim(
        "history",
        f"{count(n, 'build')} over {count(f['history_days'], 'day')} of data, from "
        f"{when(f['first_build'])} to {when(f['last_build'])}: {f['scheduled_builds']:,} "
        f"scheduled and {f['deploy_builds']:,} at deploys. The enrichment revision ran "
        f"{count(inflated, 'build')}: {span}.",
    )


def derivation(f: Found) -> Claim:
    ok, revenue_ok = f["derivation_matches_real_build"], f["derived_revenue_matches_real_build"]
    if ok and revenue_ok:
        text = (
            "The derived rows and distinct keys equal those of a real dbt build at the PR's "
            f"deploy for every model, and so does the revenue mart's total "
            f"({money(f['real_build_revenue'])}): the history below is what the builds held."
        )
    else:
        text = (
            "The derivation does not match the real build (see the table): the history below "
            "is not what the builds held."
        )
    return Claim("derivation", text)


def row_counts(f: Found) -> Claim:
    jump, rpk = (
        f["stg_orders_row_jump_at_first_inflated_build"],
        f["stg_orders_rows_per_key_at_first_inflated_build"],
    )
    if rpk > 1:
        text = (
            f"At the PR's deploy build, `stg_orders` jumps from "
            f"{f['stg_orders_rows_before_pr']:,} rows to "
            f"{f['stg_orders_rows_at_first_inflated_build']:,} ({times(jump)}) while its "
            f"distinct `order_id`s stay at {f['stg_orders_keys_at_first_inflated_build']:,}: "
            f"rows per key leaves 1.0 for {rpk:.3f} on the very build that brought the bug"
            f"{_while_live(f['builds_with_rows_per_key_above_1'])}. "
            f"At the fix's deploy it is back to {f['stg_orders_rows_per_key_after_fix']:.1f}. "
        )
    else:
        text = (
            "`stg_orders` keeps one row per key at every build: no order here has several line "
            "items, so the PR repeats nothing. "
        )
    marts = f["marts_rows_per_key_max"]
    text += (
        "The marts never leave 1.0 (they group by their key), which is why a monitor must "
        "watch *rows per key*, not rows alone, and watch the staging layer."
        if marts == 1
        else f"The marts reach {marts:.3f} rows per key."
    )
    return Claim("row-counts", text)


def runtime(f: Found) -> Claim:
    at, low, high = (
        f["query_ms_at_first_inflated_build"],
        f["query_ms_week_before_low"],
        f["query_ms_week_before_high"],
    )
    ratio = f["query_time_ratio_at_first_inflated_build"]
    if at > high:
        verdict = (
            f"above every build of the week before ({low:.2f} to {high:.2f} ms): the runtime "
            "rose too"
        )
    elif at < low:
        verdict = f"below every build of the week before ({low:.2f} to {high:.2f} ms)"
    else:
        verdict = (
            f"inside the range of the week before ({low:.2f} to {high:.2f} ms): nothing in the "
            "runtime would page anyone"
        )
    runs = f["models_seconds"]
    models = "; ".join(
        f"{rev} {median:.2f} s ({lo:.2f} to {hi:.2f})" for rev, (median, lo, hi) in runs.items()
    )
    return Claim(
        "runtime",
        f"At the first build with the PR the revenue query took {at:.2f} ms, {times(ratio)} the "
        f"median of the week before, {verdict}. Rows per key, in section 3, is exact and left "
        f"1.0 on that build. The models' warm run time per revision: {models}.",
    )


def in_short_05(f: Found) -> Claim:
    rpk = f["stg_orders_rows_per_key_at_first_inflated_build"]
    if rpk > 1:
        first = (
            f"Over the whole history, rows per key of `stg_orders` is exactly 1.0 except while "
            f"the enrichment revision ran ({count(f['builds_with_rows_per_key_above_1'], 'build')}"
            f"), where it jumps to {rpk:.3f} on the first. "
        )
    else:
        first = "Rows per key of `stg_orders` stays 1.0 throughout: nothing fanned out. "
    at, high = f["query_ms_at_first_inflated_build"], f["query_ms_week_before_high"]
    second = (
        "The revenue query's runtime rose above the week before's range too, but only rows per "
        "key says why."
        if at > high
        else "The revenue query's runtime stayed within the week before's range."
    )
    third = (
        " A monitor on distinct keys against rows in staging would have caught the bug at the "
        "deploy."
        if rpk > 1
        else ""
    )
    return Claim("in-short", "**In short.** " + first + second + third)


# ---------------------------------------------------------------- 06 · the guards


def grain_checks(f: Found) -> Claim:
    failing = f["grain_checks_failing"]
    if not failing:
        return Claim(
            "grain-checks",
            f"All {count(f['grain_checks'], 'grain check')} hold, in every revision: nothing "
            "fanned out in this dataset.",
        )
    named = _join([f"`{model}` on the {rev} build" for rev, model in failing])
    return Claim(
        "grain-checks",
        f"{len(failing):,} of the {count(f['grain_checks'], 'grain check')} "
        f"{'fails' if len(failing) == 1 else 'fail'}: {named}. Every other model keeps its "
        "grain in every revision.",
    )


def lint(f: Found) -> Claim:
    fanouts, sums = f["predicted_fanouts"], f["sum_over_fanout"]
    staging = f["staging_joins_sources"]
    parts = []
    for rev in f["lint_findings"]:
        said = []
        if staging.get(rev):
            said.append(f"a staging model joining sources ({_code(staging[rev])})")
        if fanouts.get(rev):
            said.append(f"a fan-out in {_code(fanouts[rev])}")
        if sums.get(rev):
            said.append(f"sums over the fanned-out rows in {_code(sums[rev])}")
        found = f["lint_findings"][rev]
        if said:
            parts.append(f"on the {rev} manifest it reports " + _join(said))
        elif found:
            parts.append(
                f"on the {rev} manifest only that models declare no grain "
                f"({count(found, 'finding')})"
            )
        else:
            parts.append(f"the {rev} manifest is clean")
    return Claim(
        "lint", "From the manifests alone, " + "; ".join(parts) + ". No data was read for this."
    )


def blast(f: Found) -> Claim:
    marts = f["blast"]
    said = [
        f"`{mart}` by {money(over)} over {count(days, 'day')}"
        for mart, (over, days) in marts.items()
    ]
    return Claim(
        "blast",
        f"`stg_orders` feeds {_code(f['blast_radius_models'])} and "
        f"{count(len(f['blast_radius_exposures']), 'dashboard')} "
        f"({_code(f['blast_radius_exposures'])}). At the last build before the fix "
        f"({when(f['blast_last_incident_build'])}) the marts overstated: " + _join(said) + ".",
    )


def reconciliation(f: Found) -> Claim:
    days, wrong = f["reconciliation_days"], f["reconciliation_days_disagreeing"]
    parts = [
        f"the {rev} build "
        + ("agrees on all" if not wrong[rev] else f"disagrees on {wrong[rev]:,} of")
        + f" {count(days[rev], 'day')}"
        for rev in days
    ]
    return Claim(
        "reconciliation",
        "Against finance, day by day, each revision built on the whole dataset: "
        + "; ".join(parts)
        + ".",
    )


def anomalies(f: Found) -> Claim:
    flagged = f["anomalies_flagged"]
    pr, fix = f["pr_deployed_at"], f["fix_deployed_at"]
    during = [a for a in flagged if pr <= a < fix]
    normal = [a for a in flagged if not pr <= a < fix]
    if during:
        text = (
            f"It flags the build of {when(during[0])}, with the PR live: "
            f"{f['anomaly_reasons'][flagged.index(during[0])]}"
        )
    else:
        text = (
            "It flags nothing while the PR is live: yesterday's revenue on the dashboard did not "
            "rise to at least double its expected value, 3 standard deviations out, on any build "
            "before the fix"
        )
    text += (
        f"; in the normal history it flags {count(len(normal), 'build')} "
        f"({_join([when(a) for a in normal])})."
        if normal
        else "; nothing in the normal history."
    )
    both = f["anomalies_both_directions"]
    drops = [(at, reason) for at, reason in both if reason.startswith("below")]
    if drops:
        text += (
            f" Watching both directions would also flag {count(len(drops), 'drop')} "
            f"({_join([f'{when(at)}, {reason}' for at, reason in drops])}), a drop no one needs "
            "to be paged for; a flagged point leaves the later training windows, so the "
            "scores of later builds shift a little with the setting. The default watches "
            "spikes of at least double, which is what a fan-out does."
        )
    return Claim("anomalies", text)


def walk(f: Found) -> Claim:
    if not f["root_cause"]:
        return Claim("walk", "The walk finds no model whose grain broke.")
    return Claim(
        "walk",
        f"The walk names `{f['root_cause']}`, introduced by PR #{f['root_cause_pr']}, feeding "
        f"{_code(f['root_cause_feeds'])}, in {f['investigate_seconds']:.2f} s; by hand, the "
        f"team needed {f['minutes_to_root_cause_by_hand']} minutes (T+0 to T+80).",
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def replay(f: Found) -> Claim:
    stages, minutes = f["guards_caught"], f["guard_minutes_after_deploy"]
    finance = "the finance analyst (what happened)"
    ci = [g for g, s in stages.items() if s.startswith("in CI")]
    before = [g for g, s in stages.items() if s == "before finance" and g != finance]
    after = [
        g for g, s in stages.items() if s in ("after finance", "with finance") and g != finance
    ]
    missed = [g for g, s in stages.items() if s.startswith("would not")]
    sentences = []
    if ci:
        sentences.append(f"{_the(ci)} would have stopped the PR before it merged.")
    if before:
        said = _the([f"{g} ({duration(minutes[g])} after the deploy)" for g in before])
        sentences.append(f"{said} would have caught it before finance.")
    if after:
        said = _the([f"{g} ({duration(minutes[g])} after the deploy)" for g in after])
        sentences.append(f"{said} would have caught it only after finance did.")
    if missed:
        sentences.append(f"{_the(missed)} would not have caught it before the fix.")
    sentences.append(f"finance noticed {duration(f['time_to_detect_minutes'])} after the deploy.")
    return Claim("replay", " ".join(_sentence(t) for t in sentences))


def in_short_06(f: Found) -> Claim:
    stages = f["guards_caught"]
    caught_ci = [g for g, s in stages.items() if s.startswith("in CI")]
    early = [g for g, s in stages.items() if s == "before finance"]
    text = "**In short.** Every guard the postmortem asked for exists and runs here. "
    if caught_ci:
        text += _sentence(f"{_the(caught_ci)} would have stopped the PR in CI. ")
    if early:
        text += _sentence(
            f"the {_join(early)} would have caught it after the deploy, before finance. "
        )
    if f["root_cause"]:
        text += (
            f"The root-cause walk names `{f['root_cause']}` and PR #{f['root_cause_pr']} in "
            f"{f['investigate_seconds']:.2f} s. "
        )
    text += "The cheapest of them is a line of YAML per model."
    return Claim("in-short", text)
