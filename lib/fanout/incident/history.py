"""The build history the parameters imply, and each model's row and key counts at every build.

The warehouse is built on a schedule (every day at 06:00) and at every deploy. A build at
time t sees the orders placed before t, and runs the revision deployed last before t.

Rather than run dbt a hundred times, the history is derived from one full build per
revision: every model here is a function of the orders, so a build at t contains exactly
the full build's rows that come from orders placed before t. A model row's time is the
time of its order (for `fct_revenue_daily`, the first order of the day); counting rows and
first appearances of keys before t gives each build's row count and distinct key count.
`rebuild_at` checks this by really building one point on truncated data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import statistics
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from fanout.incident import timeline, warehouse
from fanout.incident.data import raw, validate
from fanout.incident.params import Params

__all__ = [
    "MODELS",
    "BuildPoint",
    "build_points",
    "counts",
    "dashboard_at",
    "live_build",
    "marts_at",
    "models_seconds",
    "previous_day_revenue",
    "query_ms",
    "rebuild_at",
]

SCHEDULE = timeline.SCHEDULE

# For each model: SQL giving one row per model row, with the time it appears (`seen_at`) and its
# key (`key`). `{db}` is the attached build. Models absent from a revision are skipped.
MODELS: dict[str, str] = {
    "stg_orders": "select ordered_at as seen_at, order_id as key from {db}.stg_orders",
    "stg_order_items": (
        "select stg_orders.ordered_at as seen_at, stg_order_items.order_item_id as key "
        "from {db}.stg_order_items "
        "join {db}.stg_orders on stg_order_items.order_id = stg_orders.order_id"
    ),
    "fct_orders": "select ordered_at as seen_at, order_id as key from {db}.fct_orders",
    "fct_revenue_daily": (
        "select min(ordered_at) as seen_at, cast(ordered_at as date) as key "
        "from {db}.stg_orders group by cast(ordered_at as date)"
    ),
}
# The query behind the revenue dashboard, run on the data a build had.
MART_QUERY = (
    "select cast(ordered_at as date) as revenue_date, count(*) as order_count, "
    "sum(amount) as revenue from {db}.stg_orders where ordered_at < ? group by 1"
)


@dataclass(frozen=True)
class BuildPoint:
    """One build in the history: when, why (schedule or deploy) and which revision ran."""

    at: dt.datetime
    kind: str
    revision: str


def build_points(params: Params) -> list[BuildPoint]:
    """Daily scheduled builds after each day of orders, plus one build at every deploy."""
    first = dt.datetime.combine(params.start_date, dt.time())
    points = [
        dt.datetime.combine(params.start_date + dt.timedelta(days=k), SCHEDULE)
        for k in range(1, params.days + 1)
    ]
    kinds = dict.fromkeys(points, "scheduled")
    for deploy in timeline.deploys(params):
        if deploy.at > first:
            kinds[deploy.at] = f"deploy {deploy.revision}"
    return [BuildPoint(at, kinds[at], timeline.revision_at(params, at)) for at in sorted(kinds)]


def live_build(params: Params, at: dt.datetime) -> BuildPoint:
    """The build whose tables were live at `at`: the last one at or before it."""
    points = [p for p in build_points(params) if p.at <= at]
    if not points:
        raise ValueError(f"no build before {at}")  # timeline.require rules this out
    return points[-1]


def dashboard_at(con, db: str, at: dt.datetime) -> list[tuple[dt.date, Decimal, int]]:
    """What `fct_revenue_daily` of build `db` held if built at `at`: (revenue_date, revenue,
    order_count) per day, from the orders placed before `at` (the last day may be partial)."""
    rows = con.execute(MART_QUERY.format(db=db) + " order by 1", [at]).fetchall()
    return [(day, Decimal(revenue), int(orders)) for day, orders, revenue in rows]


def marts_at(con, db: str, at: dt.datetime, schema: str) -> None:
    """Views `schema.fct_orders` and `schema.fct_revenue_daily`: the marts of build `db` as a
    build at `at` would have made them (its rows from orders placed before `at`), so that a
    dashboard's SQL (`timeline.Metric.query(schema)`) gives the figure it showed then."""
    stamp = _stamp(at)
    con.execute(f"create schema if not exists {schema}")
    con.execute(
        f"create or replace view {schema}.fct_orders as "
        f"select * from {db}.fct_orders where ordered_at < {stamp}"
    )
    con.execute(
        f"create or replace view {schema}.fct_revenue_daily as "
        + MART_QUERY.format(db=db).replace("?", stamp)
    )


def _tables(con, db: str) -> set[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where database_name = ?", [db]
    ).fetchall()
    return {r[0] for r in rows}


