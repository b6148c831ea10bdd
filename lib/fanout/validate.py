"""Raw data validation: every rule the workbook relies on, checked before anything runs.

`check(data_dir)` returns the problems found, each naming the file, the rule, how many rows
break it and a few example rows; `require(data_dir)` raises `InvalidData` with that report.
Structure first (files, CSV syntax, columns, types), then content (keys, references,
positive quantities and prices, amounts equal to line totals, finance days). A table whose
structure is broken is not checked further. Everything is aggregated in DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fanout import raw
from fanout.errors import DataError

__all__ = ["InvalidData", "Problem", "check", "require"]

EXAMPLES = 3


@dataclass(frozen=True)
class Problem:
    """One rule broken in one file: how many rows, and a few of them."""

    file: str
    rule: str
    count: int
    examples: tuple[dict[str, Any], ...] = field(default=())

    def __str__(self) -> str:
        shown = "; ".join(
            ", ".join(f"{k}={v}" for k, v in e.items()) for e in self.examples[:EXAMPLES]
        )
        rows = "row" if self.count == 1 else "rows"
        return f"{self.file}: {self.rule}: {self.count:,} {rows}" + (
            f" (e.g. {shown})" if shown else ""
        )


class InvalidData(DataError):
    """The raw data breaks one or more validation rules."""

    exit_code = 1

    def __init__(self, data_dir: Path, problems: list[Problem]):
        self.problems = problems
        lines = [f"raw data in {data_dir} is not valid ({len(problems)} problems):"]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _rows(con, sql: str, params=None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _text_view(con, data_dir: Path, fmt: str, table: raw.Table) -> list[Problem]:
    """A view `v_<table>` of the file with every column as text and its line number."""
    path = table.file(data_dir, fmt)
    name = path.name
    if not path.exists():
        return [Problem(name, "missing file", 1)]
    try:
        if fmt == "csv":
            with path.open("rb") as fh:
                header = fh.readline().decode("utf-8", "replace").strip().split(",")
            source = (
                f"read_csv({_lit(path)}, header = true, all_varchar = true, "
                f"strict_mode = true, null_padding = false)"
            )
        else:
            import pyarrow.parquet as pq

            header = pq.read_schema(path).names
            source = f"read_parquet({_lit(path)})"
    except OSError as exc:
        return [Problem(name, f"unreadable file ({exc.strerror})", 1)]
    except Exception as exc:  # pyarrow: not a Parquet file
        return [Problem(name, f"unreadable file ({str(exc).splitlines()[0]})", 1)]
    expected = [c for c, _ in table.columns]
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    problems = []
    if missing:
        problems.append(
            Problem(
                name, f"missing columns: {', '.join(missing)}", 1, ({"header": ",".join(header)},)
            )
        )
    if extra:
        problems.append(
            Problem(
                name, f"unexpected columns: {', '.join(extra)}", 1, ({"header": ",".join(header)},)
            )
        )
    if problems:
        return problems
    if fmt == "parquet":
        # Typed already: the schema says whether each column holds its declared type.
        typed = ", ".join(f'"{c}"::{k} as "{c}"' for c, k in table.columns)
        try:
            con.execute(
                f'create or replace temp view "t_{table.name}" as select {typed}, '
                f"file_row_number + 1 as line "
                f"from read_parquet({_lit(path)}, file_row_number = true)"
            )
            con.execute(f'select count(*) from "t_{table.name}" limit 1').fetchall()
        except Exception as exc:
            first = str(exc).splitlines()[0]
            return [Problem(name, f"wrong types ({first[:160]})", 1)]
        return []
    casts = ", ".join(f'"{c}"' for c in expected)
    try:
        # Read once, as text (a table, not a view: DuckDB would push the later casts into the
        # CSV reader, which then fails instead of letting try_cast give null).
        con.execute(
            f'create or replace temp table "v_{table.name}" as select {casts}, '
            f"row_number() over () + 1 as line from {source}"
        )
    except Exception as exc:
        first = str(exc).splitlines()[0]
        detail = next((ln.strip() for ln in str(exc).splitlines() if "line" in ln.lower()), first)
        return [Problem(name, f"malformed CSV ({detail[:160]})", 1)]
    return []


def _typed_view(con, table: raw.Table, file: str) -> list[Problem]:
    """Count values that do not parse as their declared type (one pass), then create
    `t_<table>`, where such values are null."""

    def bad(c: str, k: str) -> str:
        return f'"{c}" is not null and try_cast("{c}" as {k}) is null'

    counts = con.execute(
        "select "
        + ", ".join(f"count(*) filter (where {bad(c, k)})" for c, k in table.columns)
        + f' from "v_{table.name}"'
    ).fetchall()[0]
    problems = []
    for (column, kind), n in zip(table.columns, counts, strict=True):
        if n:
            rows = _rows(
                con,
                f'select line, "{column}" as value from "v_{table.name}" '
                f"where {bad(column, kind)} order by line limit {EXAMPLES}",
            )
            problems.append(Problem(file, f"wrong type: {column} is not {kind}", n, tuple(rows)))
    casts = ", ".join(f'try_cast("{c}" as {k}) as "{c}"' for c, k in table.columns)
    con.execute(
        f'create or replace temp view "t_{table.name}" as select {casts}, line '
        f'from "v_{table.name}"'
    )
    return problems


def _count_rule(con, file: str, rule: str, sql: str) -> list[Problem]:
    (n,) = con.execute(f"select count(*) from ({sql})").fetchall()[0]
    if not n:
        return []
    return [Problem(file, rule, n, tuple(_rows(con, f"{sql} limit {EXAMPLES}")))]


def check(data_dir: str | Path) -> list[Problem]:
    """Every validation problem of the raw data in `data_dir` (empty: valid)."""
    import duckdb

    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data folder {data_dir} does not exist")
    fmt = next(
        (f for f in raw.FORMATS if any(t.file(data_dir, f).exists() for t in raw.TABLES.values())),
        "csv",
    )
    con = duckdb.connect()
    raw.quiet(con)
    problems: list[Problem] = []
    ok = {}
    for table in raw.TABLES.values():
        structure = _text_view(con, data_dir, fmt, table)
        problems += structure
        ok[table.name] = not structure  # content rules need the file's structure intact
        if not structure and fmt == "csv":
            problems += _typed_view(con, table, table.file(data_dir, fmt).name)
    ext = f".{fmt}"
    o, i, f = "raw_orders" + ext, "raw_order_items" + ext, "finance_daily_revenue" + ext
    if ok["raw_orders"]:
        problems += _count_rule(
            con,
            o,
            "null order_id",
            "select line from t_raw_orders where order_id is null order by line",
        )
        problems += _count_rule(
            con,
            o,
            "duplicate order_id",
            (
                "select order_id, count(*) as copies, min(line) as first_line from t_raw_orders "
                "where order_id is not null group by order_id having count(*) > 1 order by order_id"
            ),
        )
        problems += _count_rule(
            con,
            o,
            "null ordered_at or amount",
            (
                "select line, order_id from t_raw_orders "
                "where ordered_at is null or amount is null order by line"
            ),
        )
    if ok["raw_order_items"]:
        problems += _count_rule(
            con,
            i,
            "null order_item_id or order_id",
            (
                "select line from t_raw_order_items "
                "where order_item_id is null or order_id is null order by line"
            ),
        )
        problems += _count_rule(
            con,
            i,
            "duplicate order_item_id",
            (
                "select order_item_id, count(*) as copies from t_raw_order_items "
                "where order_item_id is not null group by 1 having count(*) > 1 order by 1"
            ),
        )
        problems += _count_rule(
            con,
            i,
            "non-positive quantity or unit_price",
            (
                "select line, order_item_id, quantity, unit_price from t_raw_order_items "
                "where quantity <= 0 or unit_price <= 0 or quantity is null or unit_price is null "
                "order by line"
            ),
        )
    if ok["raw_orders"] and ok["raw_order_items"]:
        problems += _count_rule(
            con,
            i,
            "line items whose order does not exist",
            (
                "select i.line, i.order_item_id, i.order_id from t_raw_order_items i "
                "anti join t_raw_orders o on i.order_id = o.order_id "
                "where i.order_id is not null order by i.line"
            ),
        )
        problems += _count_rule(
            con,
            o,
            "orders without line items",
            (
                "select o.line, o.order_id from t_raw_orders o "
                "anti join t_raw_order_items i on i.order_id = o.order_id "
                "where o.order_id is not null order by o.line"
            ),
        )
        problems += _count_rule(
            con,
            o,
            "amount differs from the sum of the line totals",
            (
                "with totals as (select order_id, sum(quantity * unit_price) as line_total "
                "from t_raw_order_items group by order_id) "
                "select o.line, o.order_id, o.amount, totals.line_total from t_raw_orders o "
                "join totals on o.order_id = totals.order_id "
                "where o.amount <> totals.line_total order by o.line"
            ),
        )
    if ok["finance_daily_revenue"]:
        problems += _count_rule(
            con,
            f,
            "duplicate or null revenue_date",
            (
                "select revenue_date, count(*) as copies from t_finance_daily_revenue "
                "group by 1 having count(*) > 1 or revenue_date is null order by 1"
            ),
        )
        if ok["raw_orders"]:
            problems += _count_rule(
                con,
                f,
                "finance days missing",
                (
                    "select distinct cast(o.ordered_at as date) as revenue_date "
                    "from t_raw_orders o "
                    "anti join t_finance_daily_revenue f "
                    "on cast(o.ordered_at as date) = f.revenue_date "
                    "where o.ordered_at is not null order by 1"
                ),
            )
    con.close()
    return problems


def require(data_dir: str | Path, cache_dir: str | Path | None = None) -> Path:
    """`data_dir` if its raw data is valid; else `InvalidData` naming every problem.

    With `cache_dir`, a dataset found valid once is not checked again while its files'
    content is unchanged (the marker is named by the content's digest).
    """
    from fanout.warehouse import dataset_digest

    data_dir = Path(data_dir)
    marker = None
    if cache_dir is not None and data_dir.is_dir():
        try:
            marker = Path(cache_dir) / f"{dataset_digest(data_dir)}.valid"
        except DataError:
            marker = None  # files missing: check() says which
        if marker is not None and marker.exists():
            return data_dir
    problems = check(data_dir)
    if problems:
        raise InvalidData(data_dir, problems)
    if marker is not None:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return data_dir
