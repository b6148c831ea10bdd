"""The original postmortem (`data/incident/WT-05-postmortem.md`), read section by section,
and each of its claims paired with the evidence this run computed.

The document's words are kept as they are; the evidence beside them comes from the
notebooks' recorded findings (`fanout.incident.report.findings`), worded by
`fanout.incident.story`. Every
evidence function takes the findings of all notebooks, keyed by their number ("01" ... "06"),
and returns Markdown plus the notebook section that computes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fanout.incident import story
from fanout.incident.paths import project_root
from fanout.incident.story import count, duration, money, relative, times, when

__all__ = [
    "ACTIONS",
    "DECISIONS",
    "SUMMARY",
    "Evidence",
    "Original",
    "evidence",
    "original",
]

DOCUMENT = "WT-05-postmortem.md"
All = Mapping[str, Mapping[str, Any]]  # findings by notebook number


# ---------------------------------------------------------------- the original, parsed


@dataclass
class Original:
    """The postmortem's parts, its words unchanged."""

    title: str
    summary: list[tuple[str, str]] = field(default_factory=list)  # (field, detail)
    timeline: list[tuple[str, str]] = field(default_factory=list)  # (time, event)
    what_happened: list[str] = field(default_factory=list)  # paragraphs
    root_cause: list[str] = field(default_factory=list)  # paragraphs and bullets, Markdown
    changes: list[tuple[str, str]] = field(default_factory=list)  # (horizon, item)
    went_well: list[str] = field(default_factory=list)
    could_be_better: list[str] = field(default_factory=list)
    agent_caught: list[str] = field(default_factory=list)
    agent_judgment: list[str] = field(default_factory=list)
    form_factor: str = ""
    sections: list[str] = field(default_factory=list)  # the "## " headings, in order


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _blocks(lines: list[str]) -> list[str]:
    """Paragraphs and list items of a section body, each as one Markdown string."""
    out, current = [], []
    for line in lines:
        if not line.strip() or line.strip() == "---":
            if current:
                out.append(" ".join(current))
                current = []
        elif line.lstrip().startswith("- "):
            if current:
                out.append(" ".join(current))
            current = [line.strip()]
        else:
            current.append(line.strip())
    if current:
        out.append(" ".join(current))
    return out


def original(text: str | None = None) -> Original:
    """Parse the postmortem; `text` defaults to the repository's copy."""
    if text is None:
        text = (project_root() / "data" / "incident" / DOCUMENT).read_text()
    title = next(line[2:].strip() for line in text.splitlines() if line.startswith("# "))
    doc = Original(title)
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            doc.sections.append(current)
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    for line in sections["Incident Summary"]:
        cells = _cells(line)
        if line.startswith("|") and len(cells) == 2 and cells[0].startswith("**"):
            doc.summary.append((cells[0].strip("*"), cells[1]))
    for line in sections["Timeline"]:
        cells = _cells(line)
        if line.startswith("| T+"):
            doc.timeline.append((cells[0], cells[1]))
    doc.what_happened = _blocks(sections["What Happened"])
    doc.root_cause = _blocks(sections["Root Cause"])
    horizon = ""
    for line in sections["Changes Made"]:
        if line.startswith("### "):
            horizon = line[4:].strip()
        elif line.startswith("- [ ] "):
            doc.changes.append((horizon, line[6:].strip()))
    doc.went_well = [b[2:] for b in _blocks(sections["What Went Well"]) if b.startswith("- ")]
    doc.could_be_better = [
        b[2:] for b in _blocks(sections["What Could Be Better"]) if b.startswith("- ")
    ]
    part = None
    for block in _blocks(sections["Agent Perspective"]):
        if block.startswith("**What an agent could have caught"):
            part = doc.agent_caught
        elif block.startswith("**What needed human judgment"):
            part = doc.agent_judgment
        elif block.startswith("**Form factor implication"):
            part = None
            doc.form_factor = block.split("**", 2)[2].strip()
        elif block.startswith("- ") and part is not None:
            part.append(block[2:])
        elif part is None:
            doc.form_factor = f"{doc.form_factor} {block}".strip()
    return doc


# ---------------------------------------------------------------- evidence


@dataclass(frozen=True)
class Evidence:
    """What this run found for one claim: Markdown, and where it is computed."""

    text: str
    notebook: str  # "03"
    section: str  # the section number in that notebook ("3"), or "" for its top


