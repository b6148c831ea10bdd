"""The hints a failed check shows: each points at the concept, never at the answer."""

from __future__ import annotations

__all__ = ["HINTS"]


# The hints point at the concept, never at the answer. Tests assert these texts.
HINTS = {
    "find-downstream": (
        "That model shows the symptom, but it only adds up what it reads. Walk the lineage "
        "upstream (its parents in manifest.json) and compare each model's rows with its "
        "distinct keys: the first model where they differ is where the grain broke."
    ),
    "find-source": (
        "Sources are where the data comes in, and their unique tests pass: each is one row "
        "per key. The grain broke in a model that reads them."
    ),
    "find-unknown": (
        "The manifest has no model of that name: list the models (and their parents) from "
        "manifest.json and pick one of them."
    ),
    "find-grain": (
        "Ask what one row of the model is (its name and its description say it): its grain "
        "is the column that identifies such a row, not one that may repeat within it."
    ),
    "find-factor": (
        "Divide the dashboard's total revenue (the mart behind it) by the finance system's "
        "total over the same days."
    ),
    "find-factor-upside-down": (
        "That is finance divided by the dashboard: the factor says how many times too high "
        "the dashboard is."
    ),
    "find-factor-mean": (
        "That is the plain mean number of line items per order. The dashboard adds each "
        "order's amount once per line item, so orders with more items count more: measure "
        "the factor on the revenue itself."
    ),
    "test-missing": (
        "A singular test is a .sql file in the project's tests/ folder: one select that "
        "returns the rows breaking the rule."
    ),
    "test-unreadable": (
        "dbt could not read the project. A singular test is one select statement, reading "
        "models with {{ ref('...') }}, without a semicolon at the end."
    ),
    "test-error": (
        "dbt could not run it on the broken build. A singular test is one select returning "
        "the failing rows; check the model and column names it uses."
    ),
    "test-wrong-model": (
        "It does not test the model whose grain broke (exercise 1). Put the grain test on "
        "the model that changed grain: a model downstream can look fine (a group by hides "
        "the duplicates) while its sums are wrong."
    ),
    "test-passes-on-bug": (
        "It returns no rows on the broken build, so it would not have caught the bug. A "
        "grain test returns the key values that appear on more than one row of the model."
    ),
    "test-fix-error": (
        "It cannot run on the fixed build: it uses a column the fixed model no longer has. "
        "A grain test uses only the model's key, which every correct version keeps."
    ),
    "test-wrong-column": (
        "It fails on the fixed build too, where the model is one row per order: it flags "
        "rows that legitimately repeat a value. Test the column that identifies one row of "
        "the model (its grain)."
    ),
    "fix-untouched": (
        "Edit the SQL files under the project's models/ folder, then run this cell again."
    ),
    "fix-model-error": "dbt could not build it: read its message, fix the SQL, run this again.",
    "fix-mart-only": (
        "fct_revenue_daily only adds up what stg_orders gives it and was never wrong itself. "
        "Patching the mart leaves the broken grain upstream for every other consumer: fix "
        "the model where the grain broke."
    ),
    "fix-distinct": (
        "`distinct` removes only rows that are identical in every column; the line-item "
        "columns differ from item to item, so the extra rows stay. Do not hide the join: "
        "a staging model reads one source."
    ),
    "fix-staging-join": (
        "stg_orders still has several rows per order: joining a table with several rows per "
        "order multiplies its rows. A staging model renames and casts one source; line "
        "items belong in a model of their own."
    ),
    "fix-lost-rows": (
        "stg_orders has fewer rows than raw_orders: a filter or an inner join drops orders. "
        "A staging model keeps every row of its source."
    ),
    "fix-hidden-join": (
        "stg_orders is one row per order again, but it still joins raw_order_items and then "
        "removes the duplicates (distinct or group by). That hides the fan-out instead of "
        "removing it, and it breaks again when a column is added. A staging model reads "
        "one source."
    ),
    "fix-one-source": (
        "A staging model reads exactly one source: move the line items into a staging model "
        "of their own."
    ),
    "fix-skipped": (
        "dbt build skips everything downstream of a failing test. Read what the failing "
        "test returns (your exercise 2 test is one of them): it points at the problem."
    ),
    "fix-mart-grain": (
        "fct_orders has several rows for some orders: whatever it joins to its orders must "
        "be one row per order."
    ),
    "fix-join-fanout": (
        "fct_orders is one row per order, but its amounts are still multiplied: joining line "
        "items to orders repeats each order once per item before the group by. Roll the "
        "items up to one row per order first, then join."
    ),
    "fix-items": (
        "The orders overview shows item_count and total_quantity: keep the enrichment's item "
        "detail, counted from the line items rolled up to one row per order."
    ),
    "fix-revenue": (
        "fct_revenue_daily reads stg_orders: once stg_orders is one row per order and the "
        "project is rebuilt, it agrees with finance."
    ),
    "fix-mart-changed": (
        "Everything reconciles, but fct_revenue_daily was changed: it was right all along "
        "and heals once stg_orders is one row per order. Undo that change, so the fix is "
        "about the real cause."
    ),
}
