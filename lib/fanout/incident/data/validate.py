"""Raw data validation: every rule the workbook relies on, checked before anything runs.

`check(data_dir)` returns the problems found, each naming the file, the rule, how many rows
break it and a few example rows; `require(data_dir)` raises `InvalidData` with that report.
Structure first (files, CSV syntax, columns, types), then content (keys, references,
positive quantities and prices, amounts equal to line totals, finance days). A table whose
structure is broken is not checked further. Everything is aggregated in DuckDB.
"""

from __future__ import annotations

import csv
import re
import stat
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from fanout import bounded
from fanout.errors import DataError
from fanout.incident.data import raw
from fanout.incident.data.raw import dataset_digest
from fanout.incident.data.rules import CONTENT_RULES, EXAMPLES, Problem, _rows

__all__ = ["InvalidData", "Problem", "check", "inherit", "require", "require_input"]


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


def _structure(data_dir: Path, fmt: str, table: raw.Table) -> tuple[list[Problem], list[str]]:
    """The file's problems before any content is read (missing, not a regular file, an
    unreadable header, missing, extra or repeated columns), and its columns as the file
    orders them."""
    path = table.file(data_dir, fmt)
    name = path.name
    try:
        info = path.stat()
    except FileNotFoundError:
        return [Problem(name, "missing file", 1)], []
    except OSError as exc:
        return [Problem(name, f"unreadable file ({exc.strerror})", 1)], []
    if not stat.S_ISREG(info.st_mode):
        what = bounded.kind(info.st_mode)
        if stat.S_ISDIR(info.st_mode):  # as the OS words it
            return [Problem(name, "unreadable file (Is a directory)", 1)], []
        return [Problem(name, f"not a regular file ({what})", 1)], []
    try:
        header = _csv_header(path) if fmt == "csv" else _parquet_schema(path).names
    except _Unreadable as exc:
        return [Problem(name, str(exc), 1)], []
    expected = [c for c, _ in table.columns]
    shown = ({"header": ",".join(header)[:200]},)
    problems = []
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing:
        problems.append(Problem(name, f"missing columns: {', '.join(missing)}", 1, shown))
    if extra:
        problems.append(Problem(name, f"unexpected columns: {', '.join(extra)}", 1, shown))
    if repeated:
        problems.append(Problem(name, f"repeated columns: {', '.join(repeated)}", 1, shown))
    return problems, header


class _Unreadable(Exception):
    """A file's header or schema cannot be read; the message is the rule broken."""


def _csv_header(path: Path) -> list[str]:
    """The column names on the first line of a CSV file, read within FANOUT_MAX_LINE_BYTES."""

    limit = bounded.limit("FANOUT_MAX_LINE_BYTES")
    try:
        with bounded.open_regular(path, "raw file", None) as fh:
            line = fh.readline(limit + 1)
    except DataError as exc:
        raise _Unreadable(f"unreadable file ({exc})") from None
    if len(line) > limit:
        raise _Unreadable(
            f"malformed CSV: a header longer than {bounded.size_text(limit)} "
            "(FANOUT_MAX_LINE_BYTES)"
        )
    try:
        text = line.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise _Unreadable("malformed CSV: the header is not UTF-8 text") from None
    try:
        return next(csv.reader([text.rstrip("\r\n")]), [])
    except csv.Error as exc:
        raise _Unreadable(f"malformed CSV: the header cannot be read ({exc})") from None


def _parquet_schema(path: Path):
    try:
        return pq.read_schema(path)
    except OSError as exc:
        raise _Unreadable(f"unreadable file ({exc.strerror or str(exc).splitlines()[0]})") from None
    except Exception as exc:  # pyarrow: not a Parquet file
        raise _Unreadable(f"unreadable file ({str(exc).splitlines()[0][:160]})") from None


_CSV_REASONS = (
    (r"Expected Number of Columns: (\d+) Found: (\d+)", "{2} fields where the header has {1}"),
    (r"Maximum line size of (\d+) bytes exceeded", "a line longer than {1} bytes"),
    (r"unterminated quote", "a quote that is never closed"),
    (r"Invalid unicode", "not UTF-8 text"),
)