def _get(found: All, notebook: str, name: str) -> Any:
    try:
        return found[notebook][name]
    except KeyError:
        raise _Missing(notebook) from None


class _Missing(Exception):
    """A figure whose notebook did not run (fanout workbook --only)."""


def evidence(make: Callable[[All], Evidence], found: All) -> Evidence:
    """`make(found)`, or a note naming the notebook that did not run."""
    try:
        return make(found)
    except _Missing as missing:
        return Evidence(f"not computed in this run: notebook {missing} did not run", "", "")


def _f(found: All, notebook: str) -> Mapping[str, Any]:
    if notebook not in found:
        raise _Missing(notebook)
    return found[notebook]


def _caught(stage: str) -> str:
    """A guard's stage in the replay (`fanout.incident.guards.Guard.stage`) as a verb phrase."""
    return {
        "in CI: the PR would not have merged": "would have stopped the PR in CI",
        "before finance": "would have caught it before finance",
        "with finance": "would have caught it when finance did",
        "after finance": "would have caught it only after finance",
        "would not have caught it before the fix": "would not have caught it before the fix",
    }.get(stage, stage)


def _ratio(a: Any, b: Any) -> float:
    return float(Decimal(str(a)) / Decimal(str(b))) if Decimal(str(b)) else float("nan")


# The incident summary: field -> evidence at this run.


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


# The timeline: one evidence per step, from notebook 03's sections 3 to 9.


def timeline_rows(found: All) -> list[tuple[str, str, str, Evidence]]:
    """(T, time, the postmortem's event, evidence) for the seven steps."""
    f3 = _f(found, "03")
    return [
        (label, at, event, Evidence(text, "03", str(i + 3)))
        for i, (label, at, event, text) in enumerate(story.timeline_steps(f3, sign=True))
    ]


# What happened: one evidence per paragraph.


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


# Changes made: the action items. (item as the postmortem words it) -> (where, evidence).


@dataclass(frozen=True)
class Action:
    where: str  # Markdown: the file, command or notebook that does or demonstrates it
    evidence: Callable[[All], Evidence]


def _a_stg_orders(found: All) -> Evidence:
    f3 = _f(found, "03")
    return Evidence(
        f"{f3['verification_stg_orders_rows']:,} rows for {f3['verification_stg_orders_orders']:,} "
        "orders on the fix's build",
        "03",
        "9",
    )


def _a_stg_order_items(found: All) -> Evidence:
    f6 = _f(found, "06")
    return Evidence(
        f"{f6['stg_order_items_rows']:,} rows for {f6['stg_order_items_distinct_items']:,} "
        "distinct `order_item_id`",
        "06",
        "1",
    )


def _a_fct_orders(found: All) -> Evidence:
    return _root_cause_place(found)


def _a_revenue_daily(found: All) -> Evidence:
    f4 = _f(found, "04")
    same = f4["fct_revenue_daily_file_identical"] and f4["fct_revenue_daily_sql_identical"]
    return Evidence(
        ("file and compiled SQL identical in the PR and the fix; " if same else "SQL changed; ")
        + (
            f"reconciles with finance on all {count(f4['days_reconciled'], 'day')}"
            if not f4["days_disagreeing"]
            else f"disagrees with finance on {count(f4['days_disagreeing'], 'day')}"
        ),
        "04",
        "4",
    )


def _a_grain_test(found: All) -> Evidence:
    return _prevented(found)


def _a_checklist(found: All) -> Evidence:
    f6 = _f(found, "06")
    missing = f6["models_missing_grain"]
    return Evidence(
        "the checklist text is in notebook 06; `fanout lint` lists models without a declared "
        f"or tested grain: baseline {len(missing.get('baseline', []))}, PR #482 "
        f"{len(missing.get('enrichment', []))}, fix {len(missing.get('fix', []))}",
        "06",
        "8",
    )


def _a_yaml_grain(found: All) -> Evidence:
    f6 = _f(found, "06")
    missing = f6["models_missing_grain"].get("fix", [])
    return Evidence(
        "every model of the fix declares `config.meta.grain` and tests it"
        if not missing
        else f"models of the fix without a grain: {story.code_names(missing)}",
        "06",
        "8",
    )


def _a_staging_convention(found: All) -> Evidence:
    return _root_cause_rule(found)


