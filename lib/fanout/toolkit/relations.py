"""Relation names as sqlglot table references: built from identifiers (a name that is not a
plain identifier is quoted), or parsed from a manifest as exactly one table reference."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from fanout.errors import DataError

__all__ = ["parse_relation", "table_ref"]


def table_ref(relation: str) -> exp.Table:
    """A quoted table reference from `name`, `schema.name` or `catalog.schema.name`.

    >>> table_ref('main.x"; drop table y').sql()
    'main."x""; drop table y"'
    """
    parts = relation.split(".")
    if not all(parts):
        raise DataError(f"relation name {relation!r} is empty or has an empty part")
    return exp.Table(
        this=exp.to_identifier(parts[-1]),
        db=exp.to_identifier(parts[-2]) if len(parts) > 1 else None,
        catalog=exp.to_identifier(parts[-3]) if len(parts) > 2 else None,
    )


def parse_relation(text: str, where: str, dialect: str = "duckdb") -> exp.Table:
    """A relation name from a manifest (`"catalog"."schema"."name"`, or a table function
    such as a file read in place) parsed by sqlglot as one table reference; anything else
    (several statements, a query, more than three parts) is a `DataError` naming `where`.

    >>> parse_relation('"shop"."main"."stg_orders"', "stg_orders").sql()
    '"shop"."main"."stg_orders"'
    >>> parse_relation('"shop"."main"."x"; drop table y; --', "model x")
    Traceback (most recent call last):
    ...
    fanout.errors.DataError: model x: relation_name '"shop"."main"."x"; drop table y; --' is not a table name
    """  # noqa: E501

    shown = text if len(text) <= 120 else text[:117] + "..."
    refused = DataError(f"{where}: relation_name {shown!r} is not a table name")
    if not isinstance(text, str) or not text.strip():
        raise refused
    try:
        table = sqlglot.parse_one(text, into=exp.Table, dialect=dialect)
    except (SqlglotError, ValueError, RecursionError):
        raise refused from None
    if not isinstance(table, exp.Table) or len(table.parts) > 3:
        raise refused
    if not isinstance(table.this, exp.Func) and not all(
        isinstance(p, exp.Identifier) for p in table.parts
    ):
        raise refused
    if {k for k, v in table.args.items() if v} - {"this", "db", "catalog"}:
        raise refused  # an alias, a sample, a version: not a plain name
    return table
