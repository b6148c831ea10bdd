"""The incident's dashboards (data/incident/dashboards.csv, `timeline.dashboards`): each
headline figure as a database shows it, against the truth computed from the raw orders."""

from __future__ import annotations

from typing import Any

from fanout.incident.timeline import PROJECT, dashboards
from fanout.toolkit.lineage import Graph, Impact

__all__ = ["TRUTH_SQL", "figures", "truth"]

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
    true = truth(con)
    reached = set(impact.reached("exposure"))
    out = []
    for m in dashboards():
        if m.exposure not in reached or m.metric not in true:
            continue
        (shown,) = con.execute(m.query(database)).fetchall()[0]
        real = float(true[m.metric])
        out.append(
            {
                "exposure": m.exposure,
                "metric": m.metric,
                "shown": float(shown),
                "truth": real,
                "factor": float(shown) / real if real else None,
            }
        )
    return out
