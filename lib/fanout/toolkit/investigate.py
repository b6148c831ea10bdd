"""The root-cause walk: from a symptomatic model, upstream in topological order, check each
model's grain and row count against its parents', and name the first model whose grain broke,
the deploy that changed it, and what it feeds.

A model's key is the grain it declares (`meta.grain`) or tests (unique / grain tests); failing
that, the grain the static inference (`fanout.toolkit.lineage.predict`) finds in its SQL; failing
that, the grain of a parent whose key columns it still carries ("inherited"): a staging model
that keeps `order_id` from `raw_orders` is expected to stay one row per `order_id`.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlglot import exp

from fanout.errors import DataError
from fanout.toolkit import grain, lineage
from fanout.toolkit.dbt_target import Target
from fanout.toolkit.lineage.grains import _FILE_READERS, _function_name
from fanout.toolkit.lineage.manifest import read as read_manifest

__all__ = [
    "Introduced",
    "Investigation",
    "Step",
    "introduced_by",
    "relation",
    "walk",
]


@dataclass(frozen=True)
class Step:
    """One model of the walk: the key it was checked on, where that key came from, the counts."""

    model: str
    key: tuple[str, ...] | None
    key_source: str  # declared, inferred, inherited from <parent>, or none
    rows: int | None
    distinct_keys: int | None
    parent_rows: tuple[tuple[str, int], ...]
    broke: bool

    @property
    def rows_per_key(self) -> float | None:
        return self.rows / self.distinct_keys if self.distinct_keys else None


@dataclass(frozen=True)
class Introduced:
    """The deploy that brought in the root-cause model's current code."""

    revision: str
    pr: int
    title: str
    deployed_at: object


@dataclass(frozen=True)
class Investigation:
    symptom: str
    steps: tuple[Step, ...]
    root_cause: str | None
    introduced: Introduced | None
    blast_radius: lineage.Impact | None
    seconds: float


def _upstream_models(graph: lineage.Graph, symptom: lineage.Node) -> list[lineage.Node]:
    """The symptom and the models above it, parents before children (ties by name): Kahn's
    algorithm with a heap, n log n in the number of models, no recursion."""

    kinds = ("model", "snapshot")
    seen: dict[str, lineage.Node] = {}
    stack = [symptom]
    while stack:
        node = stack.pop()
        if node.unique_id in seen:
            continue
        seen[node.unique_id] = node
        stack.extend(p for p in graph.parents(node) if p.resource_type in kinds)
    waiting = {uid: sum(p in seen for p in set(n.parents)) for uid, n in seen.items()}
    readers: dict[str, list[str]] = {}
    for uid, n in seen.items():
        for p in set(n.parents):
            if p in seen:
                readers.setdefault(p, []).append(uid)
    ready = [(n.name, uid) for uid, n in seen.items() if not waiting[uid]]
    heapq.heapify(ready)
    order: list[lineage.Node] = []
    while ready:
        _, uid = heapq.heappop(ready)
        order.append(seen[uid])
        for child in readers.get(uid, ()):
            waiting[child] -= 1
            if not waiting[child]:
                heapq.heappush(ready, (seen[child].name, child))
    if len(order) < len(seen):  # a graph built by hand with a cycle (load refuses them)
        stuck = sorted(seen[u].label for u in seen if waiting[u])
        raise DataError(f"the models above {symptom.label} form a cycle: {', '.join(stuck[:5])}")
    return order


def relation(node: lineage.Node, dialect: str = "duckdb") -> exp.Table:
    """The node's table as schema.identifier (the catalog is whatever file was opened, or
    the target's database); a relation_name that is not a table name is a `DataError`
    naming the node. `dialect` is the one the manifest was compiled for (its quoting)."""
    if not node.relation_name:
        raise DataError(f"{node.label} has no relation in the manifest (not built?)")
    table = grain.parse_relation(node.relation_name, node.label, dialect)
    if isinstance(table.this, exp.Func):
        raise DataError(f"{node.label}: relation_name {node.relation_name!r} is not a table")
    return exp.Table(this=table.this, db=table.args.get("db"))


def _dialect(con) -> str:
    """The SQL dialect of `con`: a dbt target's, or DuckDB's."""
    return con.dialect if isinstance(con, Target) else "duckdb"


def _columns(con, table: exp.Table) -> set[str] | None:
    if isinstance(con, Target):
        found = con.columns(table)
        return None if found is None else set(found)
    try:
        rows = con.execute(f"describe {table.sql(dialect='duckdb')}").fetchall()
    except Exception:  # a source read from files, or a relation not in this database
        return None
    return {r[0] for r in rows}


