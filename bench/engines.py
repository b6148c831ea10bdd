"""The grain check through dbt targets on real engines at 1M orders: a throwaway PostgreSQL
cluster and a local Spark session (dbt-spark's `session` method), set up once per run:
the raw data loaded (`dbt run-operation load_raw`), the enrichment built (`dbt build`).

Contenders, each in its own process, all through the same adapter connection: fanout's
check, the SQL of dbt's `unique` test compiled by dbt for that target, and the engine's
floor (one `count(*), count(distinct key)` query).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import yaml

from bench.common import ROOT, WORK, BenchError, Contender, Run, say, side_by_side, worker

__all__ = ["engine_runs", "unique_test_sql"]

PROJECT = ROOT / "warehouse" / "enrichment"


def unique_test_sql(
    target: str | None, profiles_dir: str | Path, data_dir: str | Path, work: str | Path
) -> str:
    """The SQL of dbt's `unique` test on stg_orders.order_id, compiled by dbt itself for
    `target` (its relation names and dialect), wrapped as dbt wraps every test."""
    from dbt.cli.main import dbtRunner

    from fanout.incident.data import raw

    inline = (
        "{{ get_test_sql(test_unique(model=ref('stg_orders'), column_name='order_id'), "
        "'count(*)', '!= 0', '!= 0', none) }}"
    )
    folder = Path(tempfile.mkdtemp(prefix="dbt-unique-", dir=work))
    variables = {"raw_dir": str(data_dir), "raw_format": raw.detect_format(data_dir)}
    args = ["compile", "--inline", inline, "--project-dir", str(PROJECT)]
    args += ["--profiles-dir", str(profiles_dir), "--target-path", str(folder)]
    args += ["--log-path", str(folder), "--vars", json.dumps(variables)]
    args += ["--log-level", "none", "--no-send-anonymous-usage-stats"]
    if target:
        args += ["--target", target]
    outcome = dbtRunner().invoke(args)
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    DuckDBConnectionManager.close_all_connections()  # dbt keeps a DuckDB file locked otherwise
    shutil.rmtree(folder, ignore_errors=True)
    if not outcome.success:
        raise BenchError(f"dbt could not compile the unique test: {outcome.exception}")
    return outcome.result.results[0].node.compiled_code


def _csv_dataset(scale: str) -> Path:
    """The preset's data as CSV (PostgreSQL's COPY reads CSV), generated once under build/."""
    from bench.__main__ import _params
    from fanout.incident.data.generate import generate

    out = WORK / f"data-{scale}-csv"
    if not (out / "dataset.json").exists():
        say(f"setup: dataset {scale} as CSV")
        generate(_params(scale), out, fmt="csv", overwrite=True)
    return out


def _profiles(folder: Path, name: str, output: dict) -> Path:
    profile = {"fanout_shop": {"target": name, "outputs": {name: output}}}
    (folder / "profiles.yml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return folder


def _case(
    engine: str,
    scale: str,
    folder: Path,
    data: Path,
    settings: dict,
    repeat: int,
    server_pid: int | None = None,
):
    target = f"{engine}_enrichment"
    say(f"setup: {engine}: load_raw and dbt build of the enrichment at {scale}")
    args = {
        "engine": engine,
        "profiles_dir": str(folder),
        "data_dir": str(data),
        "work": str(folder),
        "settings": settings,
    }
    seconds, _, setup = worker("engine_setup", args)
    if not setup["ok"]:
        raise BenchError(f"{engine}: the enrichment build failed")
    say(
        f"  {engine}: load {setup['load_seconds']:.1f} s, build {setup['build_seconds']:.1f} s "
        f"(setup {seconds:.1f} s)"
    )
    common = {
        "profiles_dir": str(folder),
        "project_dir": str(PROJECT),
        "target": target,
        "relation": "stg_orders",
        "key": "order_id",
        "server_pid": server_pid,
    }
    contenders = [
        Contender("fanout check via dbt target", "grain_target", {**common, "how": "fanout"}),
        Contender(
            "dbt unique test SQL via dbt target",
            "grain_target",
            {**common, "how": "dbt", "sql": setup["unique_sql"]},
        ),
        Contender("engine floor via dbt target", "grain_target", {**common, "how": "floor"}),
    ]
    runs = side_by_side("grain", f"{scale} · {engine}", contenders, repeat)
    agree(runs)
    return runs


def agree(runs: list[Run]) -> None:
    """The contenders that compute a figure (rows, distinct keys, duplicated keys) must all
    compute the same value."""
    for field in ("rows", "distinct_keys", "duplicated_keys"):
        seen = {r.answer[field] for r in runs if field in r.answer}
        if len(seen) > 1:
            raise BenchError(f"grain {runs[0].case}: the contenders disagree on {field}: {seen}")


def engine_runs(repeat: int, scale: str = "1m") -> list[Run]:
    """The grain check on PostgreSQL and Spark at `scale`; an engine that cannot start is
    left out with one line saying why."""
    from tests import servers

    data = _csv_dataset(scale)
    runs: list[Run] = []
    folder = WORK / "engines"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        cluster = servers.start_postgres()
    except servers.Unavailable as exc:
        say(f"  skipped: {exc}")
    else:
        try:
            pg = folder / "postgres"
            pg.mkdir()
            _profiles(pg, "postgres_enrichment", cluster.profile_output("enrichment"))
            runs += _case(
                "postgres", scale, pg, cluster.readable_copy(data), {}, repeat, cluster.pid
            )
        finally:
            cluster.stop()
    why = servers.spark_unavailable()
    if why:
        say(f"  skipped: {why}")
    else:
        spark = folder / "spark"
        spark.mkdir()
        settings = servers.spark_settings(spark, driver_memory="4g")
        _profiles(spark, "spark_enrichment", servers.spark_output("enrichment", settings))
        runs += _case("spark", scale, spark, data, settings, repeat)
    shutil.rmtree(folder, ignore_errors=True)
    return runs
