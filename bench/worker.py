"""One measurement in a fresh process: `python -m bench.worker TASK JSON_ARGS`.

Imports and setup happen before the clock starts; the last line of stdout is JSON:
`{"seconds": ..., "answer": {...}}`. The answer lets the parent check that the contenders
computed the same thing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TASKS: dict[str, Callable[..., tuple[float, dict[str, Any]]]] = {}


def task(fn):
    TASKS[fn.__name__] = fn
    return fn


def _duckdb(database: str):
    import duckdb

    from fanout.incident.data import raw

    con = duckdb.connect(database, read_only=True)
    raw.quiet(con)
    return con


@task
def grain_fanout(database: str, relation: str, key: list[str]):
    """fanout's grain check: rows, distinct keys, duplicates and the worst keys, one pass."""
    from fanout.toolkit import grain

    con = _duckdb(database)
    started = time.perf_counter()
    report = grain.check(con, relation, key)
    seconds = time.perf_counter() - started
    return seconds, {
        "rows": report.rows,
        "distinct_keys": report.distinct_keys,
        "duplicated_keys": report.duplicated_keys,
    }


@task
def grain_dbt_unique(database: str, sql: str):
    """The SQL dbt runs for a `unique` test (compiled by dbt), on the same DuckDB file."""
    con = _duckdb(database)
    started = time.perf_counter()
    failures = con.execute(sql).fetchall()[0][0]
    seconds = time.perf_counter() - started
    return seconds, {"duplicated_keys": int(failures)}


@task
def grain_floor(database: str, relation: str, key: str):
    """The engine's floor: one `count(*), count(distinct key)` query, nothing more."""
    con = _duckdb(database)
    started = time.perf_counter()
    rows, distinct = con.execute(
        f"select count(*), count(distinct {key}) from {relation}"
    ).fetchall()[0]
    seconds = time.perf_counter() - started
    return seconds, {"rows": int(rows), "distinct_keys": int(distinct)}


@task
def grain_polars(parquet: str, key: str):
    """A polars user's check: a lazy scan of the table's Parquet export, keys counted."""
    import polars as pl

    started = time.perf_counter()
    counts = pl.scan_parquet(parquet).group_by(key).agg(pl.len().alias("n"))
    out = counts.select(
        rows=pl.col("n").sum(),
        distinct_keys=pl.len(),
        duplicated_keys=(pl.col("n") > 1).sum(),
    ).collect()
    seconds = time.perf_counter() - started
    return seconds, {k: int(v) for k, v in out.row(0, named=True).items()}


@task
def grain_pandas_duckdb(database: str, relation: str, key: str, columns: list[str] | None = None):
    """A pandas user's check, the table read the way users read it (`con.sql(...).df()`):
    the whole table, or `columns` only; then `duplicated` and `nunique`."""
    con = _duckdb(database)
    started = time.perf_counter()
    df = con.sql(f"select {', '.join(columns) if columns else '*'} from {relation}").df()
    keys = df[key]
    repeated = keys.duplicated(keep=False)
    answer = {
        "rows": len(df),
        "distinct_keys": int(keys.nunique()),
        "duplicated_keys": int(keys[repeated].nunique()),
    }
    return time.perf_counter() - started, answer


class _TreePeak:
    """The peak resident memory of a process and its children (this process by default; a
    local Spark session's JVM is one of its children), sampled every 20 ms while the block
    runs."""

    def __init__(self, pid: int | None = None):
        import os

        self.pid = pid or os.getpid()

    def __enter__(self):
        import threading

        from bench.treepeak import tree_rss

        self.peak = tree_rss(self.pid)
        self._stop = threading.Event()

        def sample():
            while not self._stop.wait(0.02):
                self.peak = max(self.peak, tree_rss(self.pid))

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        from bench.treepeak import tree_rss

        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self.pid))

    @property
    def mib(self) -> float:
        return self.peak / 2**20


@task
def grain_target(
    profiles_dir: str,
    project_dir: str,
    target: str,
    how: str,
    relation: str,
    key: str,
    sql: str | None = None,
    server_pid: int | None = None,
):
    """The grain check through a dbt target (the adapter's connection): fanout's check, the
    SQL of dbt's unique test compiled for that target, or the engine's floor. The connection
    (and a Spark session) is up before the clock starts; the memory is this process tree's
    (a local Spark's JVM included). A PostgreSQL server's processes (`server_pid`, its
    postmaster) are measured apart, as `server_peak_mib`: their resident memory summed, so
    shared buffers count once per process that touched them."""
    import contextlib

    from sqlglot import exp

    from fanout.toolkit import dbt_target, grain

    t = dbt_target.open_target(target, project_dir=project_dir, profiles_dir=profiles_dir)
    t.rows("select 1")
    table = t.relation(relation)
    server = _TreePeak(server_pid) if server_pid else contextlib.nullcontext()
    with _TreePeak() as peak, server:
        started = time.perf_counter()
        if how == "fanout":
            report = grain.check(t, table, [key])
            answer = {
                "rows": report.rows,
                "distinct_keys": report.distinct_keys,
                "duplicated_keys": report.duplicated_keys,
            }
        elif how == "dbt":
            answer = {"duplicated_keys": int(t.rows(sql)[0][0])}
        else:
            column = exp.column(key)
            query = exp.select(
                exp.Count(this=exp.Star()), exp.Count(this=exp.Distinct(expressions=[column]))
            ).from_(table)
            rows, distinct = t.rows(query.sql(dialect=t.dialect))[0]
            answer = {"rows": int(rows), "distinct_keys": int(distinct)}
        seconds = time.perf_counter() - started
    t.close()
    answer[PEAK] = peak.mib
    if server_pid:
        answer["server_peak_mib"] = round(server.mib)
    return seconds, answer


