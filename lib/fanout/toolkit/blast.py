"""Blast radius, quantified: each model a change reaches (`lineage.downstream`) that is shaped
like daily revenue, reconciled day by day against the truth, and how far it is off."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
from sqlglot import exp

from fanout.toolkit import reconcile
from fanout.toolkit.dbt_target import Target
from fanout.toolkit.investigate import relation
from fanout.toolkit.lineage import Graph, Impact
from fanout.toolkit.relations import table_ref

__all__ = [
    "REVENUE_SHAPES",
    "Misstatement",
    "misstatement",
    "misstatements",
    "misstatements_on_target",
    "revenue_shape",
]

# (date column, money column) of the models that read as revenue per day
REVENUE_SHAPES = (("revenue_date", "revenue"), ("order_date", "amount"))


@dataclass(frozen=True)
class Misstatement:
    """A model's revenue against the truth: in total, and the days on which they disagree."""

    model: str
    column: str
    shown: Decimal
    true: Decimal
    days: int
    misstated: tuple[dt.date, ...]

    @property
    def overstated_by(self) -> Decimal:
        return self.shown - self.true

    @property
    def ratio(self) -> Decimal | None:
        return self.shown / self.true if self.true else None

    def to_dict(self) -> dict[str, Any]:
        """As `fanout blast-radius --format json` writes it."""
        ratio = self.ratio
        return {
            "column": self.column,
            "overstated_by": str(self.overstated_by),
            "factor": float(ratio) if ratio is not None else None,
            "days_misstated": len(self.misstated),
            "days": self.days,
            "first_day": self.misstated[0].isoformat() if self.misstated else None,
            "last_day": self.misstated[-1].isoformat() if self.misstated else None,
        }


def revenue_shape(con, relation: str) -> tuple[str, str] | None:
    """The (date, money) columns of `relation` if it is shaped like daily revenue; None when
    it is not, or is not in the database."""
    quoted = table_ref(relation).sql(dialect="duckdb")
    try:
        columns = {r[0] for r in con.execute(f"describe {quoted}").fetchall()}
    except duckdb.Error:  # not in this database
        return None
    return next((s for s in REVENUE_SHAPES if set(s) <= columns), None)


def misstatement(
    con, relation: str | exp.Table, truth: str, shape: tuple[str, str] = REVENUE_SHAPES[0]
) -> Misstatement:
    """`relation`'s revenue per day (its `shape` columns) against `truth`'s, on a DuckDB
    connection or a dbt target."""
    rec = reconcile.daily(con, relation, truth, mart_columns=shape)
    name = relation.name if isinstance(relation, exp.Table) else relation.rpartition(".")[2]
    return Misstatement(
        name,
        shape[1],
        rec.mart_total,
        rec.finance_total,
        len(rec.days),
        tuple(d.revenue_date for d in rec.disagreeing),
    )


def misstatements(
    con, impact: Impact, *, database: str = "wh", truth: str = "finance_daily_revenue"
) -> dict[str, Misstatement]:
    """Every model `impact` reaches that is shaped like daily revenue (in `database`, attached
    to `con`), against `truth`, by model name."""
    out = {}
    for node in impact.walk():
        if node.resource_type != "model" or node.name in out:
            continue
        relation = f"{database}.{node.name}"
        shape = revenue_shape(con, relation)
        if shape is not None:
            out[node.name] = misstatement(con, relation, truth, shape)
    return out


def misstatements_on_target(
    target: Target, graph: Graph, impact: Impact, truth: str
) -> dict[str, Misstatement]:
    """`misstatements` through a dbt target: each model read where the manifest says it is
    built, against the daily revenue in `truth` (a table on the target)."""
    out = {}
    for node in impact.walk():
        if node.resource_type != "model" or node.name in out:
            continue
        table = relation(graph.node(node.unique_id), target.dialect)
        columns = target.columns(table)
        if columns is None:  # not built on this target
            continue
        shape = next((s for s in REVENUE_SHAPES if set(s) <= set(columns)), None)
        if shape is not None:
            out[node.name] = misstatement(target, table, truth, shape)
    return out
