"""Words for notebook 02, the reproduction: CI, the inflated revenue, the grain change, the
factor explained, the slower query."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from fanout.incident.recorded import Claim
from fanout.incident.story.words import Found, count, money, relative, times, weighting

__all__ = [
    "bench_sentence",
    "ci_passed",
    "factor_explained",
    "grain_change",
    "in_short_02",
    "reproduced",
    "slower_query",
]


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
        f"{weighted:.4f}, {weighting(mean, weighted)}; the dashboard is inflated by the "
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
