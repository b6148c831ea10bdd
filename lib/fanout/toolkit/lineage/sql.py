"""Helpers reading sqlglot expressions: casts, conjuncts, constants, set-returning calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from fanout.toolkit.lineage.manifest import DIALECT


def _subtotals(q: exp.Select) -> bool:
    """Whether the GROUP BY adds subtotal rows (rollup, cube, grouping sets)."""
    group = q.args.get("group")
    kinds = exp.Rollup | exp.Cube | exp.GroupingSets
    return group is not None and (
        any(isinstance(g, kinds) for g in group.expressions)
        or any(group.args.get(k) for k in ("rollup", "cube", "grouping_sets"))
    )


def _arg(node: exp.Expression, name: str) -> Any:
    """An argument of a node under its name in this or older sqlglot (`from_` or `from`)."""
    value = node.args.get(f"{name}_")
    return value if value is not None else node.args.get(name)


def _outside(node: exp.Expression) -> Iterator[exp.Expression]:
    """The node and its descendants, not entering windows and subqueries."""
    yield node
    if isinstance(node, exp.Window | exp.Subquery | exp.Select):
        return
    for child in node.iter_expressions():
        yield from _outside(child)


_LOSSY = ("date", "time")  # a cast to these can map several values to one


def _strip(node: exp.Expression) -> exp.Expression:
    """The expression under aliases, parentheses and casts (a cast column keeps its grain),
    stopping at a cast to a date or time, which can map several values to one.

    >>> _strip(sqlglot.parse_one("cast(order_id as bigint) as id")).sql()
    'order_id'
    >>> _strip(sqlglot.parse_one("cast(ordered_at as date)")).sql()
    'CAST(ordered_at AS DATE)'
    """
    while isinstance(node, exp.Cast | exp.Paren | exp.Alias):
        if isinstance(node, exp.Cast) and node.to.is_type(*_LOSSY):
            break
        node = node.this
    return node


def _conjuncts(node: exp.Expression | None) -> list:
    if node is None:
        return []
    node = node.unnest() if isinstance(node, exp.Paren) else node
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [_null_safe(node)]


def _is_constant(node: exp.Expression) -> bool:
    return isinstance(_strip(node), exp.Literal | exp.Boolean | exp.Null)


def _literal_int(node: exp.Expression) -> int | None:
    node = _strip(node)
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return int(node.this)
    return None


def _same_name(node: exp.Expression, name: str) -> bool:
    node = _strip(node)
    return isinstance(node, exp.Column) and node.name.lower() == name


def _literal_value(node: exp.Expression) -> str | None:
    node = _strip(node)
    return node.sql(dialect=DIALECT) if _is_constant(node) else None


def _aggregates(node: exp.Expression) -> bool:
    return any(isinstance(n, exp.AggFunc) for n in _outside(node))


_RANDOM = {"rand", "random", "uuid", "gen_random_uuid", "nextval", "setseed"}


def _deterministic(node: exp.Expression) -> bool:
    """Whether the expression's value is a function of the columns it reads (not random, not
    a window, not one of the rows a set-returning function gives)."""
    for n in _outside(node):  # one walk: windows, random and set-returning calls
        if isinstance(n, exp.Window):
            return False
        if isinstance(n, exp.Func):
            if _returns_rows(n):
                return False
            name = n.name if isinstance(n, exp.Anonymous) else type(n).__name__
            if name.lower() in _RANDOM:
                return False
    return True


# Set-returning functions: in a select list each can give several rows per row. sqlglot
# parses most into these classes (unnest, explode, posexplode, inline, stack, range and
# generate_series, which in some dialects return a list instead: unknown is never unsafe);
# the rest stay anonymous functions, known by name.
_SET_RETURNING = (exp.UDTF, exp.GenerateSeries)
_SET_RETURNING_NAMES = frozenset({
    "explode", "explode_outer", "posexplode", "posexplode_outer", "inline", "inline_outer",
    "stack", "unnest", "flatten", "range", "generate_series", "generate_subscripts",
    "json_each", "json_each_text", "jsonb_each", "jsonb_each_text", "json_array_elements",
    "json_array_elements_text", "jsonb_array_elements", "jsonb_array_elements_text",
    "json_object_keys", "jsonb_object_keys", "json_populate_recordset",
    "jsonb_populate_recordset", "json_to_recordset", "jsonb_to_recordset", "jsonb_path_query",
    "regexp_matches", "regexp_split_to_table", "string_to_table",
})  # fmt: skip


def _set_returning(node: exp.Expression) -> exp.Expression | None:
    """The first set-returning function an expression calls, outside subqueries and windows.

    >>> _set_returning(sqlglot.parse_one("1 + unnest(tags)", read="duckdb")).sql()
    'EXPLODE(tags)'
    >>> _set_returning(sqlglot.parse_one("'a' in unnest(tags)", read="bigquery")) is None
    True
    """
    return next((n for n in _outside(node) if _returns_rows(n)), None)


def _returns_rows(n: exp.Expression) -> bool:
    """Whether a call is a set-returning function (not `x in unnest(array)`, a test)."""
    if isinstance(n, exp.Unnest) and isinstance(n.parent, exp.In):
        return False
    if isinstance(n, _SET_RETURNING):
        return True
    return isinstance(n, exp.Anonymous) and n.name.lower() in _SET_RETURNING_NAMES


def _sql(node: exp.Expression) -> str:
    """An expression as SQL text (the tree is only read, so not copied first)."""
    return node.sql(dialect=DIALECT, normalize_functions="lower", copy=False)


def _output_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Alias):
        return node.alias.lower()
    if isinstance(node, exp.Column):
        return node.name.lower()
    return _sql(node).lower()


def _parse(sql: str, dialect: str = DIALECT) -> exp.Expression:
    try:
        return sqlglot.parse_one(sql, read=dialect)
    except SqlglotError as exc:
        errors = getattr(exc, "errors", None) or [{}]
        where = f" at line {errors[0]['line']}" if errors[0].get("line") else ""
        what = errors[0].get("description") or str(exc).splitlines()[0]
        what = re.sub(r"<Token token_type: [^,]*, text: ([^,]*),[^>]*>", r"'\1'", what)
        raise _Unreadable(f"cannot parse its SQL{where}: {what}") from None
    except RecursionError:
        raise _Unreadable("its SQL is nested too deeply to parse") from None


class _Unreadable(Exception):
    """The SQL cannot be read; the message says why."""


_HASHES = ("md5", "sha", "sha1", "sha2", "sha256", "sha512", "hash", "farmfingerprint")
_HASHES += ("farm_fingerprint", "xxhash64", "hashbytes", "md5digest", "md5_binary", "hash_md5")


def _injective(node: exp.Expression) -> bool:
    """Whether an expression tells its input columns apart: a hash or a concatenation of
    them (a surrogate key), taken as one-to-one with the columns it reads.

    >>> _injective(sqlglot.parse_one("md5(cast(a as varchar) || '-' || b)"))
    True
    >>> _injective(sqlglot.parse_one("a + b")), _injective(sqlglot.parse_one("upper(a)"))
    (False, False)
    """
    node = _strip(node)
    if isinstance(node, exp.Concat | exp.ConcatWs | exp.DPipe):
        return True
    name = node.name if isinstance(node, exp.Anonymous) else node.key
    return name.lower() in _HASHES


def _null_safe(node: exp.Expression) -> exp.Expression:
    """`a is not distinct from b` or `a = b or (a is null and b is null)` as `a = b`: an
    equality for the join's grain (nulls meet nulls).

    >>> _null_safe(sqlglot.parse_one("x.a = y.a or (x.a is null and y.a is null)")).sql()
    'x.a = y.a'
    """
    if isinstance(node, exp.NullSafeEQ):
        return exp.EQ(this=node.this, expression=node.expression)
    if not isinstance(node, exp.Or):
        return node
    parts = [p.unnest() for p in (node.this, node.expression)]
    equal = next((p for p in parts if isinstance(p, exp.EQ)), None)
    nulls = next((p for p in parts if isinstance(p, exp.And)), None)
    if equal is None or nulls is None:
        return node
    tested = [p.unnest() for p in (nulls.this, nulls.expression)]
    nulls_both = all(isinstance(t, exp.Is) and isinstance(t.expression, exp.Null) for t in tested)
    if nulls_both and {t.this for t in tested} == {equal.this, equal.expression}:
        return equal
    return node
