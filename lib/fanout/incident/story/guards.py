"""Words for notebook 06, the guards: grain checks, lint, blast radius, reconciliation,
anomalies, the walk and the replay."""

from __future__ import annotations

from fanout.incident.recorded import Claim
from fanout.incident.story.words import (
    Found,
    code_names,
    count,
    duration,
    each_the,
    joined,
    money,
    when,
)

__all__ = [
    "anomalies",
    "blast",
    "grain_checks",
    "in_short_06",
    "lint",
    "reconciliation",
    "replay",
    "walk",
]


def grain_checks(f: Found) -> Claim:
    failing = f["grain_checks_failing"]
    if not failing:
        return Claim(
            "grain-checks",
            f"All {count(f['grain_checks'], 'grain check')} hold, in every revision: nothing "
            "fanned out in this dataset.",
        )
    named = joined([f"`{model}` on the {rev} build" for rev, model in failing])
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
            said.append(f"a staging model joining sources ({code_names(staging[rev])})")
        if fanouts.get(rev):
            said.append(f"a fan-out in {code_names(fanouts[rev])}")
        if sums.get(rev):
            said.append(f"sums over the fanned-out rows in {code_names(sums[rev])}")
        found = f["lint_findings"][rev]
        if said:
            parts.append(f"on the {rev} manifest it reports " + joined(said))
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
        f"`stg_orders` feeds {code_names(f['blast_radius_models'])} and "
        f"{count(len(f['blast_radius_exposures']), 'dashboard')} "
        f"({code_names(f['blast_radius_exposures'])}). At the last build before the fix "
        f"({when(f['blast_last_incident_build'])}) the marts overstated: " + joined(said) + ".",
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
        f"({joined([when(a) for a in normal])})."
        if normal
        else "; nothing in the normal history."
    )
    both = f["anomalies_both_directions"]
    drops = [(at, reason) for at, reason in both if reason.startswith("below")]
    if drops:
        text += (
            f" Watching both directions would also flag {count(len(drops), 'drop')} "
            f"({joined([f'{when(at)}, {reason}' for at, reason in drops])}), a drop no one needs "
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
        f"{code_names(f['root_cause_feeds'])}, in {f['investigate_seconds']:.2f} s; by hand, the "
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
        sentences.append(f"{each_the(ci)} would have stopped the PR before it merged.")
    if before:
        said = each_the([f"{g} ({duration(minutes[g])} after the deploy)" for g in before])
        sentences.append(f"{said} would have caught it before finance.")
    if after:
        said = each_the([f"{g} ({duration(minutes[g])} after the deploy)" for g in after])
        sentences.append(f"{said} would have caught it only after finance did.")
    if missed:
        sentences.append(f"{each_the(missed)} would not have caught it before the fix.")
    sentences.append(f"finance noticed {duration(f['time_to_detect_minutes'])} after the deploy.")
    return Claim("replay", " ".join(_sentence(t) for t in sentences))


def in_short_06(f: Found) -> Claim:
    stages = f["guards_caught"]
    caught_ci = [g for g, s in stages.items() if s.startswith("in CI")]
    early = [g for g, s in stages.items() if s == "before finance"]
    text = "**In short.** Every guard the postmortem asked for exists and runs here. "
    if caught_ci:
        text += _sentence(f"{each_the(caught_ci)} would have stopped the PR in CI. ")
    if early:
        text += _sentence(
            f"the {joined(early)} would have caught it after the deploy, before finance. "
        )
    if f["root_cause"]:
        text += (
            f"The root-cause walk names `{f['root_cause']}` and PR #{f['root_cause_pr']} in "
            f"{f['investigate_seconds']:.2f} s. "
        )
    text += "The cheapest of them is a line of YAML per model."
    return Claim("in-short", text)
