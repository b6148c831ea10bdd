"""Words for notebook 05, the row-count trends: the build history, rows per key, runtimes."""

from __future__ import annotations

from fanout.incident.recorded import Claim
from fanout.incident.story.words import Found, count, money, times, when

__all__ = ["derivation", "history_shape", "in_short_05", "row_counts", "runtime"]


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
