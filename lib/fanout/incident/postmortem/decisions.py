"""The questions that needed human judgment: a decision record each (the options, the
evidence at this run, what was decided)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from fanout.incident import story
from fanout.incident.postmortem.evidence import All, Evidence, _f
from fanout.incident.story import count, duration, money

__all__ = ["DECISIONS", "Decision"]


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
