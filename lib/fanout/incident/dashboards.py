"""The incident's dashboards (data/incident/dashboards.csv, `timeline.dashboards`): each
headline figure as a database shows it, against the truth computed from the raw orders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp

from fanout.incident.timeline import PROJECT, dashboards
from fanout.toolkit.dbt_target import Target
from fanout.toolkit.investigate import relation
from fanout.toolkit.lineage import Graph, Impact

__all__ = ["TRUTH_SQL", "figures", "figures_on_target", "truth"]

# each headline figure, computed from the raw orders (the truth the dashboards should show)
TRUTH_SQL = """
    select 'revenue', sum(amount) from raw_orders
    union all select 'orders', count(*) from raw_orders
    union all select 'average order value', sum(amount) / count(*) from raw_orders
"""


def truth(con) -> dict[str, Any]:
    """The true headline figures by metric name (`con` has the raw tables as views)."""
    return dict(con.execute(TRUTH_SQL).fetchall())


def figures(con, graph: Graph, impact: Impact, database: str = "wh") -> list[dict[str, Any]]:
    """The dashboards that `impact` reaches, when `graph` is the incident's project: each
    figure as `database` shows it against the truth (none for any other project)."""
    if graph.project != PROJECT:
        return []
    return _compare(impact, truth(con), lambda m: con.execute(m.query(database)).fetchall()[0][0])


def figures_on_target(
    target: Target, graph: Graph, impact: Impact, orders: str
) -> list[dict[str, Any]]:
    """`figures` through a dbt target: each figure's query (dashboards.csv, in DuckDB's SQL)
    written in the target's dialect over the models' relations, the truth from the raw
    orders in `orders` (a table on the target)."""
    if graph.project != PROJECT:
        return []
    source = target.relation(orders)
    amount = exp.column("amount")
    query = exp.select(exp.Sum(this=amount), exp.Count(this=exp.Star())).from_(source)
    ((revenue, count),) = target.rows(query.sql(dialect=target.dialect), source.name)
    true = {"revenue": revenue, "orders": count, "average order value": revenue / count}

    def shown(m) -> Any:
        tree = sqlglot.parse_one(m.sql, dialect="duckdb")
        for table in list(tree.find_all(exp.Table)):
            table.replace(relation(graph.node(table.name), target.dialect))
        ((value,),) = target.rows(tree.sql(dialect=target.dialect), m.exposure)
        return value

    return _compare(impact, true, shown)


def _compare(impact: Impact, true: dict[str, Any], shown: Callable) -> list[dict[str, Any]]:
    """Each dashboard figure `impact` reaches, `shown(figure)` against `true[metric]`."""
    reached = set(impact.reached("exposure"))
    out = []
    for m in dashboards():
        if m.exposure not in reached or m.metric not in true:
            continue
        shown_value = shown(m)
        real = float(true[m.metric])
        out.append(
            {
                "exposure": m.exposure,
                "metric": m.metric,
                "shown": float(shown_value),
                "truth": real,
                "factor": float(shown_value) / real if real else None,
            }
        )
    return out
