"""Grains where the project declares and tests none, each labelled with how it was found.

- implied: a model that is a pure projection of one table (no filter, join, grouping or
  limit, through any chain of CTEs) and tests a column unique gives that table the column
  it renames (`stg_orders` tests `order_id` unique, `select id as order_id from
  raw_orders`: `raw_orders` is unique on `id`);
- measured: with a database, each source or seed without a grain gets its columns named
  like keys (`id`, `*_id`, `*_key`, `*_sk`) whose values are unique on its data (nulls
  aside: a null matches nothing in a join), counted in one SQL pass;
- assumed: a documented column named `id` or `<entity>_id` (`order_id` in `orders`), by
  naming convention only. An assumed grain bounds a join's result but never makes a
  fan-out finding: a join against it is "cannot tell".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from fanout.toolkit.lineage.manifest import Graph, Node
from fanout.toolkit.lineage.sql import _arg, _parse, _strip, _Unreadable
from fanout.toolkit.relations import table_ref

__all__ = ["Found", "assumed", "implied", "measure", "projection"]


@dataclass(frozen=True)
class Found:
    """Grains of a node the project does not state, and how they were found."""

    keys: tuple[tuple[str, ...], ...]
    how: str  # implied, measured or assumed
    by: str  # the model whose test implies it, the database, or the naming convention


def projection(
    sql: str, dialect: str, parse: Callable[[str], exp.Expression] | None = None
) -> tuple[exp.Table, dict[str, str]] | None:
    """The one table a query only renames (and casts) columns of, with its output columns
    mapped to the table's (a star passes every column: `*` maps to `*`); None unless the
    query is such a projection.

    >>> table, cols = projection(
    ...     "with s as (select * from raw.orders), r as (select id as order_id, cast(at as date)"
    ...     " as d from s) select * from r", "duckdb")
    >>> table.name, cols
    ('orders', {'order_id': 'id'})
    >>> projection("select id from orders where status = 'ok'", "duckdb") is None
    True
    """
    try:
        tree = parse(sql) if parse is not None else _parse(sql, dialect)
    except _Unreadable:
        return None
    return _project(tree, {})


def _project(q: exp.Expression, env: dict) -> tuple[exp.Table, dict[str, str]] | None:
    with_ = _arg(q, "with")
    if with_ is not None:
        if with_.args.get("recursive"):
            return None
        env = dict(env)
        for cte in with_.expressions:
            env[cte.alias.lower()] = cte.this
    if isinstance(q, exp.Subquery):
        return _project(q.this, env)
    if not isinstance(q, exp.Select):
        return None
    blocked = ("joins", "where", "group", "having", "qualify", "limit", "distinct", "laterals")
    source = _arg(q, "from")
    if source is None or any(q.args.get(k) for k in blocked):
        return None
    inner = source.this
    if isinstance(inner, exp.Subquery):
        below = _project(inner.this, env)
    elif isinstance(inner, exp.Table) and not inner.args.get("db") and inner.name.lower() in env:
        below = _project(env[inner.name.lower()], env)
    elif isinstance(inner, exp.Table) and not isinstance(inner.this, exp.Func):
        below = (inner, {"*": "*"})  # the table itself: every column as it is
    else:
        return None
    if below is None:
        return None
    table, columns = below

    def source_of(name: str) -> str | None:
        return columns.get(name) or (name if "*" in columns else None)

    mapped: dict[str, str] = {}
    for item in q.expressions:
        star = item if isinstance(item, exp.Star) else None
        if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
            star = item.this
        if star is not None:
            if _arg(star, "except"):
                return None
            mapped.update(columns)
            continue
        core = _strip(item)
        if isinstance(core, exp.Column) and (found := source_of(core.name.lower())):
            mapped.setdefault(item.alias_or_name.lower(), found)
    return table, mapped


def implied(
    graph: Graph, find: Any, parse: Callable[[str], exp.Expression] | None = None
) -> dict[str, Found]:
    """Grains implied by tests downstream, by the unique id of the node they are for.
    `find(table, refs, parents)` names the node a table reference reads."""
    found: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for model in graph.models:
        if not model.tested_grains or not model.compiled_sql or model.language != "sql":
            continue
        try:
            projected = projection(model.compiled_sql, graph.dialect, parse)
        except (SqlglotError, RecursionError):
            continue
        if projected is None:
            continue
        table, columns = projected
        uid = find(table, {}, model.parents)
        if uid is None or graph.nodes[uid].grains:
            continue
        for grain in model.tested_grains:
            key = tuple(columns.get(c) or (c if "*" in columns else "") for c in grain)
            if all(key):
                found.setdefault(uid, []).append((key, model.label))
    return {
        uid: Found(
            tuple(dict.fromkeys(k for k, _ in pairs)),
            "implied",
            ", ".join(sorted({by for _, by in pairs})),
        )
        for uid, pairs in found.items()
    }


def _entity(node: Node) -> str:
    name = node.name.lower()
    for prefix in ("raw_", "src_", "stg_", "base_"):
        name = name.removeprefix(prefix)
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def assumed(node: Node) -> Found | None:
    """A grain by naming convention, from the node's documented columns: `id`, else
    `<entity>_id` (`order_id` for `raw_orders`)."""
    for candidate in ("id", f"{_entity(node)}_id"):
        if candidate in node.columns:
            return Found(((candidate,),), "assumed", f"a column named {candidate}")
    return None


def measure(
    graph: Graph, con: Any, catalog: str = "wh", where: str = "the database"
) -> dict[str, Found]:
    """The key-named columns unique on the data of each source and seed with no stated
    grain, one SQL pass each (DuckDB, the build attached as `catalog`)."""

    found: dict[str, Found] = {}
    for node in sorted(graph.nodes.values(), key=lambda n: n.unique_id):
        if node.resource_type not in ("source", "seed") or node.grains or not node.relation_name:
            continue
        try:
            select = sqlglot.parse_one(f"select * from {node.relation_name}", read=graph.dialect)
        except SqlglotError:
            continue
        table = select.find(exp.Table)
        if table is None:
            continue
        if isinstance(table.this, exp.Func):  # a file read in place (external_location)
            if _function_name(table.this) not in _FILE_READERS:
                continue
            relation = table.this.sql(dialect="duckdb")
        else:
            parts = [p for p in (table.db, table.name) if p]
            relation = table_ref(".".join([catalog, *parts])).sql(dialect="duckdb")
        try:
            columns = [r[0] for r in con.execute(f"describe select * from {relation}").fetchall()]
        except Exception:  # not in this database
            continue
        columns = [c for c in columns if _candidate(c)]
        if not columns:
            continue
        quoted = [exp.to_identifier(c, quoted=True).sql(dialect="duckdb") for c in columns]
        counts = ", ".join(f"count(distinct {q}), count({q})" for q in quoted)
        row = con.execute(f"select count(*), {counts} from {relation}").fetchone()
        rows, values = row[0], row[1:]
        if rows < 2:
            continue  # every column of one row is unique: nothing to learn
        # unique among its values: a null matches nothing in a join
        keys = tuple(
            (c.lower(),) for i, c in enumerate(columns) if values[2 * i] == values[2 * i + 1]
        )
        if keys:
            found[node.unique_id] = Found(keys, "measured", f"its {rows:,} rows in {where}")
    return found


_FILE_READERS = {"read_csv", "read_csv_auto", "read_parquet", "read_json", "read_json_auto"}
_FILE_READERS |= {"readcsv", "readparquet", "readjson"}


def _function_name(node: exp.Expression) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.key).lower()


def _candidate(column: str) -> bool:
    """A column named like a key: `id`, or ending in `_id`, `_key` or `_sk`.

    >>> _candidate("ID"), _candidate("order_id"), _candidate("amount"), _candidate("paid")
    (True, True, False, False)
    """
    name = column.lower()
    return name == "id" or name.endswith(("_id", "_key", "_sk"))


def describe(found: Mapping[str, Found], graph: Graph) -> dict[str, dict[str, Any]]:
    """The grains found, by node label, as JSON."""
    return {
        graph.nodes[uid].label: {"keys": [list(k) for k in f.keys], "how": f.how, "by": f.by}
        for uid, f in sorted(found.items())
    }
