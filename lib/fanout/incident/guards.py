"""Replay the incident through each guard the postmortem asked for, and say when each would
have caught the fan-out.

Every answer comes from running the guard for real: the fix's grain tests on the PR's tables,
the lint and static prediction on the PR's manifest, the row-count monitor and the revenue
anomaly detector on the build history, the reconciliation job on the builds it would have
seen. The finance analyst is the baseline: `detected_at`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from fanout.incident import history, story, warehouse
from fanout.incident.params import Params
from fanout.incident.story import FINANCE_FIGURE
from fanout.toolkit import anomaly, lineage, reconcile

__all__ = ["GUARDS", "RECONCILE_AT", "Guard", "Replay", "replay"]

RECONCILE_AT = dt.time(7, 0)  # the daily reconciliation job runs after the 06:00 build


@dataclass(frozen=True)
class Guard:
    """One guard: when it runs, whether and when it would have caught the bug, and how."""

    name: str
    runs: str
    caught: bool
    at: dt.datetime | None  # None for guards that stop the PR in CI, before any deploy
    evidence: str

    def minutes_after_deploy(self, params: Params) -> int | None:
        if self.at is None:
            return None
        return round((self.at - params.pr_deployed_at).total_seconds() / 60)

    def when(self, params: Params) -> str:
        """When it caught the bug, in words (no blank for the CI guards)."""
        if not self.caught:
            return "not before the fix"
        if self.at is None:
            return "in CI, before the deploy"
        return f"{story.duration(self.minutes_after_deploy(params))} after the deploy"

    def stage(self, params: Params) -> str:
        if not self.caught:
            return "would not have caught it before the fix"
        if self.at is None:
            return "in CI: the PR would not have merged"
        if self.at < params.detected_at:
            return "before finance"
        return "after finance" if self.at > params.detected_at else "with finance"


@dataclass(frozen=True)
class Replay:
    """What every guard reads: the parameters, a session with the three builds attached by
    name and the raw tables as views (see `fanout.incident.data.raw.connect` and
    `fanout.incident.warehouse.attach`), the builds, and the folders."""

    params: Params
    con: Any
    builds: dict[str, warehouse.Build]
    data_dir: Path
    build_dir: Path

    @cached_property
    def points(self) -> list[history.BuildPoint]:
        return history.build_points(self.params)


def grain_test_in_ci(r: Replay) -> Guard:
    """The fix's grain tests, run on the PR's tables."""
    tests = warehouse.run_tests(
        "fix",
        r.builds["enrichment"].database,
        select="stg_orders",
        data_dir=r.data_dir,
        build_dir=r.build_dir,
    )
    failing = [t for t in tests if t.status == "fail"]
    return Guard(
        "grain test in CI",
        "on every pull request (dbt build)",
        bool(failing),
        None,
        f"{len(failing)} grain tests fail on the PR's stg_orders "
        f"({failing[0].failures if failing else 0} duplicated order_ids)",
    )


def lineage_lint(r: Replay) -> Guard:
    """The lint and the static fan-out prediction, on the PR's manifest alone."""
    found = lineage.check(lineage.load(r.builds["enrichment"].manifest_path))
    fanouts = [f for f in found if f.rule in ("fan-out", "staging-joins-sources")]
    return Guard(
        "lineage lint on the PR",
        "on every pull request (manifest only, no data)",
        bool(fanouts),
        None,
        "; ".join(sorted({f"{f.model}: {f.rule}" for f in fanouts})) or "no finding",
    )