def _csv_error(text: str) -> tuple[str, tuple[dict[str, Any], ...]]:
    """What DuckDB's CSV reader says is wrong, in a few words, and the line it names.

    >>> _csv_error("Invalid Input Error: CSV Error on Line: 4\\nOriginal Line: 1,2,3\\n"
    ...            "Expected Number of Columns: 2 Found: 3\\nPossible fixes: ...")
    ("malformed CSV: a row with more fields than the header's 2", ({'line': 4},))
    """
    line = re.search(r"CSV Error on Line: (\d+)", text)
    where = ({"line": int(line[1])},) if line else ()
    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if counts and int(counts[2]) > int(counts[1]):  # DuckDB stops counting one field past
        return f"malformed CSV: a row with more fields than the header's {counts[1]}", where
    for pattern, reason in _CSV_REASONS:
        found = re.search(pattern, text)
        if found:
            return "malformed CSV: " + reason.format(*[found[0], *found.groups()]), where
    first = text.strip().splitlines()[0] if text.strip() else "unreadable"
    first = re.sub(r"^[A-Za-z ]+Error: ", "", first)
    if "LINE 1:" in first or "read_csv" in first:
        first = "DuckDB cannot read it"
    return f"malformed CSV: {first[:160]}", where


def _csv_view(con, path: Path, table: raw.Table, header: list[str]) -> list[Problem]:
    """Table `v_<table>` of the CSV file, every column as text, and its line numbers. The
    dialect is given, not sniffed (a ragged row would make a sniffer guess another one)."""
    columns = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in header)
    source = (
        f"read_csv({_lit(path)}, header = true, delim = ',', quote = '\"', escape = '\"', "
        f"columns = {{{columns}}}, auto_detect = false, strict_mode = true, "
        "null_padding = false)"
    )
    names = ", ".join(f'"{c}"' for c, _ in table.columns)
    try:
        # Read once, as text (a table, not a view: DuckDB would push the later casts into the
        # CSV reader, which then fails instead of letting try_cast give null).
        con.execute(
            f'create or replace temp table "v_{table.name}" as select {names}, '
            f"row_number() over () + 1 as line from {source}"
        )
    except Exception as exc:
        rule, where = _csv_error(str(exc))
        return [Problem(path.name, rule, 1, where)]
    return []


def _arrow_fits(arrow_type, kind: str) -> bool:
    """Whether a Parquet column's type holds the declared DuckDB type's values exactly."""

    t = arrow_type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if kind in ("BIGINT", "INTEGER"):
        bits = 64 if kind == "BIGINT" else 32
        return (pa.types.is_signed_integer(t) and t.bit_width <= bits) or (
            pa.types.is_unsigned_integer(t) and t.bit_width < bits
        )
    if kind.startswith("DECIMAL"):
        precision, scale = (int(x) for x in kind[8:-1].split(","))
        return (
            pa.types.is_decimal(t)
            and t.scale <= scale
            and t.precision - t.scale <= (precision - scale)
        )
    if kind == "TIMESTAMP":
        return pa.types.is_timestamp(t) and t.tz is None
    if kind == "DATE":
        return pa.types.is_date(t)
    return False


def _parquet_view(con, path: Path, table: raw.Table) -> list[Problem]:
    """Check each column's Parquet type against the declared type (money exact, integers
    whole, timestamps without a time zone), then view `t_<table>` with line numbers."""
    schema = _parquet_schema(path)
    wrong = []
    for column, kind in table.columns:
        arrow = schema.field(column).type
        if not _arrow_fits(arrow, kind):
            wrong.append(Problem(path.name, f"wrong type: {column} is {arrow}, not {kind}", 1))
    if wrong:
        return wrong
    typed = ", ".join(f'"{c}"::{k} as "{c}"' for c, k in table.columns)
    try:
        con.execute(
            f'create or replace temp view "t_{table.name}" as select {typed}, '
            f"file_row_number + 1 as line "
            f"from read_parquet({_lit(path)}, file_row_number = true)"
        )
        con.execute(f'select count(*) from "t_{table.name}"').fetchall()
    except Exception as exc:
        first = str(exc).splitlines()[0]
        return [Problem(path.name, f"unreadable values ({first[:160]})", 1)]
    return []


# Values DuckDB reads as the declared type, but changed: rounded, or with a part dropped.
_TIME_ZONE = (  # after the time: Z, an offset (+02, +02:00, -0530) or a zone's name
    r"[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]*)?)?\s*"
    r"([zZ]|[+-][0-9]{1,2}(:?[0-9]{2})?|[A-Za-z][A-Za-z_/+-]*)\s*$"
)


def _changed(column: str, kind: str) -> tuple[str, str] | None:
    """(rule, SQL condition) for values of `column` that reading as `kind` would change."""
    c = f'"{column}"'
    if kind in ("BIGINT", "INTEGER"):
        number = f"try_cast({c} as double)"
        return f"{column} is not a whole number", f"{number} <> floor({number})"
    if kind.startswith("DECIMAL"):
        scale = int(kind[8:-1].split(",")[1])
        exact = f"try_cast({c} as decimal(38, 12))"
        return (
            f"{column} has more than {scale} decimal places",
            f"{exact} <> try_cast({c} as {kind})",
        )
    if kind == "TIMESTAMP":
        return (
            f"{column} carries a time zone (read as local time, it would be ignored)",
            f"regexp_matches({c}, {_lit(_TIME_ZONE)})",
        )
    if kind == "DATE":
        return (
            f"{column} carries a time of day",
            f"try_cast({c} as timestamp) <> try_cast({c} as date)",
        )
    return None


