"""Reconciliation: a mart's daily revenue against the finance system, day by day.

The SQL is built with sqlglot from quoted identifiers; a day missing on either side counts
as zero there, so a missing day is a difference, not a silent gap.

>>> print(daily_sql("fct_revenue_daily", "finance_daily_revenue"))  # doctest: +NORMALIZE_WHITESPACE
SELECT COALESCE(mart.revenue_date, finance.revenue_date) AS revenue_date,
COALESCE(mart.revenue, 0) AS mart_revenue, COALESCE(finance.revenue, 0) AS finance_revenue,
COALESCE(mart.revenue, 0) - COALESCE(finance.revenue, 0) AS difference
FROM (SELECT CAST(revenue_date AS DATE) AS revenue_date, SUM(revenue) AS revenue
FROM fct_revenue_daily GROUP BY CAST(revenue_date AS DATE)) AS mart
FULL OUTER JOIN (SELECT CAST(revenue_date AS DATE) AS revenue_date, SUM(revenue) AS revenue
FROM finance_daily_revenue GROUP BY CAST(revenue_date AS DATE)) AS finance
ON mart.revenue_date = finance.revenue_date ORDER BY revenue_date NULLS FIRST
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlglot import exp

from fanout.toolkit.dbt_target import Target
from fanout.toolkit.relations import table_ref

__all__ = ["Day", "Reconciliation", "daily", "daily_sql"]


@dataclass(frozen=True)
class Day:
    revenue_date: dt.date
    mart: Decimal
    finance: Decimal

    @property
    def difference(self) -> Decimal:
        return self.mart - self.finance


@dataclass(frozen=True)
class Reconciliation:
    """Every day's mart and finance revenue, and which days disagree beyond the tolerance."""

    days: tuple[Day, ...]
    tolerance: Decimal

    @property
    def disagreeing(self) -> tuple[Day, ...]:
        return tuple(d for d in self.days if abs(d.difference) > self.tolerance)

    @property
    def ok(self) -> bool:
        return not self.disagreeing

    @property
    def max_abs_difference(self) -> Decimal:
        return max((abs(d.difference) for d in self.days), default=Decimal(0))

    @property
    def mart_total(self) -> Decimal:
        return sum((d.mart for d in self.days), Decimal(0))

    @property
    def finance_total(self) -> Decimal:
        return sum((d.finance for d in self.days), Decimal(0))


def _daily(relation: str | exp.Table, date_column: str, revenue_column: str) -> exp.Select:
    # a timestamp column is reconciled by its day
    date = exp.Cast(this=exp.column(date_column), to=exp.DataType.build("date"))
    return (
        exp.select(
            exp.alias_(date, "revenue_date"),
            exp.alias_(exp.Sum(this=exp.column(revenue_column)), "revenue"),
        )
        .from_(relation if isinstance(relation, exp.Table) else table_ref(relation))
        .group_by(date)
    )


def daily_sql(
    mart: str | exp.Table,
    finance: str | exp.Table,
    *,
    mart_columns: tuple[str, str] = ("revenue_date", "revenue"),
    finance_columns: tuple[str, str] = ("revenue_date", "revenue"),
    dialect: str = "duckdb",
) -> str:
    """Per day: the mart's revenue, finance's revenue and the difference (mart - finance)."""
    zero = exp.Literal.number(0)

    def side(name: str) -> exp.Expression:
        return exp.func("coalesce", exp.column("revenue", table=name), zero)

    on = exp.column("revenue_date", table="mart").eq(exp.column("revenue_date", table="finance"))
    query = (
        exp.select(
            exp.alias_(
                exp.func(
                    "coalesce",
                    exp.column("revenue_date", table="mart"),
                    exp.column("revenue_date", table="finance"),
                ),
                "revenue_date",
            ),
            exp.alias_(side("mart"), "mart_revenue"),
            exp.alias_(side("finance"), "finance_revenue"),
            exp.alias_(exp.Sub(this=side("mart"), expression=side("finance")), "difference"),
        )
        .from_(_daily(mart, *mart_columns).subquery("mart"))
        .join(_daily(finance, *finance_columns).subquery("finance"), on=on, join_type="full outer")
        .order_by("revenue_date")
    )
    return query.sql(dialect=dialect)


def daily(
    con,
    mart: str | exp.Table,
    finance: str | exp.Table,
    *,
    tolerance: Decimal | str | float = Decimal("0.00"),
    **columns,
) -> Reconciliation:
    """Reconcile `mart` against `finance` on `con`: a DuckDB connection, or a dbt target
    (`fanout.toolkit.dbt_target.Target`, where the query is written in the target's dialect and
    bare names are read from the target's schema)."""
    if isinstance(con, Target):
        mart, finance = con.relation(mart), con.relation(finance)
        what = mart.sql(dialect=con.dialect)
        rows = con.rows(daily_sql(mart, finance, dialect=con.dialect, **columns), what)
    else:
        rows = con.execute(daily_sql(mart, finance, **columns)).fetchall()
    days = tuple(Day(_date(r[0]), Decimal(r[1]), Decimal(r[2])) for r in rows)
    return Reconciliation(days, Decimal(str(tolerance)))


def _date(value) -> dt.date:
    """A day as a `date` (a driver may hand a day over as a midnight `datetime`)."""
    return value.date() if isinstance(value, dt.datetime) else value
