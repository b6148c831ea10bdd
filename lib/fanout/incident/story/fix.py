"""Words for notebook 04, the fix: its tests, the reconciliation, the restatement."""

from __future__ import annotations

import math
from decimal import Decimal

from fanout.incident.recorded import Claim
from fanout.incident.story.words import Found, all_of, count, minus, money, ratio_of, relative, when

__all__ = [
    "fix_tests",
    "grain_tests_on_pr",
    "healed",
    "in_short_04",
    "items_add_up",
    "reconciled",
    "restatement_dashboards",
    "restatement_days",
]


def fix_tests(f: Found) -> Claim:
    total, passed = f["dbt_tests_total"], f["dbt_tests_passed"]
    grains, grains_ok = f["grain_tests_total"], f["grain_tests_passed"]
    text = (
        f"{all_of(passed, total, 'test')} {'pass' if passed != 1 else 'passes'} on the fix's "
        f"build, {all_of(grains_ok, grains, 'grain test').lower()} among them."
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
            f"{all_of(failing, n, 'grain test')} on `stg_orders` "
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
    ratio = ratio_of(shown, true)
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
        ratio = ratio_of(shown, true)
        rows.append(
            f"| {dashboard} | {figure} | {show_value(shown)} | {show_value(true)} | "
            f"{relative(ratio, 'the truth') if not math.isnan(ratio) else 'no figure'} |"
        )
    table = (
        "| dashboard | figure | shown before the fix | true | shown |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
    )
    wrong = [r for r in f["restatement_dashboards"] if ratio_of(r[3], r[4]) != 1]
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
        f"{money(minus(f['shown_total_during_incident'], f['true_total_during_incident']))}"
        " overstated."
        if restated
        else ""
    )
    return Claim("in-short", "**In short.** " + "; ".join(parts) + "." + tail)
