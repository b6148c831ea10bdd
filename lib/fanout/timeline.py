"""The incident's records (`data/incident/`): timeline, deploys and dashboards, with the
times computed from the parameters."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from dataclasses import dataclass

from fanout.errors import DataError, ParameterError
from fanout.params import Params
from fanout.paths import project_root

__all__ = ["Deploy", "Event", "Metric", "check", "dashboards", "deploys", "events", "revision_at"]


def _rows(name: str) -> list[dict[str, str]]:
    path = project_root() / "data" / "incident" / name
    try:
        with path.open(newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None


def _anchor(params: Params, name: str) -> dt.datetime:
    value = getattr(params, name, None)
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    raise DataError(f"incident records name an unknown time parameter {name!r}")


@dataclass(frozen=True)
class Event:
    """One step of the incident, with its time and its offset from detection (T+0)."""

    step: int
    at: dt.datetime
    minutes_from_detection: int
    actor: str
    event: str
    check: str

    @property
    def label(self) -> str:
        m = self.minutes_from_detection
        return f"T{'+' if m >= 0 else '-'}{abs(m)}" if abs(m) < 24 * 60 else f"T{m / 60:+.1f} h"


def events(params: Params) -> list[Event]:
    """The timeline at these parameters, in order of time."""
    out = []
    for row in _rows("timeline.csv"):
        at = _anchor(params, row["anchor"]) + dt.timedelta(minutes=int(row["offset_minutes"]))
        minutes = round((at - params.detected_at).total_seconds() / 60)
        out.append(Event(int(row["step"]), at, minutes, row["actor"], row["event"], row["check"]))
    return sorted(out, key=lambda e: (e.at, e.step))


def check(params: Params) -> None:
    """The steps must keep their order: the fix cannot come before the root cause was found."""
    steps = sorted(events(params), key=lambda e: e.step)
    for before, after in itertools.pairwise(steps):
        if after.at < before.at:
            raise ParameterError(
                f"fix_deployed_at ({params.fix_deployed_at}) comes before step {before.step} of "
                f"the timeline ({before.label}: {before.check}); it must be at least "
                f"{before.minutes_from_detection} minutes after detected_at"
            )


@dataclass(frozen=True)
class Deploy:
    revision: str
    pr: int
    title: str
    author: str
    at: dt.datetime


def deploys(params: Params) -> list[Deploy]:
    """The warehouse's deploys at these parameters, oldest first."""
    rows = _rows("deploys.csv")
    out = [
        Deploy(
            r["revision"], int(r["pr"]), r["title"], r["author"], _anchor(params, r["deployed_at"])
        )
        for r in rows
    ]
    return sorted(out, key=lambda d: d.at)


def revision_at(params: Params, at: dt.datetime) -> str:
    """The revision in production at `at`: the last one deployed at or before it."""
    live = [d for d in deploys(params) if d.at <= at]
    return live[-1].revision if live else deploys(params)[0].revision


@dataclass(frozen=True)
class Metric:
    """A headline figure a dashboard shows, as SQL over the marts."""

    exposure: str
    metric: str
    unit: str
    sql: str

    def query(self, database: str) -> str:
        """The figure's SQL with every table read from the attached build `database`."""
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(self.sql, dialect="duckdb")
        for table in tree.find_all(exp.Table):
            table.set("db", exp.to_identifier(database, quoted=True))
        return tree.sql(dialect="duckdb")


def dashboards() -> list[Metric]:
    return [
        Metric(r["exposure"], r["metric"], r["unit"], r["sql"]) for r in _rows("dashboards.csv")
    ]