@task
def engine_setup(engine: str, profiles_dir: str, data_dir: str, work: str, settings: dict):
    """One engine's setup (not a measurement): the raw data loaded, the enrichment built,
    and dbt's unique test on stg_orders.order_id compiled for that target. In its own
    process, so that a Spark session's metastore is free for the measurements after it."""
    from bench.engines import unique_test_sql
    from fanout.incident import target_builds

    target = f"{engine}_enrichment"
    if settings:
        from tests.servers import start_spark

        start_spark(settings)
    options = {"profiles_dir": profiles_dir, "data_dir": data_dir, "work": work}
    started = time.perf_counter()
    load = target_builds.load_raw(target, revision="enrichment", **options)
    built = target_builds.build_on("enrichment", target, **options)
    sql = unique_test_sql(target, profiles_dir, data_dir, work)
    return time.perf_counter() - started, {
        "load_seconds": load,
        "build_seconds": built.seconds,
        "ok": built.ok,
        "unique_sql": sql,
    }


@task
def generate(params: dict, out: str, fmt: str):
    from fanout.incident.data.generate import generate as run
    from fanout.incident.params import Params

    p = Params.from_mapping(params)
    started = time.perf_counter()
    made = run(p, out, fmt=fmt, overwrite=True)
    seconds = time.perf_counter() - started
    return seconds, {
        "orders": made.orders,
        "items": made.items,
        "items_per_second": round(made.items / seconds),
    }


@task
def build(revision: str, data_dir: str, build_dir: str):
    """A forced dbt build of one revision, every test run (none taken from an earlier build),
    dbt imported before the clock starts."""
    import dbt.cli.main  # noqa: F401  (the import is not part of a build)

    from fanout.incident import warehouse

    started = time.perf_counter()
    built = warehouse.build(revision, data_dir, build_dir, force=True, reuse_tests=False)
    seconds = time.perf_counter() - started
    import duckdb

    con = duckdb.connect(str(built.database), read_only=True)
    rows = con.execute("select count(*) from stg_orders").fetchall()[0][0]
    con.close()
    return seconds, {"ok": built.ok, "stg_orders_rows": int(rows)}


@task
def revenue_query(database: str, repeat: int = 3):
    """The dashboard's query on the mart: daily revenue, summed (best of `repeat`)."""
    con = _duckdb(database)
    sql = "select revenue_date, sum(revenue) from fct_revenue_daily group by 1 order by 1"
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        con.execute(sql).fetchall()
        best = min(best, time.perf_counter() - started)
    return best, {}


