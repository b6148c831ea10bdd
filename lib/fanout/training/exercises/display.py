"""What the exercise notebooks show: the symptom, a manifest's lineage as a table, a
project's files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fanout.toolkit import lineage, reconcile
from fanout.training.exercises.results import SYMPTOM
from fanout.training.exercises.seat import Seat

__all__ = ["lineage_table", "show_files", "symptom"]


def symptom(seat: Seat, enrichment, days: int = 7):
    """What finance saw: the dashboard's revenue against finance's, for the first days."""

    rec = reconcile.daily(
        seat.connect(enrichment=enrichment), f"enrichment.{SYMPTOM}", "finance_daily_revenue"
    )
    return pd.DataFrame(
        {
            "revenue_date": [d.revenue_date for d in rec.days[:days]],
            "dashboard": [d.mart for d in rec.days[:days]],
            "finance": [d.finance for d in rec.days[:days]],
        }
    )


def lineage_table(manifest_path: str | Path):
    """Every model, source and exposure of a manifest with what it reads and what reads it."""

    graph = lineage.load(manifest_path)
    rows = []
    kinds = ("source", "model", "exposure")
    nodes = sorted(
        (n for n in graph.nodes.values() if n.resource_type in kinds),
        key=lambda n: (kinds.index(n.resource_type), n.label),
    )
    for node in nodes:
        reads = [p.label for p in graph.parents(node) if p.resource_type in kinds]
        read_by = [c.label for c in graph.children(node) if c.resource_type in kinds]
        rows.append((node.label, node.resource_type, ", ".join(reads), ", ".join(read_by)))
    return pd.DataFrame(rows, columns=["node", "type", "reads", "read by"]).set_index("node")


def show_files(folder: Path, pattern: str = "*.sql") -> None:
    """Print each file under `folder` matching `pattern`, with its path."""
    files = sorted(folder.rglob(pattern)) if folder.is_dir() else []
    if not files:
        print(f"no {pattern} file in {folder} yet")
    for path in files:
        print(f"---- {path}\n{path.read_text().rstrip()}\n")