def _a_grain_monitoring(found: All) -> Evidence:
    f5, f6 = _f(found, "05"), _f(found, "06")
    monitor = "row-count monitor (rows vs distinct keys)"
    return Evidence(
        f"rows per key of `stg_orders` left 1.0 at {when(f5['first_inflated_build'])} "
        f"({f5['stg_orders_rows_per_key_at_first_inflated_build']:.3f}); in the replay the "
        f"monitor {_caught(f6['guards_caught'][monitor])}",
        "05",
        "3",
    )


def _a_lineage_alert(found: All) -> Evidence:
    f6 = _f(found, "06")
    said = f6["staging_joins_sources"].get("enrichment", [])
    return Evidence(
        "`fanout lint` reports a staging model reading another staging model "
        "(`staging-reads-model`) and one joining sources (`staging-joins-sources`); this "
        "incident joined a source inside staging, and the second rule flags it"
        + (f" ({story.code_names(said)})" if said else ": here it flags nothing"),
        "06",
        "2",
    )


def _a_reconciliation(found: All) -> Evidence:
    f6 = _f(found, "06")
    wrong = f6["reconciliation_days_disagreeing"]
    job = "daily reconciliation job"
    return Evidence(
        f"PR #482's build disagrees on {count(wrong.get('enrichment', 0), 'day')}, the fix's "
        f"on {wrong.get('fix', 0)}; in the replay the job {_caught(f6['guards_caught'][job])} "
        f"({f6['guard_evidence'][job]})",
        "06",
        "4",
    )


ACTIONS: dict[str, Action] = {
    "`stg_orders`: removed join, one row per order, clean columns only": Action(
        "`warehouse/fix/models/staging/stg_orders.sql`", _a_stg_orders
    ),
    "`stg_order_items`: new staging model, one row per line item, `line_total` computed": Action(
        "`warehouse/fix/models/staging/stg_order_items.sql`", _a_stg_order_items
    ),
    "`fct_orders`: updated to join from `stg_order_items` aggregated to order level": Action(
        "`warehouse/fix/models/marts/fct_orders.sql`", _a_fct_orders
    ),
    "`fct_revenue_daily`: no change needed — self-healed once stg_orders was fixed": Action(
        "`warehouse/fix/models/marts/fct_revenue_daily.sql` (unchanged)", _a_revenue_daily
    ),
    "Grain test added: `assert_stg_orders_grain.sql`": Action(
        "`warehouse/fix/tests/assert_stg_orders_grain.sql`, and the generic `grain` test in "
        "`warehouse/fix/macros/test_grain.sql`",
        _a_grain_test,
    ),
    'Add PR checklist item: "Does this model maintain the expected grain? Document it in the '
    'model YAML."': Action("notebook 06, section 8 (the checklist)", _a_checklist),
    "Add model YAML field: `grain: one row per [X]` — make it explicit": Action(
        '`config.meta.grain` and "One row per ..." in `warehouse/fix/models/*/_*.yml`',
        _a_yaml_grain,
    ),
    "Staging model convention: staging models never join across sources": Action(
        "`fanout lint` rule `staging-joins-sources`", _a_staging_convention
    ),
    "Automated grain monitoring: detect when a model's distinct key count diverges from row "
    "count": Action(
        "`fanout check grain`; the row-count history in notebook 05", _a_grain_monitoring
    ),
    "Lineage alert: flag when a staging model is joined inside another staging model": Action(
        "`fanout lint` rules `staging-reads-model` and `staging-joins-sources`", _a_lineage_alert
    ),
    (
        "Revenue reconciliation check: daily job cross-checking fct_revenue_daily vs raw_orders"
    ): Action("`fanout reconcile --against raw` (or `finance`)", _a_reconciliation),
}


# What went well, what could be better, what an agent could have caught.


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


# The questions that needed human judgment: a decision record each.


@dataclass(frozen=True)
class Decision:
    options: str  # Markdown: what each option does
    evidence: Callable[[All], Evidence]
    decided: str  # what the team did (the fix, PR #483)


