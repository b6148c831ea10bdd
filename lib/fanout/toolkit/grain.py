"""Grain checks: is a relation one row per key? Rows, distinct keys and duplicates, in SQL.

The SQL is built with sqlglot from identifiers (never pasted strings): a name that is not a
plain identifier is quoted, a plain one is left as it is so that case-folding warehouses
(Snowflake) find it. It runs on DuckDB here and transpiles to other warehouses.

>>> print(grain_sql("stg_orders", ["order_id"]))  # doctest: +NORMALIZE_WHITESPACE
WITH keyed AS (SELECT order_id, COUNT(*) AS n_rows FROM stg_orders GROUP BY order_id)
SELECT COALESCE(SUM(n_rows), 0) AS "rows", COUNT(*) AS distinct_keys,
COALESCE(SUM(CASE WHEN n_rows > 1 THEN 1 ELSE 0 END), 0) AS duplicated_keys,
COALESCE(SUM(CASE WHEN n_rows > 1 THEN n_rows ELSE 0 END), 0) AS rows_in_duplicates,
COALESCE(SUM(CASE WHEN order_id IS NULL THEN n_rows ELSE 0 END), 0) AS null_key_rows,
COALESCE(MAX(n_rows), 0) AS max_rows_per_key FROM keyed
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from fanout.errors import DataError
from fanout.toolkit.dbt_target import Target
from fanout.toolkit.relations import parse_relation, table_ref

__all__ = [
    "GrainReport",
    "check",
    "check_sql",
    "grain_sql",
    "parse_relation",
    "portable_check_sql",
    "table_ref",
]


@dataclass(frozen=True)
class GrainReport:
    """How far a relation is from one row per key."""

    relation: str
    key: tuple[str, ...]
    rows: int
    distinct_keys: int
    duplicated_keys: int
    rows_in_duplicates: int
    null_key_rows: int
    max_rows_per_key: int
    examples: tuple[tuple[tuple[Any, ...], int], ...] = ()

    @property
    def ok(self) -> bool:
        return self.duplicated_keys == 0 and self.null_key_rows == 0

    @property
    def rows_per_key(self) -> float:
        return self.rows / self.distinct_keys if self.distinct_keys else 0.0


def _source(relation: str | exp.Expression) -> exp.Expression:
    """A table reference from a (possibly schema-qualified) name, or a query as a subquery."""
    if isinstance(relation, exp.Expression):
        return relation.subquery("source") if isinstance(relation, exp.Query) else relation
    return table_ref(relation)


def _keyed(relation: str | exp.Expression, key: Sequence[str]) -> exp.Select:
    if not key:
        raise DataError("a grain needs at least one key column")
    columns = [exp.column(k) for k in key]
    return (
        exp.select(*columns, exp.alias_(exp.Count(this=exp.Star()), "n_rows"))
        .from_(_source(relation))
        .group_by(*columns)
    )


def _summary(relation: str | exp.Expression, key: Sequence[str]) -> exp.Select:
    n = exp.column("n_rows")
    any_null = exp.or_(*[exp.column(k).is_(exp.null()) for k in key])

    def total(value: exp.Expression, when: exp.Expression | None = None) -> exp.Expression:
        if when is not None:
            value = exp.Case().when(when, value).else_(exp.Literal.number(0))
        return exp.func("coalesce", exp.Sum(this=value), exp.Literal.number(0))

    return (
        exp.select(
            exp.alias_(total(n), "rows", quoted=True),
            exp.alias_(exp.Count(this=exp.Star()), "distinct_keys"),
            exp.alias_(total(exp.Literal.number(1), n > 1), "duplicated_keys"),
            exp.alias_(total(n, n > 1), "rows_in_duplicates"),
            exp.alias_(total(n, any_null), "null_key_rows"),
            exp.alias_(
                exp.func("coalesce", exp.Max(this=n), exp.Literal.number(0)), "max_rows_per_key"
            ),
        )
        .from_("keyed")
        .with_("keyed", as_=_keyed(relation, key))
    )


def grain_sql(relation: str | exp.Expression, key: Sequence[str], dialect: str = "duckdb") -> str:
    """One query returning rows, distinct keys, duplicated keys, rows in duplicated keys,
    rows with a null key part and the most rows any key has. Portable: runs on any warehouse
    sqlglot writes for."""
    return _summary(relation, key).sql(dialect=dialect)


def check_sql(relation: str | exp.Expression, key: Sequence[str], examples: int = 5) -> str:
    """`grain_sql` plus the `examples` keys with the most rows, in one pass (DuckDB): the
    keys are counted once into a materialized CTE that both parts read. The examples come
    as a list of structs `{k0, ..., n_rows}`, most rows first, ties by key."""
    query = _summary(relation, key)
    if examples:
        query.find(exp.CTE).set("materialized", True)
        keys = [exp.column(k) for k in key]
        n = exp.column("n_rows")
        worst = (
            exp.select(*keys, n)
            .from_("keyed")
            .where(n > 1)
            .order_by(n.desc(), *keys)
            .limit(examples)
        )
        packed = ", ".join(
            [f"'k{i}': {k.sql('duckdb')}" for i, k in enumerate(keys)] + ["'n_rows': n_rows"]
        )
        order = ", ".join(["n_rows desc", *(k.sql("duckdb") for k in keys)])
        listed = exp.maybe_parse(
            f"(select array_agg({{{packed}}} order by {order}) from worst)", dialect="duckdb"
        )
        query = query.with_("worst", as_=worst).select(exp.alias_(listed, "examples"))
    return query.sql(dialect="duckdb")


def portable_check_sql(
    relation: str | exp.Expression, key: Sequence[str], examples: int = 5, dialect: str = "duckdb"
) -> str:
    """`grain_sql` plus the `examples` keys with the most rows, in one statement of plain
    SQL for any warehouse: the key counts (`keyed`) are read by both the summary and the
    worst keys, which are joined to it, one row each (one row with null examples when no
    key repeats), most rows first, ties by key. An engine that computes a CTE read twice
    once scans the table once (PostgreSQL materializes it; Spark's plan reuses the
    aggregate's exchange).

    >>> print(portable_check_sql("t", ["k"], 2, "spark"))  # doctest: +ELLIPSIS
    WITH keyed AS (SELECT k, COUNT(*) AS n_rows FROM t GROUP BY k), summary AS (...), \
worst AS (SELECT k AS example_0, n_rows AS example_rows FROM keyed WHERE n_rows > 1 \
ORDER BY n_rows DESC, k LIMIT 2) SELECT summary.*, worst.* FROM summary LEFT JOIN worst \
ON TRUE ORDER BY worst.example_rows DESC, worst.example_0
    """
    if not examples:
        return grain_sql(relation, key, dialect)
    summary = _summary(relation, key)
    keyed = _keyed(relation, key)
    summary.find(exp.With).pop()
    keys = [exp.column(k) for k in key]
    n = exp.column("n_rows")
    named = [exp.alias_(k.copy(), f"example_{i}") for i, k in enumerate(keys)]
    worst = (
        exp.select(*named, exp.alias_(n.copy(), "example_rows"))
        .from_("keyed")
        .where(n > 1)
        .order_by(n.desc(), *keys)
        .limit(examples)
    )
    w = [exp.column(f"example_{i}", table="worst") for i in range(len(keys))]
    query = (
        exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("summary")))
        .select(exp.Column(this=exp.Star(), table=exp.to_identifier("worst")))
        .from_("summary")
        .join("worst", on=exp.true(), join_type="left")
        .order_by(exp.column("example_rows", table="worst").desc(), *w)
        .with_("keyed", as_=keyed)
        .with_("summary", as_=summary)
        .with_("worst", as_=worst)
    )
    return query.sql(dialect=dialect)


def _check_on_target(target, relation, key, label, examples) -> GrainReport:
    """The check through a dbt target (`fanout.toolkit.dbt_target.Target`): one statement in the
    target's dialect (`portable_check_sql`)."""
    if isinstance(relation, str):
        relation = target.relation(relation)
    if label == "query" and isinstance(relation, exp.Table):
        label = relation.sql(dialect=target.dialect)
    rows = target.rows(portable_check_sql(relation, key, examples, target.dialect), label)
    counts = [int(v) for v in rows[0][:6]]
    worst = tuple(
        (tuple(r[6 : 6 + len(key)]), int(r[6 + len(key)]))
        for r in rows
        if len(r) > 6 and r[6 + len(key)] is not None
    )
    return GrainReport(label, key, *counts, examples=worst)


def check(
    con,
    relation: str | exp.Expression,
    key: Sequence[str],
    *,
    name: str | None = None,
    examples: int = 5,
) -> GrainReport:
    """Check that `relation` (a table name, or a query) is one row per `key` on `con`: a
    DuckDB connection, or a dbt target (`fanout.toolkit.dbt_target.Target`)."""
    import duckdb  # lazy: lint imports this module (table_ref) and never queries

    key = tuple(key)
    if not key:
        raise DataError("a grain needs at least one key column")
    label = name or (relation if isinstance(relation, str) else "query")
    if isinstance(con, Target):
        return _check_on_target(con, relation, key, label, examples)
    try:
        row = con.execute(check_sql(relation, key, examples)).fetchall()[0]
    except duckdb.CatalogException as exc:
        raise DataError(f"{label}: {str(exc).splitlines()[0]}") from None
    except duckdb.BinderException as exc:
        raise DataError(f"{label}: {str(exc).splitlines()[0]}") from None
    worst = (row[6] or []) if examples else []
    return GrainReport(
        label,
        key,
        *(int(v) for v in row[:6]),
        examples=tuple(
            (tuple(w[f"k{i}"] for i in range(len(key))), int(w["n_rows"])) for w in worst
        ),
    )
