"""The changes made, as the postmortem lists them: each action item with where this
repository does it and the measured evidence that it works."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fanout.incident import story
from fanout.incident.postmortem.evidence import All, Evidence, _caught, _f
from fanout.incident.postmortem.summary import _prevented, _root_cause_place, _root_cause_rule
from fanout.incident.story import count, when

__all__ = ["ACTIONS", "Action"]


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