def _d_revert(found: All) -> Evidence:
    f3, f5, f6 = _f(found, "03"), _f(found, "05"), _f(found, "06")
    cols = f6["fct_orders_columns"]
    detail = [c for c in cols.get("fix", []) if c not in cols.get("baseline", [])]
    seconds = f5["models_seconds"]
    wrong = f6["reconciliation_days_disagreeing"]
    agree = (
        "Both restore the revenue: neither the baseline nor the fix disagrees with finance on "
        "any day."
        if not wrong.get("baseline") and not wrong.get("fix")
        else f"The baseline disagrees with finance on {count(wrong.get('baseline', 0), 'day')}, "
        f"the fix on {count(wrong.get('fix', 0), 'day')}."
    )
    return Evidence(
        f"{agree} A revert could have shipped "
        f"at the root cause (T+80), its models running in {seconds['baseline'][0]:.2f} s, but "
        f"drops the item detail the PR was for; the patch shipped "
        f"{duration(f3['root_cause_to_fix_deploy_minutes'])} later and keeps it in "
        f"`fct_orders` ({story.code_names(detail)}).",
        "06",
        "4",
    )


ROLLED_UP = ("item_count", "total_quantity", "items_total")


def _d_detail(found: All) -> Evidence:
    f4, f6 = _f(found, "04"), _f(found, "06")
    rolled_up = [c for c in f6["fct_orders_columns"].get("fix", []) if c in ROLLED_UP]
    return Evidence(
        f"`fct_orders` stays one row per order ({f4['fct_orders_rows']:,} rows, "
        f"{f4['fct_orders_distinct_orders']:,} orders) with the items rolled up "
        f"({story.code_names(rolled_up)}); "
        f"the line items themselves are `stg_order_items`, {f6['stg_order_items_rows']:,} rows.",
        "04",
        "3",
    )


def _d_grain(found: All) -> Evidence:
    f1 = _f(found, "01")
    per_order = f1["raw_order_items_rows"] / f1["raw_order_items_distinct_order_ids"]
    return Evidence(
        f"`raw_orders` is one row per `order_id` ({f1['raw_orders_rows']:,} rows, "
        f"{f1['raw_orders_distinct_order_ids']:,} ids); finance books the sum of their amounts "
        + (
            "on every day, to the cent"
            if not f1["days_finance_differs_from_orders"]
            else f"(it differs on {count(f1['days_finance_differs_from_orders'], 'day')})"
        )
        + f"; `raw_order_items` has {per_order:.2f} rows per order.",
        "01",
        "1",
    )


def _d_finance(found: All) -> Evidence:
    f4 = _f(found, "04")
    over = Decimal(str(f4["shown_total_during_incident"])) - Decimal(
        str(f4["true_total_during_incident"])
    )
    return Evidence(
        f"The last build before the fix showed {count(f4['days_shown_during_incident'], 'day')}: "
        f"{money(f4['shown_total_during_incident'], sign=True)} against "
        f"{money(f4['true_total_during_incident'], sign=True)} for the same orders. "
        f"{count(f4['restated_days'], 'day')} to restate, {money(over, sign=True)} in all; the "
        "table per day and per dashboard below, and in `restatement.csv` and "
        "`restatement-dashboards.csv` beside this page.",
        "04",
        "5",
    )


DECISIONS: dict[str, Decision] = {
    "Is this worth reverting the PR vs patching forward?": Decision(
        "**Revert** PR #482: back to the baseline, one row per order, the revenue right at the "
        "next build; the order-item detail the PR was for is gone until it is redone. "
        "**Patch forward**: a new PR that keeps the detail at the right grain; right revenue "
        "once it is written, reviewed and deployed.",
        _d_revert,
        "Patched forward: PR #483 (`warehouse/fix`).",
    ),
    "Do we want to keep line-item detail in fct_orders or not?": Decision(
        "**Keep lines** in `fct_orders`: its grain becomes the line item, and every consumer "
        "that counts or sums orders must change. **Keep order grain**: roll the items up to "
        "one row per order before the join; line-level questions go to a model named for that "
        "grain.",
        _d_detail,
        "Order grain kept; items rolled up (`item_count`, `total_quantity`, `items_total`); "
        "lines in `stg_order_items`.",
    ),
    'What\'s the right grain for "orders" in this business context?': Decision(
        "One row per order (`order_id`), as the shop's orders and finance's books count them; "
        "or one row per line item, as a basket analysis would.",
        _d_grain,
        "One row per `order_id`, declared in `config.meta.grain` and tested.",
    ),
    "Communication to finance (how do we explain the historical data discrepancy?)": Decision(
        "A restatement: each day and each dashboard figure shown while the PR was live, "
        "against the true figure for the same orders.",
        _d_finance,
        "The restatement below, computed from the builds.",
    ),
}