def _count(con, table: exp.Table) -> int | None:
    if isinstance(con, Target):
        query = exp.select(exp.alias_(exp.Count(this=exp.Star()), "n")).from_(table)
        try:
            return int(con.rows(query.sql(dialect=con.dialect), table.sql())[0][0])
        except DataError:
            return None
    try:
        return int(
            con.execute(f"select count(*) from {table.sql(dialect='duckdb')}").fetchall()[0][0]
        )
    except Exception:
        return None


def _key(graph, node, predictions, columns) -> tuple[tuple[str, ...] | None, str]:
    if node.grains:
        return node.grains[0], "declared"
    predicted = predictions.get(node.name)
    if predicted is not None and predicted.grain:
        return predicted.grain, "inferred"
    for parent in graph.parents(node):
        for g in parent.grains:
            if columns is not None and set(g) <= columns:
                return g, f"inherited from {parent.label}"
    return None, "none"


def walk(
    con,
    manifest: Mapping[str, Any] | str | Path,
    symptom: str,
    *,
    history: Sequence[tuple[Introduced, Path]] = (),
    where: str | None = None,
) -> Investigation:
    """Walk upstream from `symptom` on the database open on `con`, a DuckDB connection or a
    dbt target (`fanout.toolkit.dbt_target.Target`) (see the module docstring).

    `history` is the deploys in order, each with the project folder of its revision; when
    given, the root cause's current code is traced to the deploy that introduced it.
    `where` names the manifest in messages (default: its path, or "the manifest").
    """
    started = time.perf_counter()
    if not isinstance(manifest, Mapping):
        where = where or str(manifest)
        manifest = read_manifest(manifest)
    graph = lineage.load(manifest, where=where)
    node = graph.node(symptom)
    if node.resource_type not in ("model", "snapshot"):
        raise DataError(f"{symptom!r} is a {node.resource_type}, not a model")
    models = _upstream_models(graph, node)
    predictions = {p.model: p for p in lineage.predict(graph, [m.unique_id for m in models])}
    dialect = _dialect(con)
    steps = []
    for model in models:
        table = relation(model, dialect)
        columns = _columns(con, table)
        if columns is None:
            shown = table.sql(dialect=dialect)
            raise DataError(f"{model.label}: relation {shown} is not in the database")
        parents = []
        for parent in graph.parents(model):
            if parent.relation_name:
                n = _count(con, _parent_relation(parent, dialect))
                if n is not None:
                    parents.append((parent.label, n))
        candidates = [_key(graph, model, predictions, columns)]
        if not model.grains:
            # Undeclared: the model must also keep each parent key it still carries, one row
            # per key (a join that kept a finer key too has still fanned out that parent).
            candidates += [
                (g, f"inherited from {p.label}")
                for p in graph.parents(model)
                for g in p.grains
                if set(g) <= columns and g != candidates[0][0]
            ]
        step = None
        for key, source in candidates:
            if key is None:
                continue
            report = grain.check(con, table, key, name=model.label, examples=0)
            step = Step(
                model.label,
                tuple(key),
                source,
                report.rows,
                report.distinct_keys,
                tuple(parents),
                not report.ok,
            )
            if step.broke:
                break
        if step is None:
            step = Step(model.label, None, "none", _count(con, table), None, tuple(parents), False)
        steps.append(step)
    root = next((s.model for s in steps if s.broke), None)
    introduced = None
    if root and history:
        root_node = graph.node(root)
        path = manifest["nodes"].get(root_node.unique_id, {}).get("original_file_path")
        introduced = introduced_by(root_node.raw_sql, path, history)
    impact = lineage.downstream(graph, root) if root else None
    return Investigation(
        symptom, tuple(steps), root, introduced, impact, round(time.perf_counter() - started, 3)
    )


def _parent_relation(node: lineage.Node, dialect: str = "duckdb") -> exp.Table:
    """A parent's table, or the file reader of a source read in place (dbt-duckdb's
    external_location: `read_csv('...')`), counted as it is; any other function is refused."""

    table = grain.parse_relation(node.relation_name or "", node.label, dialect)
    if not isinstance(table.this, exp.Func):
        return exp.Table(this=table.this, db=table.args.get("db"))
    if _function_name(table.this) not in _FILE_READERS:
        raise DataError(
            f"{node.label}: relation_name {node.relation_name!r} is neither a table nor a file "
            "read in place"
        )
    return table


def introduced_by(
    code: str | None, path: str | None, history: Sequence[tuple[Introduced, Path]]
) -> Introduced | None:
    """The deploy that brought in `code` at `path`: the last one whose revision has it while
    the revision before it did not (None when no revision has it)."""
    if code is None or path is None:
        return None
    code = code.strip()  # dbt keeps a model's code without its surrounding whitespace
    found, previous = None, None
    for deploy, folder in history:
        file = Path(folder) / path
        current = file.read_text().strip() if file.exists() else None
        if current == code and previous != code:
            found = deploy
        previous = current
    return found
