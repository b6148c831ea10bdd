"""Run SQL through a dbt target: the user's own dbt project, profile and adapter.

`open_target("prod")` loads the dbt project and the profile the way dbt itself does (the
same defaults: the project in the current folder, profiles from `--profiles-dir`, then
`DBT_PROFILES_DIR`, the current folder, `~/.dbt/`), registers that target's adapter and
returns a `Target`. Queries run on the adapter's own connection (`adapter.execute`): no
connection code here, and no credentials handled, only whatever the profile holds.

The SQL a check sends is written by sqlglot in the dialect of the target's adapter
(`Target.dialect`). A missing project, profile or target, and a relation that is not there,
are one-line `DataError`s.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from fanout.errors import DataError
from fanout.toolkit.relations import table_ref

__all__ = ["DIALECTS", "Target", "dialect_of", "one_line", "open_target", "opened"]

# dbt adapter type -> sqlglot dialect (where the names differ, or to say it is known)
DIALECTS = {
    "athena": "athena",
    "bigquery": "bigquery",
    "clickhouse": "clickhouse",
    "databricks": "databricks",
    "doris": "doris",
    "duckdb": "duckdb",
    "fabric": "tsql",
    "materialize": "materialize",
    "mysql": "mysql",
    "oracle": "oracle",
    "postgres": "postgres",
    "redshift": "redshift",
    "risingwave": "risingwave",
    "snowflake": "snowflake",
    "spark": "spark",
    "sqlserver": "tsql",
    "starrocks": "starrocks",
    "synapse": "tsql",
    "teradata": "teradata",
    "trino": "trino",
}

_NOISE = {"runtime error", "database error", "compilation error", "parsing error", "env var"}


def one_line(exc: BaseException, limit: int = 300) -> str:
    """dbt's multi-line messages ("Runtime Error" over an indented reason, a list of valid
    target names...) as one line: the headings dropped, the lines joined."""
    text = getattr(exc, "msg", None) or str(exc)
    parts = []
    for line in str(text).splitlines():
        line = line.strip().removeprefix("- ").strip()
        if line.startswith(("LINE ", "^")):  # PostgreSQL's excerpt of the query and its caret
            break
        if line and line.lower() not in _NOISE:
            parts.append(line)
    joined = " ".join(parts) or type(exc).__name__
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


def dialect_of(adapter_type: str) -> str:
    """The sqlglot dialect for a dbt adapter type; a `DataError` for one sqlglot lacks."""
    name = DIALECTS.get(adapter_type, adapter_type)
    try:
        sqlglot.Dialect.get_or_raise(name)
    except ValueError:
        raise DataError(
            f"no SQL dialect known for the dbt adapter {adapter_type!r} "
            f"(known: {', '.join(sorted(DIALECTS))})"
        ) from None
    return name


def _quiet_dbt(flags) -> None:
    """dbt's events off: its default logger prints to stdout, which is our output."""
    from dbt.events.logging import setup_event_logger  # lazy: dbt takes seconds to import

    setup_event_logger(flags)


class Target:
    """A dbt target opened for queries: its name, adapter type, SQL dialect and the schema
    its models are built in. Use it as a context manager, or call `close()`."""

    def __init__(self, name: str, adapter: Any, profile_name: str):
        credentials = adapter.config.credentials
        self.name = name
        self.profile = profile_name
        self.adapter_type = str(credentials.type)
        self.dialect = dialect_of(self.adapter_type)
        self.database = getattr(credentials, "database", None) or None
        self.schema = getattr(credentials, "schema", None) or None
        self._adapter = adapter
        self._open = False

    def __repr__(self) -> str:
        return f"<Target {self.name} ({self.adapter_type}, schema {self.schema})>"

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def relation(self, name: str | exp.Table) -> exp.Table:
        """A relation on this target: `schema.table` (or `catalog.schema.table`) as given,
        a bare table name in the target's schema, where dbt builds the models."""
        table = name if isinstance(name, exp.Table) else table_ref(name)
        if not table.args.get("db") and self.schema:
            table = table.copy()
            table.set("db", exp.to_identifier(self.schema))
        return table

    def rows(self, sql: str, what: str = "query") -> list[tuple]:
        """Run one query on the target's connection and return its rows (numbers as
        `Decimal` or `int`, dates as `datetime.date`). A database error is a one-line
        `DataError` starting with `what`."""
        return self._run(sql, what)[1]

    def columns(self, table: exp.Table) -> list[str] | None:
        """The column names of a relation (lower case), None when it is not there."""
        query = exp.select("*").from_(table).where(exp.false()).sql(dialect=self.dialect)
        try:
            names, _ = self._run(query, table.sql(dialect=self.dialect))
        except DataError:
            return None
        return [n.lower() for n in names]

    def _run(self, sql: str, what: str) -> tuple[list[str], list[tuple]]:
        from dbt_common.exceptions import DbtBaseException  # lazy: dbt is slow to import

        adapter = self._adapter
        if not self._open:
            adapter.acquire_connection(f"fanout:{self.name}")
            self._open = True
        try:
            _, table = adapter.execute(sql, auto_begin=False, fetch=True)
        except DbtBaseException as exc:
            # a failed statement can leave the session unusable (PostgreSQL aborts the
            # transaction): close the connection, the next query opens a new one
            self._release()
            raise DataError(f"{what}: {one_line(exc)}") from None
        names = list(table.column_names)
        return names, [tuple(_plain(v) for v in row.values()) for row in table.rows]

    def _release(self) -> None:
        if self._open:
            self._open = False
            with contextlib.suppress(Exception):
                self._adapter.release_connection()

    def close(self) -> None:
        self._release()
        with contextlib.suppress(Exception):
            self._adapter.cleanup_connections()
        if self.adapter_type == "duckdb":  # dbt-duckdb keeps the file open (and locked)
            from dbt.adapters.duckdb.connections import DuckDBConnectionManager

            DuckDBConnectionManager.close_all_connections()