def _stamp(at: dt.datetime) -> str:
    return f"timestamp '{at.isoformat(sep=' ')}'"


def _first_point_after(column: str, points: list[dt.datetime]) -> str:
    """SQL for the first of the sorted `points` strictly after `column` (null: none is), as a
    balanced tree of comparisons: log2(len(points)) per row instead of a join."""
    if not points:
        return "cast(null as timestamp)"
    if len(points) == 1:
        return f"case when {column} < {_stamp(points[0])} then {_stamp(points[0])} end"
    mid = len(points) // 2
    # every point from `mid` on is after `column` exactly when points[mid - 1] is not
    return (
        f"case when {column} < {_stamp(points[mid - 1])} "
        f"then {_first_point_after(column, points[:mid])} "
        f"else {_first_point_after(column, points[mid:])} end"
    )


def counts(
    con,
    db: str,
    points: list[dt.datetime],
    models: tuple[str, ...] | None = None,
    *,
    cache: Path | None = None,
) -> list[tuple[str, dt.datetime, int, int]]:
    """(model, built_at, rows, distinct keys) at each point, for the models in build `db`
    (or only the named ones).

    `db` is the alias of a build attached to `con` (see `fanout.incident.warehouse.attach`).
    Each row is assigned to the first build after it appears; a key, to the first build after its
    first row; the counts at a build are the running totals. One scan of each model.

    With `cache` (a folder), each model's counts are kept there, keyed by the database file
    (path, size, modification time) and the points: at 100 million orders a model takes
    minutes, and the runner, notebook 05 and the guards' replay (06) ask for the same.
    """
    present = _tables(con, db)
    points = sorted(set(points))
    out = []
    for model in MODELS:
        needed = {"stg_orders", model} if model != "fct_revenue_daily" else {"stg_orders"}
        if not needed <= present or model not in present or model not in (models or MODELS):
            continue
        if cache is None:
            found = _count_model(con, db, model, points)
        else:
            found = _cached(cache, _identity(con, db), model, points, con, db)
        out += [(model, at, rows, keys) for at, rows, keys in found]
    return out


def _identity(con, db: str) -> list:
    """What identifies a build's data: its database file, size and modification time."""
    ((path,),) = con.execute(
        "select path from duckdb_databases() where database_name = ?", [db]
    ).fetchall()
    stat = Path(path).stat()
    return [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]


def _cached(cache: Path, identity: list, model: str, points, con, db) -> list[tuple]:
    key = json.dumps([identity, model, [p.isoformat() for p in points]])
    path = Path(cache) / f"counts-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    try:
        return [(dt.datetime.fromisoformat(a), r, k) for a, r, k in json.loads(path.read_text())]
    except (OSError, ValueError):
        pass
    found = _count_model(con, db, model, points)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps([[a.isoformat(), r, k] for a, r, k in found]))
    tmp.replace(path)
    return found


def _count_model(con, db: str, model: str, points: list[dt.datetime]) -> list[tuple]:
    values = ", ".join(f"({_stamp(p)})" for p in points)
    bucket = _first_point_after("seen_at", points)
    rows_sql = MODELS[model]
    sql = f"""
        with r as ({rows_sql.format(db=db)}),
        b as (select {bucket} as built_at, key from r),
        row_steps as (
            select built_at, count(*) as n from b where built_at is not null group by 1
        ),
        key_first as (select min(built_at) as built_at from b group by key),
        key_steps as (
            select built_at, count(*) as n from key_first where built_at is not null
            group by 1
        ),
        points as (select * from (values {values}) as p(built_at))
        select points.built_at,
            coalesce(sum(row_steps.n) over w, 0), coalesce(sum(key_steps.n) over w, 0)
        from points
        left join row_steps using (built_at)
        left join key_steps using (built_at)
        window w as (order by points.built_at)
        order by points.built_at
    """
    return [(at, int(rows), int(keys)) for at, rows, keys in con.execute(sql).fetchall()]


def previous_day_revenue(con, points: list[BuildPoint]) -> list[float]:
    """At each build, the revenue the dashboard showed for the day before: the series a
    revenue monitor watches. Each build's revision must be attached to `con` under its name."""
    found: dict[dt.datetime, float] = {}
    for revision in sorted({p.revision for p in points}):
        mine = [p.at for p in points if p.revision == revision]
        values = ", ".join(f"({_stamp(at)})" for at in mine)
        rows = con.execute(
            f"""
            with points as (select * from (values {values}) as p(built_at))
            select points.built_at, coalesce(sum(s.amount), 0)
            from points
            left join {revision}.stg_orders as s
                on cast(s.ordered_at as date) = cast(points.built_at as date) - 1
                and s.ordered_at < points.built_at
            group by points.built_at
            """
        ).fetchall()
        found.update({at: float(v) for at, v in rows})
    return [found[p.at] for p in points]