def row_count_monitor(r: Replay) -> Guard:
    """Rows against distinct keys of stg_orders after every build (notebook 05's counts)."""
    params, points = r.params, r.points
    after = [p for p in points if p.at >= params.pr_deployed_at]
    live = {p.at: p.revision for p in points}
    every = [p.at for p in points]  # the same points as notebook 05: its counts are reused
    counts = {
        (model, at): (rows, keys)
        for rev in r.builds
        for model, at, rows, keys in history.counts(
            r.con, rev, every, models=("stg_orders",), cache=Path(r.build_dir) / "history"
        )
        if live[at] == rev
    }
    monitor = next(
        (p for p in after if counts[("stg_orders", p.at)][0] > counts[("stg_orders", p.at)][1]),
        None,
    )
    return Guard(
        "row-count monitor (rows vs distinct keys)",
        "after every build",
        monitor is not None and monitor.at < params.fix_deployed_at,
        monitor.at if monitor else None,
        f"stg_orders: {counts[('stg_orders', monitor.at)][0]:,} rows for "
        f"{counts[('stg_orders', monitor.at)][1]:,} order_ids at the {monitor.kind} build"
        if monitor
        else "rows per key stayed 1.0",
    )


def revenue_anomaly(r: Replay) -> Guard:
    """The anomaly detector on yesterday's dashboard revenue, after every build."""
    revenue = history.previous_day_revenue(r.con, r.points)
    scored = anomaly.detect([p.at for p in r.points], revenue)
    spike = next((s for s in scored if s.flagged and s.at >= r.params.pr_deployed_at), None)
    return Guard(
        "revenue anomaly detection",
        "after every build, on yesterday's dashboard revenue",
        spike is not None and spike.at < r.params.fix_deployed_at,
        spike.at if spike else None,
        spike.reason if spike else "no anomaly",
    )


def reconciliation_job(r: Replay) -> Guard:
    """The daily reconciliation job, on the build live at its first run after the deploy."""
    params = r.params
    job = None
    day = params.pr_deployed_at.date()
    while job is None and day <= params.end_date + dt.timedelta(days=1):
        run = dt.datetime.combine(day, RECONCILE_AT)
        if params.pr_deployed_at <= run < params.fix_deployed_at:
            job = run
        day += dt.timedelta(days=1)
    evidence = "the fix was deployed before the job's next run"
    if job is not None:
        live = [p for p in r.points if p.at <= job][-1]
        rec = reconcile.daily(r.con, f"{live.revision}.fct_revenue_daily", "finance_daily_revenue")
        evidence = (
            f"{len(rec.disagreeing)} of {len(rec.days)} days disagree with finance "
            f"({live.revision} build of {live.at:%Y-%m-%d %H:%M})"
        )
    return Guard(
        "daily reconciliation job",
        f"every day at {RECONCILE_AT:%H:%M}",
        job is not None,
        job,
        evidence,
    )


def finance_analyst(r: Replay) -> Guard:
    """What happened: the analyst comparing the dashboard with finance at `detected_at`."""
    params = r.params
    live = history.live_build(params, params.detected_at)
    day = live.at.date() - dt.timedelta(days=1)
    shown = dict((d, rev) for d, rev, _ in history.dashboard_at(r.con, live.revision, live.at))
    ((booked,),) = r.con.execute(
        "select revenue from finance_daily_revenue where revenue_date = ?", [day]
    ).fetchall()
    ratio = float(shown.get(day, 0) / booked) if booked else float("nan")
    return Guard(
        "the finance analyst (what happened)",
        "when someone looks",
        True,
        params.detected_at,
        f"the dashboard shows {story.relative(ratio, FINANCE_FIGURE)} for {day}",
    )


# Each guard the postmortem asked for, in the order the replay reports them.
GUARDS: tuple[Callable[[Replay], Guard], ...] = (
    grain_test_in_ci,
    lineage_lint,
    row_count_monitor,
    revenue_anomaly,
    reconciliation_job,
    finance_analyst,
)


def replay(
    params: Params, con, builds: dict[str, warehouse.Build], data_dir: Path, build_dir: Path
) -> list[Guard]:
    """Each guard of `GUARDS` on the incident at `params` (`con`: see `Replay`)."""
    r = Replay(params, con, builds, data_dir, build_dir)
    return [guard(r) for guard in GUARDS]