def _plain(value: Any) -> Any:
    """dbt hands rows over as agate values, every number a Decimal: whole ones as int."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:
            return int(value)
    return value


def _check_folder(path: str | Path | None, file: str, flag: str) -> str | None:
    if path is None:
        return None
    folder = Path(path)
    if not (folder / file).is_file():
        raise DataError(f"{flag} {folder}: no {file} there")
    return str(folder.resolve())


def open_target(
    target: str,
    *,
    project_dir: str | Path | None = None,
    profiles_dir: str | Path | None = None,
    profile: str | None = None,
    variables: dict | None = None,
) -> Target:
    """Load the dbt project and profile as dbt does and open `target` (see the module
    docstring). Nothing is parsed beyond `dbt_project.yml` and the profile, and nothing is
    written."""
    if not target or not target.strip():
        raise DataError("--target needs the name of a target in your dbt profile")
    args: dict[str, Any] = {
        "target": target,
        "log_level": "none",
        "log_level_file": "none",
        "quiet": True,
        "send_anonymous_usage_stats": False,
        "use_colors": False,
    }
    project = _check_folder(project_dir, "dbt_project.yml", "--project-dir")
    if project:
        args["project_dir"] = project
    profiles = _check_folder(profiles_dir, "profiles.yml", "--profiles-dir")
    if profiles:
        args["profiles_dir"] = profiles
    if profile:
        args["profile"] = profile
    if variables:
        args["vars"] = json.dumps(variables)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    adapter, profile_name = _adapter(args)
    return Target(target, adapter, profile_name)


def _adapter(args: dict[str, Any]) -> tuple[Any, str]:
    """The adapter of the target in `args`: the steps dbt's own command line takes before a
    command runs (flags, profile, project, runtime config, adapter). The adapter is made
    for this target alone, not registered in dbt's process-wide registry, which keeps the
    first adapter of each type: a second target of the same type (another schema, another
    warehouse) would get the first one's connection."""
    # lazy: dbt takes seconds to import, and only --target needs it
    from dbt.adapters.factory import FACTORY
    from dbt.cli.flags import Flags
    from dbt.cli.types import Command
    from dbt.config.runtime import RuntimeConfig, load_profile, load_project
    from dbt.flags import set_flags
    from dbt.mp_context import get_mp_context
    from dbt_common.dataclass_schema import ValidationError
    from dbt_common.exceptions import DbtBaseException

    where = f"target {args['target']!r}"
    try:
        flags = Flags.from_dict(Command.DEBUG, args)
        set_flags(flags)
        _quiet_dbt(flags)
        project_dir = flags.PROJECT_DIR
        if not (Path(project_dir) / "dbt_project.yml").is_file():
            raise DataError(
                f"no dbt project in {project_dir} (give --project-dir, the folder of "
                "dbt_project.yml)"
            )
        loaded = load_profile(project_dir, flags.VARS, flags.PROFILE, flags.TARGET, None)
        project = load_project(project_dir, False, loaded, flags.VARS)
        config = RuntimeConfig.from_parts(project, loaded, flags)
        adapter_class = FACTORY.get_adapter_class_by_name(config.credentials.type)
        return adapter_class(config, get_mp_context()), loaded.profile_name
    except DataError:
        raise
    except (DbtBaseException, ValidationError) as exc:
        raise DataError(f"{where}: {one_line(exc)}") from None


@contextlib.contextmanager
def opened(target: str, **options) -> Iterator[Target]:
    """`open_target` as a context manager: the connection is closed afterwards."""
    t = open_target(target, **options)
    try:
        yield t
    finally:
        t.close()
