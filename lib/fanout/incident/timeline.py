"""The incident's records (`data/incident/`): the postmortem's timeline, the deploys and the
dashboards, with the times computed from the parameters.

The timeline is the postmortem's own table, word for word: seven steps from T+0 (finance
notices) to T+110 (verified). Each step's time is an offset from a parameter
(`detected_at` or `fix_deployed_at`), so a trainer can replay the incident at other times;
at the defaults the offsets are the postmortem's.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

from fanout.errors import DataError, ParameterError
from fanout.incident.params import Params
from fanout.incident.paths import project_root, warehouse_dir
from fanout.toolkit.investigate import Introduced

__all__ = [
    "SCHEDULE",
    "Deploy",
    "Event",
    "Metric",
    "Span",
    "dashboards",
    "data_window",
    "deploys",
    "events",
    "history_for",
    "incident_history",
    "require",
    "revision_at",
    "spans",
]

PROJECT = "fanout_shop"  # the incident's dbt project, by its name in dbt_project.yml
SCHEDULE = dt.time(6, 0)  # the warehouse is built every day at 06:00, after each day of orders


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


def offset_label(minutes: int) -> str:
    """A time relative to detection, as the postmortem writes it.

    >>> offset_label(0), offset_label(110), offset_label(-120), offset_label(4320)
    ('T+0', 'T+110', 'T-120', 'T+72 h')
    """
    if abs(minutes) < 24 * 60:
        return f"T{'+' if minutes >= 0 else '-'}{abs(minutes)}"
    hours = minutes / 60
    return f"T{hours:+.0f} h" if hours == int(hours) else f"T{hours:+.1f} h"


@dataclass(frozen=True)
class Event:
    """One step of the postmortem's timeline, with its time at these parameters."""

    step: int
    at: dt.datetime
    minutes_from_detection: int
    actor: str
    event: str  # the postmortem's own words
    check: str  # what the workbook runs for it

    @property
    def label(self) -> str:
        return offset_label(self.minutes_from_detection)


def events(params: Params) -> list[Event]:
    """The postmortem's seven steps at these parameters, in step order."""
    out = []
    for row in _rows("timeline.csv"):
        at = _anchor(params, row["anchor"]) + dt.timedelta(minutes=int(row["offset_minutes"]))
        minutes = round((at - params.detected_at).total_seconds() / 60)
        out.append(Event(int(row["step"]), at, minutes, row["actor"], row["event"], row["check"]))
    return sorted(out, key=lambda e: e.step)


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


def deploy(params: Params, revision: str) -> Deploy:
    """The deploy that brought `revision` into production."""
    found = [d for d in deploys(params) if d.revision == revision]
    if not found:
        raise DataError(f"data/incident/deploys.csv has no deploy of revision {revision!r}")
    return found[0]


def revision_at(params: Params, at: dt.datetime) -> str:
    """The revision in production at `at`: the last one deployed at or before it."""
    live = [d for d in deploys(params) if d.at <= at]
    return live[-1].revision if live else deploys(params)[0].revision


@dataclass(frozen=True)
class Span:
    """A measured stretch of the incident: from one moment to another."""

    name: str
    start: dt.datetime
    end: dt.datetime
    start_label: str
    end_label: str

    @property
    def minutes(self) -> int:
        return round((self.end - self.start).total_seconds() / 60)


def spans(params: Params) -> dict[str, Span]:
    """The postmortem's measures at these parameters, by name: `time_to_detect` (the PR's
    deploy to T+0, finance noticing), `time_to_root_cause` (T+0 to the root cause confirmed),
    `time_to_fix` (root cause confirmed to verified: the postmortem's "once root cause
    identified"), `root_cause_to_deploy` (root cause to the fix's deploy) and `incident`
    (the PR's deploy to verified)."""
    steps = {e.check: e for e in events(params)}
    pr = deploy(params, "enrichment")
    pr_label = f"PR #{pr.pr} deployed"
    found, root = steps["dashboard_vs_finance"], steps["root_cause"]
    fixed, verified = steps["fix_deploy"], steps["verification"]
    made = [
        Span("time_to_detect", pr.at, found.at, pr_label, found.label),
        Span("time_to_root_cause", found.at, root.at, found.label, root.label),
        Span("root_cause_to_deploy", root.at, fixed.at, root.label, fixed.label),
        Span("time_to_fix", root.at, verified.at, root.label, verified.label),
        Span("incident", pr.at, verified.at, pr_label, verified.label),
    ]
    return {s.name: s for s in made}


def data_window(params: Params) -> tuple[dt.datetime, dt.datetime]:
    """When the incident can happen in this dataset: from the first daily build (so that a
    build before the PR exists to compare with) to the end of the last day of orders."""
    first_build = dt.datetime.combine(params.start_date + dt.timedelta(days=1), SCHEDULE)
    end = dt.datetime.combine(params.end_date + dt.timedelta(days=1), dt.time())
    return first_build, end


def require(params: Params) -> None:
    """The incident must fit the data and keep the postmortem's order; one sentence if not."""
    steps = events(params)
    for before, after in itertools.pairwise(steps):
        if after.at < before.at:
            raise ParameterError(
                f"fix_deployed_at ({params.fix_deployed_at}) comes before step {before.step} of "
                f"the timeline ({before.label}: {before.check.replace('_', ' ')}); it must be at "
                f"least {before.minutes_from_detection} minutes after detected_at"
            )
    first_build, end = data_window(params)
    if params.pr_deployed_at < first_build:
        raise ParameterError(
            f"pr_deployed_at ({params.pr_deployed_at}) comes before the first daily build "
            f"({first_build}, the day after start_date {params.start_date}): the incident needs "
            "a build before the PR to compare with; deploy the PR later or start the data earlier"
        )
    last = steps[-1]
    if last.at >= end:
        raise ParameterError(
            f"the incident ends after the data: verification at fix_deployed_at + 15 min "
            f"({last.at}) is after the last day of orders ({params.end_date}, from start_date "
            f"{params.start_date} and days {params.days}); move pr_deployed_at, detected_at and "
            "fix_deployed_at into the data or set more days"
        )


@dataclass(frozen=True)
class Metric:
    """A headline figure a dashboard shows, as SQL over the marts."""

    exposure: str
    metric: str
    unit: str
    sql: str

    def query(self, database: str) -> str:
        """The figure's SQL with every table read from the attached build `database`."""

        tree = sqlglot.parse_one(self.sql, dialect="duckdb")
        for table in tree.find_all(exp.Table):
            table.set("db", exp.to_identifier(database, quoted=True))
        return tree.sql(dialect="duckdb")


def dashboards() -> list[Metric]:
    return [
        Metric(r["exposure"], r["metric"], r["unit"], r["sql"]) for r in _rows("dashboards.csv")
    ]


def incident_history(params) -> list[tuple[Introduced, Path]]:
    """The incident's deploys (data/incident/deploys.csv) with their revisions' folders, as
    the root-cause walk (`fanout.toolkit.investigate.walk`) takes them."""
    return [
        (Introduced(d.revision, d.pr, d.title, d.at), warehouse_dir() / d.revision)
        for d in deploys(params)
    ]


def history_for(project: str) -> list[tuple[Introduced, Path]]:
    """The deploys behind a dbt project's models: the incident's own for its project
    (`fanout_shop`, whatever the parameters), none for any other."""
    return incident_history(Params()) if project == PROJECT else []