def _typed_view(con, table: raw.Table, file: str) -> list[Problem]:
    """Count values that do not parse as their declared type, and values that would be
    changed by it (rounded, a time zone dropped), in one pass; then create `t_<table>`, where
    such values are null."""

    def bad(c: str, k: str) -> str:
        return f'"{c}" is not null and try_cast("{c}" as {k}) is null'

    rules = [(f"wrong type: {c} is not {k}", bad(c, k), c) for c, k in table.columns]
    for c, k in table.columns:
        changed = _changed(c, k)
        if changed is not None:
            rules.append((changed[0], f'"{c}" is not null and ({changed[1]})', c))
    counts = con.execute(
        "select "
        + ", ".join(f"count(*) filter (where {cond})" for _, cond, _ in rules)
        + f' from "v_{table.name}"'
    ).fetchall()[0]
    problems = []
    for (rule, cond, column), n in zip(rules, counts, strict=True):
        if n:
            rows = _rows(
                con,
                f'select line, "{column}" as value from "v_{table.name}" '
                f"where {cond} order by line limit {EXAMPLES}",
            )
            problems.append(Problem(file, rule, n, tuple(rows)))
    casts = ", ".join(f'try_cast("{c}" as {k}) as "{c}"' for c, k in table.columns)
    con.execute(
        f'create or replace temp view "t_{table.name}" as select {casts}, line '
        f'from "v_{table.name}"'
    )
    return problems


def check(data_dir: str | Path) -> list[Problem]:
    """Every validation problem of the raw data in `data_dir` (empty: valid): the structure
    of each file first, then each of `CONTENT_RULES` whose tables are intact."""

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
        path = table.file(data_dir, fmt)
        structure, header = _structure(data_dir, fmt, table)
        if not structure:
            if fmt == "csv":
                structure = _csv_view(con, path, table, header)
                if not structure:
                    problems += _typed_view(con, table, path.name)
            else:
                structure = _parquet_view(con, path, table)
        problems += structure
        ok[table.name] = not structure  # content rules need the file's structure intact
    files = {name: f"{name}.{fmt}" for name in raw.TABLES}
    for rule in CONTENT_RULES:
        if all(ok[name] for name in rule.needs):  # type: ignore[attr-defined]
            problems += rule(con, files)
    con.close()
    return problems


def require(data_dir: str | Path, cache_dir: str | Path | None = None) -> Path:
    """`data_dir` if its raw data is valid; else `InvalidData` naming every problem.

    With `cache_dir`, a dataset found valid once is not checked again while its files'
    content is unchanged (the marker is named by the content's digest).
    """

    data_dir = Path(data_dir)
    marker = None
    if cache_dir is not None and _regular_files(data_dir):
        try:
            marker = Path(cache_dir) / f"{dataset_digest(data_dir)}.valid"
        except (DataError, OSError):
            marker = None  # files missing or unreadable: check() says which
        if marker is not None and marker.exists():
            return data_dir
    problems = check(data_dir)
    if problems:
        raise InvalidData(data_dir, problems)
    if marker is not None:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return data_dir


def inherit(data_dir: str | Path, cache_dir: str | Path) -> None:
    """Mark `data_dir` valid without checking it again: for data made by this package from
    data `require` accepted, by a change every rule survives (`history.rebuild_at` keeps
    the orders placed before a time, each with all its line items, and finance's ledger as
    it is). A test checks that the rules hold on such data."""
    marker = Path(cache_dir) / f"{dataset_digest(Path(data_dir))}.valid"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def _regular_files(data_dir: Path) -> bool:
    """Whether `data_dir` holds the three tables in one format, each a regular file (the
    content digest reads them whole: a device or a FIFO must not get that far)."""
    try:
        fmt = raw.detect_format(data_dir)
    except DataError:
        return False
    for table in raw.TABLES.values():
        try:
            if not stat.S_ISREG(table.file(data_dir, fmt).stat().st_mode):
                return False
        except OSError:
            return False
    return True


def require_input(data_dir: str | Path, cache_dir: str | Path | None = None) -> Path:
    """`require`, for raw data given as input (`fanout build --data`): invalid data is bad
    input, exit 2, in one line naming the folder, the first problem and how to see them all."""
    try:
        return require(data_dir, cache_dir)
    except InvalidData as exc:
        problems = exc.problems
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise DataError(
            f"raw data in {data_dir} is not valid: {problems[0]}{more} "
            f"(fanout check raw --data {data_dir} lists them)"
        ) from None
