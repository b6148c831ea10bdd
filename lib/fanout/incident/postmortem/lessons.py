"""What went well, what could be better, and what an agent could have caught: each bullet
of the postmortem beside its evidence; and the form factor (what stays with people)."""

from __future__ import annotations

from collections.abc import Callable

from fanout.incident import story
from fanout.incident.postmortem.actions import _a_revenue_daily
from fanout.incident.postmortem.evidence import All, Evidence, _caught, _f
from fanout.incident.postmortem.summary import _root_cause_rule
from fanout.incident.story import count, duration, times

__all__ = ["BULLETS", "form_factor"]


def _well_quick(found: All) -> Evidence:
    f3, f6 = _f(found, "03"), _f(found, "06")
    first = min(
        (m for g, m in f6["guard_minutes_after_deploy"].items() if m is not None and
         not g.startswith("the finance")),
        default=None,
    )  # fmt: skip
    said = f"At this run finance noticed {duration(f3['time_to_detect_minutes'])} after the deploy"
    if first is not None:
        said += f"; the fastest monitor in the replay, {duration(first)} after it"
    return Evidence(said + ".", "06", "7")


def _well_lineage(found: All) -> Evidence:
    f3, f6 = _f(found, "03"), _f(found, "06")
    return Evidence(
        f"The manifest leads from `stg_orders` to {story.code_names(f3['marts'])} and "
        f"{count(f3['dashboards_affected'], 'dashboard')}; the root-cause walk names "
        f"`{f6['root_cause']}` and PR #{f6['root_cause_pr']} in {f6['investigate_seconds']:.2f} s.",
        "06",
        "6",
    )


def _well_self_healing(found: All) -> Evidence:
    return _a_revenue_daily(found)


def _better_tested(found: All) -> Evidence:
    f2 = _f(found, "02")
    return Evidence(
        f"PR #482's CI ran {count(f2['enrichment_tests'], 'test')}, "
        f"{f2['enrichment_tests_on_models']} of them on models: no test checked the grain.",
        "02",
        "",
    )


def _better_ci(found: All) -> Evidence:
    f6 = _f(found, "06")
    guard = "grain test in CI"
    return Evidence(
        f"In the replay, the grain test in CI {_caught(f6['guards_caught'][guard])} "
        f"({f6['guard_evidence'][guard]}).",
        "06",
        "7",
    )


def _better_rows(found: All) -> Evidence:
    f2, f5 = _f(found, "02"), _f(found, "05")
    return Evidence(
        f"Rows read by the revenue mart: {times(f2['mart_rows_ratio'])}; its runtime: "
        f"{f2['query_time_verdict']} ({times(f2['query_time_ratio'])}, interval "
        f"{times(f2['query_time_ratio_low'])} to {times(f2['query_time_ratio_high'])}). Rows "
        f"per key of `stg_orders` left 1.0 on the PR's deploy build "
        f"({f5['stg_orders_rows_per_key_at_first_inflated_build']:.3f}).",
        "05",
        "4",
    )


def _agent_grain(found: All) -> Evidence:
    f4 = _f(found, "04")
    return Evidence(
        f"The grain tests run on PR #482's tables: {f4['grain_tests_failing_on_enrichment']} of "
        f"{f4['grain_tests_on_enrichment']} fail "
        f"({count(f4['grain_test_failing_rows_on_enrichment'], 'failing row')}).",
        "04",
        "1",
    )


def _agent_anomaly(found: All) -> Evidence:
    f6 = _f(found, "06")
    stage = f6["guards_caught"]["revenue anomaly detection"]
    return Evidence(
        f"At this run the detector, on yesterday's dashboard revenue after every build, "
        f"{_caught(stage)} ({f6['guard_evidence']['revenue anomaly detection']}).",
        "06",
        "5",
    )


def _agent_lineage(found: All) -> Evidence:
    return _root_cause_rule(found)


def _agent_blast(found: All) -> Evidence:
    f6 = _f(found, "06")
    return Evidence(
        f"`stg_orders` feeds {count(len(f6['blast_radius_models']), 'mart')} "
        f"({story.code_names(f6['blast_radius_models'])}) and "
        f"{count(len(f6['blast_radius_exposures']), 'dashboard')} "
        f"({story.code_names(f6['blast_radius_exposures'])}), from the manifest alone.",
        "06",
        "3",
    )


BULLETS: dict[str, Callable[[All], Evidence]] = {
    "Finance caught the anomaly quickly (2 hours)": _well_quick,
    "Root cause was traceable through dbt lineage": _well_lineage,
    "Fix was self-propagating — upstream fix healed downstream models": _well_self_healing,
    "Staging model grain should be tested, not just documented": _better_tested,
    "PRs that change staging model structure should trigger a grain check in CI": _better_ci,
    '"Slow query" was actually a symptom of "more rows" — monitoring should track row count '
    "trends, not just query runtime": _better_rows,
    "Grain test failure immediately after merge: `count(*) != count(distinct order_id)` in "
    "stg_orders": _agent_grain,
    "Anomaly detection on fct_revenue_daily: 3x revenue jump on a daily basis → automatic "
    "alert": _agent_anomaly,
    "Lineage analysis: detected join of `raw_order_items` inside a staging model → flagged as "
    "pattern violation": _agent_lineage,
    "Blast radius: automatically identified that stg_orders feeds 2 mart models and 3 "
    "dashboards": _agent_blast,
}


def form_factor(found: All) -> Evidence:
    f3, f6 = _f(found, "03"), _f(found, "06")
    return Evidence(
        f"The mechanical part, run here: the root-cause walk named `{f6['root_cause']}` and "
        f"PR #{f6['root_cause_pr']} in {f6['investigate_seconds']:.2f} s, where the team needed "
        f"{duration(f3['time_to_root_cause_minutes'])}; the grain tests, the lint and the "
        "reconciliation are commands. The decisions below stay with people.",
        "06",
        "6",
    )
