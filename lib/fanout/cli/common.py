"""What every wing's commands share: the parser that fails in one line, the parameters as
flags, the output (text or JSON), and a DuckDB file opened read-only with the raw data beside
it."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fanout import bounded
from fanout.errors import DataError, ParameterError
from fanout.incident.params import PARAMETERS, Params, load_yaml

__all__ = [
    "Parser",
    "add_parameters",
    "check_database",
    "data_for",
    "emit",
    "format_option",
    "key_columns",
    "open_db",
    "params_of",
    "progress",
]

# Short spellings kept for the flags people type most.
ALIASES = {"mean_items_per_order": ["--mean-items"]}


class Parser(argparse.ArgumentParser):
    """argparse that reports bad usage in one line and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_parameters(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    group = parser.add_argument_group(
        "parameters", "override the defaults (also readable from --params FILE)"
    )
    group.add_argument("--params", metavar="FILE", help="YAML file of parameters")
    for spec in PARAMETERS:
        if spec.name not in names:
            continue
        flag = "--" + spec.name.replace("_", "-")
        default = spec.default.isoformat() if hasattr(spec.default, "isoformat") else spec.default
        group.add_argument(
            flag,
            *ALIASES.get(spec.name, []),
            dest=spec.name,
            metavar=spec.name.upper(),
            help=f"{spec.metadata['help']} (default: {default})",
        )


def _coerce(name: str, text: str) -> Any:
    """Turn a flag's text into the parameter's type; Params then checks the range."""
    kind = type(next(f.default for f in PARAMETERS if f.name == name))
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ParameterError(f"{name} must be a whole number, got {text!r}") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ParameterError(f"{name} must be a number, got {text!r}") from None
    return text  # dates, timestamps and paths are parsed by Params


def params_of(args: argparse.Namespace) -> Params:
    base = load_yaml(args.params) if getattr(args, "params", None) else Params()
    overrides = {
        f.name: _coerce(f.name, getattr(args, f.name))
        for f in PARAMETERS
        if getattr(args, f.name, None) is not None
    }
    return Params.from_mapping({**base.to_dict(), **overrides})


def emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if args.format == "json":
        print(json.dumps(payload, indent=2, default=str))
    else:
        print(text)


def progress(done: int, total: int) -> None:
    if total and sys.stderr.isatty():
        print(f"\r  {done:,} / {total:,} orders ({done / total:.0%})", end="", file=sys.stderr)
        if done >= total:
            print(file=sys.stderr)


def format_option(parser: argparse.ArgumentParser) -> None:
    """--format text|json, on every command that prints findings."""
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output for people (text) or machines (json)",
    )


def key_columns(text: str) -> list[str]:
    columns = [c.strip() for c in text.split(",")]
    if not all(columns):
        raise ParameterError(f"--key must be column names separated by commas, got {text!r}")
    return columns


def check_database(path: str | Path) -> Path:
    """`path` if it is a DuckDB database file (a regular file that starts as one does); a
    `DataError` saying what it is otherwise (a manifest, a device, a folder)."""

    path = Path(path)
    bounded.check_regular(path, "database")
    with bounded.open_regular(path, "database", None) as fh:
        head = fh.read(12)
    if head[8:12] != b"DUCK":
        raise DataError(f"database {path} is not a DuckDB database file")
    return path


def open_db(path: str, data_dir: Path | None = None):
    """An in-memory DuckDB session: the database file attached read-only as `wh`, and the
    raw tables of `data_dir` as views."""
    from fanout.incident import warehouse
    from fanout.incident.data import raw

    database = check_database(path)
    con = raw.connect(data_dir)
    warehouse.attach(con, database, "wh")
    return con


def data_for(db: str | Path, given: str | None) -> Path:
    """The raw data to compare a database with: --data, else the data its build recorded
    (`build.json` beside a `fanout build` database), else the committed dataset."""
    from fanout.incident.data import raw
    from fanout.incident.paths import default_data_dir

    if given:
        folder = Path(given)
    else:
        record = Path(db).parent / "build.json"
        try:
            text = bounded.read_text(record, "build record", "FANOUT_MAX_TEXT_BYTES")
            folder = Path(json.loads(text)["inputs"]["data_dir"])
        except (DataError, ValueError, KeyError, TypeError, RecursionError):
            folder = default_data_dir()
    fmt = raw.detect_format(folder)  # a clear error for a missing or incomplete folder
    for table in raw.TABLES.values():  # DuckDB would wait forever on a FIFO, or /dev/zero
        bounded.check_regular(table.file(folder, fmt), "raw file")
    return folder
