"""The workbook's parameters: defined once, named the same in notebooks, the CLI and YAML files.

>>> Params().days
90
>>> Params.from_mapping({"days": 0})
Traceback (most recent call last):
...
fanout.errors.ParameterError: days must be at least 1, got 0
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanout import bounded
from fanout.errors import DataError, ParameterError
from fanout.incident.paths import project_root

__all__ = ["DATASET_FIELDS", "INCIDENT_FIELDS", "PARAMETERS", "Params", "load_yaml"]


def _whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ParameterError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        bound = f"at least {low}" if value < low else f"at most {high}"
        raise ParameterError(f"{name} must be {bound}, got {value}")
    return value


def _number(name: str, value: Any, low: float, high: float, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ParameterError(f"{name} must be a finite number, got {value}")
    too_low = value <= low if open_low else value < low
    if too_low:
        bound = f"greater than {low:g}" if open_low else f"at least {low:g}"
        raise ParameterError(f"{name} must be {bound}, got {value:g}")
    if value > high:
        raise ParameterError(f"{name} must be at most {high:g}, got {value:g}")
    return value


def _date(name: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ParameterError(f"{name} must be a date (YYYY-MM-DD), got a timestamp {value}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ParameterError(f"{name} must be a date (YYYY-MM-DD), got {value!r}")


def _timestamp(name: str, value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ParameterError(
                f"{name} must be a timestamp (YYYY-MM-DDTHH:MM[:SS]), got {value!r}"
            ) from None
    else:
        raise ParameterError(f"{name} must be a timestamp (YYYY-MM-DDTHH:MM[:SS]), got {value!r}")
    if parsed.tzinfo is not None:
        raise ParameterError(f"{name} must be a local timestamp without a time zone, got {value}")
    return parsed.replace(microsecond=0)


def _data_dir(name: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | Path):
        raise ParameterError(f"{name} must be a folder path or empty, got {value!r}")
    return str(value)


def _build_dir(name: str, value: Any) -> str:
    if not isinstance(value, str | Path) or not str(value).strip():
        raise ParameterError(f"{name} must be a folder path, got {value!r}")
    return str(value)


def _budget(name: str, value: Any) -> float:
    if value in (None, "", "auto"):
        return 0.0
    return _number(name, value, 0, 1_000_000)


def _raw_format(name: str, value: Any) -> str:
    if value not in ("csv", "parquet"):
        raise ParameterError(f"{name} must be csv or parquet, got {value!r}")
    return value


def _param(default: Any, help: str, check: Callable[[str, Any], Any], group: str) -> Any:
    """A dataclass field carrying its help text, its check and its group."""
    return dataclasses.field(
        default=default, metadata={"help": help, "check": check, "group": group}
    )


# Project folders a run must never write into.
PROTECTED = (
    "data",
    "warehouse",
    "notebooks",
    "lib",
    "tests",
    "params",
    "bench",
    "docs",
    ".git",
    ".ci",
)

# Bump when the generator's output for the same parameters changes.
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class Params:
    """Validated workbook parameters. Build with `Params.from_mapping` to get the checks."""

    seed: int = _param(
        7, "random seed of the generated data", lambda n, v: _whole(n, v, 0, 2**32 - 1), "dataset"
    )
    start_date: dt.date = _param(
        dt.date(2026, 8, 1), "first day of orders (YYYY-MM-DD)", _date, "dataset"
    )
    days: int = _param(
        90, "number of days of orders", lambda n, v: _whole(n, v, 1, 3650), "dataset"
    )
    orders_per_day: float = _param(
        40.0,
        "mean orders per day, before weekday seasonality and growth",
        lambda n, v: _number(n, v, 0, 10_000_000, open_low=True),
        "dataset",
    )
    mean_items_per_order: float = _param(
        2.5, "mean line items per order (at least 1)", lambda n, v: _number(n, v, 1, 50), "dataset"
    )
    mean_quantity: float = _param(
        1.6,
        "mean quantity per line item (at least 1)",
        lambda n, v: _number(n, v, 1, 100),
        "dataset",
    )
    median_unit_price: float = _param(
        18.0,
        "median unit price, in currency units",
        lambda n, v: _number(n, v, 0.01, 100_000),
        "dataset",
    )
    unit_price_spread: float = _param(
        0.7,
        "spread of unit prices (sigma of the log-normal)",
        lambda n, v: _number(n, v, 0, 3),
        "dataset",
    )
    build_dir: str = _param(
        "build", "folder for all a run writes; relative to the project", _build_dir, "run"
    )
    data_dir: str = _param(
        "", "raw data folder to use instead (empty: the parameters' dataset)", _data_dir, "run"
    )
    raw_format: str = _param(
        "csv",
        "format of generated raw data: csv or parquet (use parquet at scale)",
        _raw_format,
        "run",
    )
    memory_budget_gb: float = _param(
        0.0,
        "memory for the run in GiB, shared by its processes (0: half the machine's)",
        _budget,
        "run",
    )
    pr_deployed_at: dt.datetime = _param(
        dt.datetime(2026, 10, 28, 14, 5),
        "when the enrichment PR was deployed",
        _timestamp,
        "incident",
    )
    detected_at: dt.datetime = _param(
        dt.datetime(2026, 10, 28, 16, 5),
        "when finance noticed the inflated revenue (T+0)",
        _timestamp,
        "incident",
    )
    fix_deployed_at: dt.datetime = _param(
        dt.datetime(2026, 10, 28, 17, 40), "when the fix was deployed", _timestamp, "incident"
    )

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            checked = field.metadata["check"](field.name, getattr(self, field.name))
            object.__setattr__(self, field.name, checked)
        start = dt.datetime.combine(self.start_date, dt.time())
        if self.pr_deployed_at <= start:
            raise ParameterError(
                f"pr_deployed_at ({self.pr_deployed_at}) must be after start_date "
                f"({self.start_date}): the PR needs orders to run on"
            )
        if self.detected_at <= self.pr_deployed_at:
            raise ParameterError(
                f"detected_at ({self.detected_at}) must be after pr_deployed_at "
                f"({self.pr_deployed_at})"
            )
        self._check_build_dir()
        if self.fix_deployed_at <= self.detected_at:
            raise ParameterError(
                f"fix_deployed_at ({self.fix_deployed_at}) must be after detected_at "
                f"({self.detected_at})"
            )

    def _check_build_dir(self) -> None:
        """A run writes only under build_dir: it must not be the project or one of its sources."""

        try:
            root = project_root()
        except DataError:
            return
        build = self.build_path(root)
        if build == root:
            raise ParameterError(f"build_dir ({self.build_dir}) must not be the project folder")
        for protected in PROTECTED:
            inside = root / protected
            if build == inside or inside in build.parents:
                raise ParameterError(
                    f"build_dir ({self.build_dir}) must not be inside the project's {protected}/: "
                    "a run would write among its sources"
                )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None = None, /, **more: Any) -> Params:
        """Check names, types and ranges; unknown names are an error."""
        merged = {**(values or {}), **more}
        names = [f.name for f in PARAMETERS]
        unknown = sorted(set(merged) - set(names))
        if unknown:
            raise ParameterError(f"unknown parameter {unknown[0]!r}; known: {', '.join(names)}")
        return cls(**merged)

    @property
    def end_date(self) -> dt.date:
        """The last day with orders."""
        return self.start_date + dt.timedelta(days=self.days - 1)

    def dataset(self) -> dict[str, Any]:
        """The parameters that decide the raw data, JSON-ready."""
        return {name: _jsonable(getattr(self, name)) for name in DATASET_FIELDS}

    def is_default_dataset(self) -> bool:
        return self.dataset() == Params().dataset()

    def dataset_key(self) -> str:
        """A short name for the raw data these parameters generate."""
        blob = json.dumps({"v": GENERATOR_VERSION, **self.dataset()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def build_path(self, root: Path) -> Path:
        """The build folder as an absolute path; relative paths are taken from `root`."""
        path = Path(self.build_dir).expanduser()
        return (path if path.is_absolute() else root / path).resolve()


PARAMETERS: tuple[dataclasses.Field, ...] = dataclasses.fields(Params)
DATASET_FIELDS = tuple(f.name for f in PARAMETERS if f.metadata["group"] == "dataset")
INCIDENT_FIELDS = tuple(f.name for f in PARAMETERS if f.metadata["group"] == "incident")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def load_yaml(path: str | Path) -> Params:
    """Read parameters from a YAML file: a mapping of parameter names to values.

    The file is read within bounds (`fanout.bounded`: a regular file of at most
    FANOUT_MAX_TEXT_BYTES, UTF-8, nesting, aliases and duplicate keys checked); every
    refusal is one sentence naming the file.
    """

    path = Path(path)
    values = bounded.load_yaml(path, "parameter file", ParameterError)
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ParameterError(f"parameter file {path} must hold a mapping of names to values")
    try:  # keys as text: `1: 2` is an unknown parameter '1', not a comparison of int and str
        return Params.from_mapping({str(k): v for k, v in values.items()})
    except ParameterError as exc:
        raise ParameterError(_shorten(f"{path}: {exc}")) from None


def _shorten(message: str, most: int = 300) -> str:
    """A message cut to `most` characters: a value pasted into it may be huge.

    >>> _shorten("days must be a whole number, got " + "[1, " * 200, 50)
    'days must be a whole number, got [1, [1, [1, [1...'
    """
    return message if len(message) <= most else message[: most - 3] + "..."