def query_ms(
    con, db: str, at: dt.datetime, repeat: int = 3, budget_s: float = 0.25
) -> tuple[float, float, float]:
    """Milliseconds of the revenue mart's query on the data a build at `at` had: the median,
    the fastest and the slowest of up to `repeat` runs after one that warms the cache, as
    many as `budget_s` allows. On large data, where the first run alone takes longer than
    the budget, that run is the measurement (a warm cache changes little there)."""
    sql = MART_QUERY.format(db=db)

    def once() -> float:
        started = time.perf_counter()
        con.execute(sql, [at]).fetchall()
        return (time.perf_counter() - started) * 1000

    first = once()
    if first > budget_s * 1000:
        return first, first, first
    times, spent = [], 0.0
    while len(times) < repeat and (not times or spent < budget_s * 1000):
        times.append(once())
        spent += times[-1]
    return statistics.median(times), min(times), max(times)


WARM_UP_UNDER_S = 5.0  # dbt's own timing above this: a cold start is lost in it


def models_seconds(build, *, budget_s: float = 1.0, at_least: int = 3) -> tuple[float, ...]:
    """What running `build`'s models costs in the database, in seconds per run.

    dbt times each build once, and the first build of a process pays a cold start (the
    adapter, the connection, the caches) that at a small size is most of it. So when dbt's
    own total is small, each model's compiled SQL is run again here, warm (one run first to
    warm the caches), until `budget_s` is spent and at least `at_least` times; when it is
    large (over WARM_UP_UNDER_S), a cold start is lost in it and dbt's own total is given,
    instead of running the models again."""

    timed = sum(r.execution_time for r in build.results if r.resource_type == "model")
    if timed > WARM_UP_UNDER_S:
        return (timed,)
    models = [
        node["compiled_code"]
        for node in build.manifest["nodes"].values()
        if node.get("resource_type") == "model" and node.get("compiled_code")
    ]
    con = warehouse.connect(build)
    try:

        def once() -> float:
            started = time.perf_counter()
            for sql in models:  # materialized, as dbt does, into a table dropped at once
                con.execute(f"create or replace temp table fanout_model_run as {sql}")
            con.execute("drop table if exists fanout_model_run")
            return time.perf_counter() - started

        once()
        runs, spent = [], 0.0
        while len(runs) < at_least or (spent < budget_s and len(runs) < 15):
            runs.append(once())
            spent += runs[-1]
    finally:
        con.close()
    return tuple(runs)


def rebuild_at(params: Params, at: dt.datetime, data_dir: Path, build_dir: Path):
    """Really build the revision live at `at` on the orders placed before `at`; returns the
    build. The truncated raw data goes to `build_dir/history/` (Parquet); raw data is only read.

    Only the models are built (`dbt run`): the build is read for its tables, and the tests on
    the sources would check again what validating `data_dir` checked. The truncated data is
    not validated again either: whole orders of valid data, with all their line items, are
    valid (a test checks it), and `data_dir` is validated here first.
    """

    revision = timeline.revision_at(params, at)
    validated = Path(build_dir).resolve() / "validated"
    validate.require_input(data_dir, cache_dir=validated)
    out = Path(build_dir) / "history" / f"{params.dataset_key()}-{at:%Y%m%dT%H%M%S}"
    if not (out / raw.CHECKSUMS).exists():
        out.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        raw.quiet(con)
        stamp = _stamp(at)
        queries = {
            "raw_orders": f"select * from ({raw.read_sql(data_dir, 'raw_orders')}) "
            f"where ordered_at < {stamp} order by order_id",
            "raw_order_items": f"select i.* from ({raw.read_sql(data_dir, 'raw_order_items')}) i "
            f"join ({raw.read_sql(data_dir, 'raw_orders')}) o on i.order_id = o.order_id "
            f"where o.ordered_at < {stamp} order by i.order_item_id",
            "finance_daily_revenue": raw.read_sql(data_dir, "finance_daily_revenue"),
        }
        for name, query in queries.items():
            target = str(out / f"{name}.parquet").replace("'", "''")
            con.execute(f"copy ({query}) to '{target}' (format parquet)")
        con.close()
        names = [f"{n}.parquet" for n in queries]
        (out / raw.CHECKSUMS).write_text(raw.write_checksums(out, names))
    validate.inherit(out, validated)
    return warehouse.build(revision, out, build_dir, tests=False)
