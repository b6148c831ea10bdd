"""Words for notebook 03, the timeline: each step's evidence, the times to detect and fix."""

from __future__ import annotations

from typing import Any

from fanout.incident.recorded import Claim
from fanout.incident.story import words
from fanout.incident.story.words import (
    FINANCE_FIGURE,
    Found,
    code_names,
    count,
    duration,
    money,
    ratio_of,
    relative,
    times,
    when,
)

__all__ = [
    "detection",
    "in_short_03",
    "lineage",
    "measures",
    "ping",
    "pr_deploy",
    "recent_deploys",
    "root_cause",
    "timeline_evidence",
    "timeline_steps",
    "verification",
]


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
    ratio = ratio_of(f["dashboard_total_at_ping"], f["finance_total_at_ping"])
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
        f"`stg_orders` feeds {count(f['marts_affected'], 'mart')} ({code_names(f['marts'])}) and "
        f"{count(f['dashboards_affected'], 'dashboard')} ({code_names(f['dashboards'])}): the "
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
        return words.money(value, sign=sign)

    ratio = f["dashboard_ratio_at_detection"]
    ping_ratio = ratio_of(f["dashboard_total_at_ping"], f["finance_total_at_ping"])
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
