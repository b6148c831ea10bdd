"""The incident summary, the timeline, what happened and the root cause: each of the
postmortem's claims there beside its evidence at this run."""

from __future__ import annotations

from collections.abc import Callable

from fanout.incident import story
from fanout.incident.postmortem.evidence import All, Evidence, _f
from fanout.incident.story import count, duration, money, relative, times, when

__all__ = ["HAPPENED", "ROOT_CAUSE", "SUMMARY", "timeline_rows"]


def _symptom(found: All) -> Evidence:
    f3, f2 = _f(found, "03"), _f(found, "02")
    ratio = f3["dashboard_ratio_at_detection"]
    slow = {
        "slower": f"slower ({times(f2['query_time_ratio'])}, beyond its noise)",
        "faster": "not slower at this size",
        "within noise": "within its noise at this size",
    }[f2["query_time_verdict"]]
    return Evidence(
        f"At T+0 the dashboard showed {money(f3['dashboard_at_detection'], sign=True)} for "
        f"{when(f3['detection_day'])} against finance's "
        f"{money(f3['finance_at_detection'], sign=True)}: {relative(ratio, 'finance')}. The "
        f"revenue mart reads {f2['mart_rows_ratio']:.2f} times the rows; its runtime was {slow}.",
        "03",
        "3",
    )


def _root_cause(found: All) -> Evidence:
    f3 = _f(found, "03")
    rows, orders = f3["grain_query_rows"], f3["grain_query_orders"]
    return Evidence(
        f"On PR #482's build `stg_orders` has {rows:,} rows for {orders:,} orders "
        f"({rows / orders:.2f} rows per order).",
        "03",
        "7",
    )


def _impact(found: All) -> Evidence:
    f6 = _f(found, "06")
    marts = "; ".join(
        f"`{mart}` {money(over, sign=True)} too high over {count(days, 'day')}"
        for mart, (over, days) in f6["blast"].items()
    )
    return Evidence(
        f"At the last build before the fix ({when(f6['blast_last_incident_build'])}): {marts}; "
        f"{count(len(f6['blast_radius_exposures']), 'dashboard')} read them "
        f"({story.code_names(f6['blast_radius_exposures'])}).",
        "06",
        "3",
    )


def _detect(found: All) -> Evidence:
    f3 = _f(found, "03")
    return Evidence(
        f"{duration(f3['time_to_detect_minutes'])} from PR #482's deploy "
        f"({when(f3['pr_deployed_at'])}) to T+0 ({when(f3['detected_at'])}).",
        "03",
        "1",
    )


def _fix(found: All) -> Evidence:
    f3 = _f(found, "03")
    return Evidence(
        f"{duration(f3['time_to_fix_minutes'])} from the root cause (T+80) to verification "
        f"({f3['verified_label']}); the fix deployed at {f3['fix_deployed_label']}, "
        f"{duration(f3['root_cause_to_fix_deploy_minutes'])} after the root cause.",
        "03",
        "1",
    )


def _prevented(found: All) -> Evidence:
    f4 = _f(found, "04")
    fails = f4["grain_tests_failing_on_enrichment"]
    return Evidence(
        (
            f"The fix's grain tests fail on PR #482's tables ({fails} of "
            f"{f4['grain_tests_on_enrichment']}, "
            f"{count(f4['grain_test_failing_rows_on_enrichment'], 'failing row')}) "
            if fails
            else "The fix's grain tests find nothing to fail on PR #482's tables in this dataset "
        )
        + f"and pass on the fix ({f4['grain_tests_passed']} of {f4['grain_tests_total']}).",
        "04",
        "1",
    )


SUMMARY: dict[str, Callable[[All], Evidence]] = {
    "Symptom": _symptom,
    "Root cause": _root_cause,
    "Impact": _impact,
    "Time to detect": _detect,
    "Time to fix": _fix,
    "Prevented recurrence?": _prevented,
}


def timeline_rows(found: All) -> list[tuple[str, str, str, Evidence]]:
    """(T, time, the postmortem's event, evidence) for the seven steps."""
    f3 = _f(found, "03")
    return [
        (label, at, event, Evidence(text, "03", str(i + 3)))
        for i, (label, at, event, text) in enumerate(story.timeline_steps(f3, sign=True))
    ]


def _happened_grain(found: All) -> Evidence:
    f2 = _f(found, "02")
    return Evidence(
        f"Before the PR `stg_orders` had {f2['baseline_stg_orders_rows']:,} rows, one per order; "
        f"after it {f2['stg_orders_rows']:,}, one per line item (`raw_order_items` has "
        f"{f2['raw_order_items_rows']:,}).",
        "02",
        "2",
    )


def _happened_sum(found: All) -> Evidence:
    f2 = _f(found, "02")
    return Evidence(
        f"Summing `amount` once per line item multiplies revenue by the revenue-weighted mean "
        f"number of line items, {f2['revenue_weighted_items_per_order']:.4f}: over the whole "
        f"dataset the mart shows {money(f2['dashboard_total'], sign=True)} against "
        f"{money(f2['finance_total'], sign=True)}"
        + (", to the cent." if f2["inflation_is_weighted_items"] else "."),
        "02",
        "3",
    )


def _happened_slower(found: All) -> Evidence:
    f2 = _f(found, "02")
    return Evidence(story.slower_query(f2).text.replace("**", "").replace("\n\n", " "), "02", "4")


HAPPENED: tuple[Callable[[All], Evidence], ...] = (
    _happened_grain,
    _happened_sum,
    _happened_slower,
)


def _root_cause_rule(found: All) -> Evidence:
    f6 = _f(found, "06")
    staging = f6["staging_joins_sources"]
    flagged = staging.get("enrichment", [])
    return Evidence(
        (
            f"From PR #482's manifest alone, `fanout lint` flags {story.code_names(flagged)} "
            "(`staging-joins-sources`: a staging model reading two source tables)"
            if flagged
            else "`fanout lint` finds no staging model joining sources on PR #482's manifest"
        )
        + f"; on the fix's manifest, {count(len(staging.get('fix', [])), 'finding')}.",
        "06",
        "2",
    )


def _root_cause_place(found: All) -> Evidence:
    f4, f6 = _f(found, "04"), _f(found, "06")
    return Evidence(
        f"In the fix, `stg_order_items` has {f6['stg_order_items_rows']:,} rows, one per line "
        f"item; `fct_orders` rolls them up before the join: {f4['fct_orders_rows']:,} rows for "
        f"{f4['fct_orders_distinct_orders']:,} orders, "
        + (
            "each order's items adding up to its amount."
            if not f4["fct_orders_items_total_mismatches"]
            else f"{f4['fct_orders_items_total_mismatches']:,} orders whose items do not add up."
        ),
        "04",
        "3",
    )


ROOT_CAUSE: tuple[Callable[[All], Evidence], ...] = (_root_cause_rule, _root_cause_place)
