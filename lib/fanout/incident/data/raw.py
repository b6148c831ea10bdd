"""The raw tables: their schemas, their files, and typed DuckDB reads of them."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from fanout.errors import DataError
from fanout.incident import resources

__all__ = [
    "CHECKSUMS",
    "DATASET_INFO",
    "FORMATS",
    "TABLES",
    "connect",
    "dataset_digest",
    "detect_format",
    "file_digest",
    "quiet",
    "read_sql",
    "verify_checksums",
    "write_checksums",
]

FORMATS = ("csv", "parquet")
CHECKSUMS = "checksums.sha256"
DATASET_INFO = "dataset.json"


@dataclass(frozen=True)
class Table:
    """A raw table: its name, its key, and its columns with their DuckDB types."""

    name: str
    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]

    def file(self, data_dir: Path, fmt: str) -> Path:
        return Path(data_dir) / f"{self.name}.{fmt}"


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "raw_orders",
            ("order_id",),
            (
                ("order_id", "BIGINT"),
                ("customer_id", "BIGINT"),
                ("ordered_at", "TIMESTAMP"),
                ("amount", "DECIMAL(18,2)"),
            ),
        ),
        Table(
            "raw_order_items",
            ("order_item_id",),
            (
                ("order_item_id", "BIGINT"),
                ("order_id", "BIGINT"),
                ("product_id", "BIGINT"),
                ("quantity", "INTEGER"),
                ("unit_price", "DECIMAL(18,2)"),
            ),
        ),
        Table(
            "finance_daily_revenue",
            ("revenue_date",),
            (("revenue_date", "DATE"), ("revenue", "DECIMAL(18,2)")),
        ),
    )
}


def detect_format(data_dir: str | Path) -> str:
    """'csv' or 'parquet': the format all three raw tables are stored in."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data folder {data_dir} does not exist")
    for fmt in FORMATS:
        present = [t.file(data_dir, fmt).exists() for t in TABLES.values()]
        if all(present):
            return fmt
        if any(present):
            missing = [t.name for t, ok in zip(TABLES.values(), present, strict=True) if not ok]
            raise DataError(f"data folder {data_dir} lacks {missing[0]}.{fmt}")
    raise DataError(
        f"data folder {data_dir} holds no raw tables (raw_orders.csv or raw_orders.parquet)"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_sql(data_dir: str | Path, table: str) -> str:
    """A DuckDB `select` of one raw table with its declared column types.

    >>> print(read_sql("data/raw", "finance_daily_revenue"))  # doctest: +ELLIPSIS
    select revenue_date, revenue from read_csv('.../finance_daily_revenue.csv', header = true, ...
    """
    data_dir = Path(data_dir).resolve()
    spec = TABLES[table]
    fmt = detect_format(data_dir) if data_dir.exists() else "csv"
    path = _literal(str(spec.file(data_dir, fmt)))
    names = ", ".join(name for name, _ in spec.columns)
    if fmt == "parquet":
        casts = ", ".join(f"cast({n} as {t}) as {n}" for n, t in spec.columns)
        return f"select {casts} from read_parquet({path})"
    columns = ", ".join(f"{_literal(n)}: {_literal(t)}" for n, t in spec.columns)
    return f"select {names} from read_csv({path}, header = true, columns = {{{columns}}})"


def file_digest(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_checksums(data_dir: Path, names: list[str]) -> str:
    """The text of a `sha256sum`-style checksum file for `names` in `data_dir`."""
    return "".join(f"{file_digest(Path(data_dir) / n)}  {n}\n" for n in sorted(names))


def verify_checksums(data_dir: str | Path) -> list[str]:
    """The files whose content no longer matches `checksums.sha256` (empty: all intact)."""
    data_dir = Path(data_dir)
    listing = data_dir / CHECKSUMS
    if not listing.exists():
        raise DataError(f"{listing} does not exist")
    changed = []
    for line in listing.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        path = data_dir / name
        if not path.exists() or file_digest(path) != digest:
            changed.append(name)
    return changed


def quiet(con):
    """Turn DuckDB's progress bar off (it floods logs); a Jupyter kernel without ipywidgets
    refuses the setting, and shows no bar there anyway."""

    with contextlib.suppress(duckdb.Error):
        con.execute("set enable_progress_bar = false")

    resources.configure(con)  # the run's memory share and spill folder, when one is set
    return con


def connect(data_dir: str | Path | None):
    """An in-memory DuckDB connection with the three raw tables as views over the files
    (none when `data_dir` is None).

    The files are read in place, with their declared types; nothing is copied or written.
    """

    con = quiet(duckdb.connect())
    if data_dir is not None:
        for name in TABLES:
            con.execute(f'create view "{name}" as {read_sql(data_dir, name)}')
    return con


_DIGESTS: dict[tuple[str, int, int], str] = {}


def dataset_digest(data_dir: Path) -> str:
    """A digest of the raw files' content (cached per file size and mtime in this process)."""
    fmt = detect_format(data_dir)
    h = hashlib.sha256(fmt.encode())
    for table in TABLES.values():
        path = table.file(data_dir, fmt)
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in _DIGESTS:
            _DIGESTS[key] = file_digest(path)
        h.update(_DIGESTS[key].encode())
    return h.hexdigest()