@task
def kernels(count: int):
    """The floor of a workbook run, part 1: start one kernel per notebook and run one cell."""
    import tempfile

    import nbformat
    import papermill

    folder = Path(tempfile.mkdtemp(prefix="fanout-floor-"))
    notebook = folder / "empty.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1 + 1")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, notebook)
    started = time.perf_counter()
    for i in range(count):
        papermill.execute_notebook(
            str(notebook),
            str(folder / f"out-{i}.ipynb"),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    return time.perf_counter() - started, {"kernels": count}


@task
def builds(data_dir: str, build_dir: str):
    """The floor of a workbook run, part 2: one forced build per revision, dbt import included
    (a workbook run cannot avoid it either)."""
    started = time.perf_counter()
    from fanout.incident import warehouse

    for revision in warehouse.REVISIONS:
        warehouse.build(revision, data_dir, build_dir, force=True)
    return time.perf_counter() - started, {"builds": len(warehouse.REVISIONS)}


@task
def dbt_parse(project: str, target: str):
    """dbt's own parse of a project (no partial parsing): the manifest the lint reads."""
    from dbt.cli.main import dbtRunner

    args = ["parse", "--project-dir", project, "--profiles-dir", project]
    args += ["--target-path", target, "--log-path", target, "--no-partial-parse"]
    args += ["--log-level", "none", "--no-send-anonymous-usage-stats"]
    started = time.perf_counter()
    outcome = dbtRunner().invoke(args)
    seconds = time.perf_counter() - started
    if not outcome.success:
        raise RuntimeError(f"dbt parse failed: {outcome.exception}")
    manifest = json.loads((Path(target) / "manifest.json").read_text())
    models = sum(1 for n in manifest["nodes"].values() if n["resource_type"] == "model")
    return seconds, {"models": models}


@task
def lint_predict(manifest: str):
    """fanout's lint and static fan-out prediction over a manifest."""
    from fanout.toolkit import lineage

    started = time.perf_counter()
    graph = lineage.load(manifest)
    findings = lineage.check(graph)
    seconds = time.perf_counter() - started
    models = sum(1 for n in graph.nodes.values() if n.resource_type == "model")
    fanouts = sum(1 for f in findings if f.rule in ("fan-out", "sum-over-fan-out"))
    return seconds, {"models": models, "fan_out_findings": fanouts}


@task
def lint_command(manifest: str):
    """The whole `fanout lint --manifest FILE --format json` command, Python's start and
    every import included, as a user runs it."""
    import subprocess

    command = [str(Path(sys.executable).parent / "fanout"), "lint", "--manifest", manifest]
    started = time.perf_counter()
    done = subprocess.run([*command, "--format", "json"], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"fanout lint failed: {done.stderr.strip()}")
    findings = json.loads(done.stdout)["findings"]
    fanouts = sum(1 for f in findings if f["rule"] in ("fan-out", "sum-over-fan-out"))
    return seconds, {"fan_out_findings": fanouts}


def _series(points: int) -> tuple[list, list]:
    """An hourly series from 1900 (a 28-day window holds 672 points), values around 1,000
    with a planted tripling every 2,500 points; the same for every contender."""
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(13)
    values = np.round(1000 + rng.normal(0, 50, points), 2)
    values[::2500] *= 3
    start = dt.datetime(1900, 1, 1)
    return [start + dt.timedelta(hours=i) for i in range(points)], values.tolist()


@task
def anomalies(points: int, seasonal: bool = False, before: bool = False):
    """Anomaly detection over an hourly series: fanout's linear detector, or (`before`) the
    one before issue 13, which scans every earlier point for each point."""
    from bench.reference import quadratic_detect
    from fanout.toolkit.anomaly import detect

    times, values = _series(points)
    started = time.perf_counter()
    if before:
        flagged = sum(quadratic_detect(times, values, weekday_seasonality=seasonal))
    else:
        flagged = sum(p.flagged for p in detect(times, values, weekday_seasonality=seasonal))
    seconds = time.perf_counter() - started
    return seconds, {
        "points": points,
        "flagged": flagged,
        "us_per_point": round(seconds / points * 1e6, 2),
    }


def _command(argv: list[str]) -> tuple[float, float, str]:
    """Run a `fanout` command: its wall seconds, the peak MiB of its process tree, and its
    standard output (through a file: a pipe left unread would block a large output)."""
    import tempfile

    from bench.treepeak import run_tree

    command = [str(Path(sys.executable).parent / "fanout"), *argv]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        code, seconds, peak = run_tree(command, interval=0.05, stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        if code not in (0, 1):
            raise RuntimeError(f"fanout {argv[0]} failed (exit {code}): {err.read().strip()}")
        return seconds, peak / 2**20, out.read()


@task
def anomalies_command(csv: str, points: int):
    """The whole `fanout anomalies SERIES.csv` command: Python's start, the CSV read within
    bounds, the detection, the output. Its memory is the command's process tree's."""
    seconds, peak, out = _command(["anomalies", csv, "--format", "json"])
    answer = json.loads(out)
    return seconds, {
        "points": answer["points"],
        "flagged": len(answer["flagged"]),
        "us_per_point": round(seconds / points * 1e6, 2),
        PEAK: peak,
    }


@task
def lint_output(manifest: str, models: int, predict: bool = True):
    """The whole `fanout lint --manifest FILE --format json` command (`--no-predict`: the
    rules alone), and how much it prints. Its memory is the command's process tree's."""
    argv = ["lint", "--manifest", manifest, "--format", "json"]
    seconds, peak, out = _command(argv + ([] if predict else ["--no-predict"]))
    findings = json.loads(out)["findings"]
    return seconds, {
        "findings": len(findings),
        "fan_out_findings": sum(f["rule"] in ("fan-out", "sum-over-fan-out") for f in findings),
        "output_mib": round(len(out.encode()) / 2**20, 2),
        "ms_per_model": round(seconds / models * 1e3, 3),
        PEAK: peak,
    }


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM). Not `ru_maxrss`: Linux keeps that across
    exec, so a child would report its parent's peak whenever the parent's was higher."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


PEAK = "_peak_mib"  # a task measuring a command of its own reports that command's peak


def main(argv: list[str]) -> int:
    name, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    seconds, answer = TASKS[name](**args)
    peak = answer.pop(PEAK, None) or peak_mib()
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "answer": answer}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
