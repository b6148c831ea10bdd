"""The benchmarks: `make bench` (all) or `python -m bench NAME ...`.

Each benchmark runs its contenders side by side, repeats, prints medians and ratios, writes
every measurement to `bench/results/NAME.csv` and a chart to `bench/results/NAME.png`, and
rewrites `BENCHMARKS.md` from all the results there.

    generation  line items per second and peak memory at 1M and 10M orders, CSV and Parquet
    builds      dbt build of each revision at 1M and 10M orders; enrichment/baseline
    grain       grain check of the fanned-out stg_orders at 1M and 10M orders: fanout vs
                dbt's unique test SQL, the engine's floor, polars and pandas; and through
                dbt targets on PostgreSQL and Spark at 1M orders
    workbook    make workbook at the default parameters, cold and warm, vs its floor
    lineage     lint and static fan-out prediction over a generated 500-model dbt project,
                next to dbt's own parse of it
    lineage700  the same over 700 models written as real projects are (window dedups, CTE
                chains, unions, date spines), and the whole `fanout lint` command
    scale       the whole workbook at 1M and 10M orders from an empty build folder, stage by
                stage (data, each build, each notebook, the report): time, peak memory of
                the process tree, disk
    scale100m   the same at 100M orders (about half an hour): only when named,
                make bench BENCH=scale100m; its rows join scale's
    before14    the whole workbook at 10M orders as at the commit issue 14 was filed at
                (94b2a98, from this clone's history) and as now, alternating, each from an
                empty build folder: wall time and peak memory of the process tree
    anomalies   anomaly detection at 20,000 and 1,000,000 points, next to the quadratic
                detector it replaced (issue 13)
    lint20k     fanout lint over wide projects of 2,000 and 20,000 models and a chain of
                10,000: time, output size (issue 13)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import report
from bench.common import (
    ROOT,
    WORK,
    BenchError,
    Contender,
    Run,
    say,
    side_by_side,
    worker,
    write_runs,
)

SCALES = ("1m", "10m")


def _params(scale: str, **more):
    from fanout.incident.params import Params, load_yaml

    base = load_yaml(ROOT / "params" / f"{scale}.yaml")
    return Params.from_mapping({**base.to_dict(), **more})


def _dataset(scale: str) -> Path:
    """The preset's dataset, generated and validated once under build/ (not measured)."""
    from fanout.incident.data.dataset import dataset_dir

    say(f"setup: dataset {scale}")
    return dataset_dir(_params(scale))


def bench_generation(repeat: int, scales: tuple[str, ...]) -> list[Run]:
    runs = []
    for scale in scales:
        params = {k: v for k, v in _params(scale).dataset().items()}
        contenders = [
            Contender(
                fmt,
                "generate",
                {"params": params, "out": str(WORK / f"gen-{scale}-{fmt}"), "fmt": fmt},
            )
            for fmt in ("parquet", "csv")
        ]
        runs += side_by_side(
            "generation", scale, contenders, repeat, agree=lambda a: (a["orders"], a["items"])
        )
        for fmt in ("parquet", "csv"):
            shutil.rmtree(WORK / f"gen-{scale}-{fmt}", ignore_errors=True)
    return runs


def bench_builds(repeat: int, scales: tuple[str, ...]) -> list[Run]:
    from fanout.incident import warehouse

    runs = []
    for scale in scales:
        data_dir = _dataset(scale)
        contenders = [
            Contender(
                rev,
                "build",
                {
                    "revision": rev,
                    "data_dir": str(data_dir),
                    "build_dir": str(WORK / f"builds-{scale}"),
                },
            )
            for rev in warehouse.REVISIONS
        ]
        runs += side_by_side("builds", scale, contenders, repeat)
        for r in runs:
            if not r.answer.get("ok", True) and r.contender != "enrichment":
                raise BenchError(f"build of {r.contender} at {scale} failed its tests")
    return runs


PANDAS = "pandas (con.sql().df(), whole table)"  # the whole-table contender the targets use


def bench_grain(repeat: int, scales: tuple[str, ...]) -> list[Run]:
    """On DuckDB at each scale: fanout, dbt's unique test SQL, the engine's floor, polars
    (lazy scan of the same table exported to Parquet) and pandas as users read it; then the
    same check through dbt targets on PostgreSQL and Spark at 1M orders."""
    import duckdb

    from bench.engines import agree, engine_runs, unique_test_sql
    from fanout.incident import warehouse

    runs = []
    for scale in scales:
        data_dir = _dataset(scale)
        say(f"setup: enrichment build at {scale}")
        built = warehouse.build("enrichment", data_dir, WORK / f"builds-{scale}")
        parquet = WORK / f"stg_orders-{scale}.parquet"
        if not parquet.exists() or parquet.stat().st_mtime < built.database.stat().st_mtime:
            con = duckdb.connect(str(built.database), read_only=True)
            con.execute(f"copy stg_orders to '{parquet}' (format parquet)")
            con.close()
        database = str(built.database)
        table = {"database": database, "relation": "stg_orders", "key": "order_id"}
        unique_sql = unique_test_sql(None, built.folder, built.data_dir, WORK)
        contenders = [
            Contender(
                "fanout grain.check",
                "grain_fanout",
                {"database": database, "relation": "stg_orders", "key": ["order_id"]},
            ),
            Contender(
                "dbt unique test SQL", "grain_dbt_unique", {"database": database, "sql": unique_sql}
            ),
            Contender("engine floor: count(*), count(distinct)", "grain_floor", table),
            Contender(
                "polars (lazy scan of Parquet)",
                "grain_polars",
                {"parquet": str(parquet), "key": "order_id"},
            ),
            Contender(PANDAS, "grain_pandas_duckdb", table),
            Contender(
                "pandas (con.sql().df(), key column only)",
                "grain_pandas_duckdb",
                {**table, "columns": ["order_id"]},
            ),
        ]
        found = side_by_side("grain", scale, contenders, repeat)
        agree(found)
        runs += found
    runs += engine_runs(min(repeat, 3), "1m")
    return runs


def _workbook_params(build_dir: Path, scale: str = "default") -> Path:
    import yaml

    params = _params(scale, build_dir=str(build_dir)).to_dict()
    path = build_dir.parent / f"{build_dir.name}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def _fanout_workbook(params: Path) -> tuple[float, float]:
    """`fanout workbook --params` as a user runs it: wall seconds, peak MiB of its tree."""
    from bench.treepeak import run_tree

    code, seconds, peak = run_tree(
        [str(Path(sys.executable).parent / "fanout"), "workbook", "--params", str(params)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if code != 0:
        raise BenchError(f"fanout workbook --params {params} failed (exit {code})")
    return seconds, peak / 2**20


FLOOR = "floor: kernels + builds"


def bench_workbook(repeat: int, scales: tuple[str, ...]) -> list[Run]:
    """Per repeat: the floor's two parts, their sum (the reference of the ratios), then the
    workbook from an empty build folder and again with its builds."""
    from fanout.incident import workbook
    from fanout.incident.paths import default_data_dir

    notebooks = len(workbook.notebook_paths())
    runs = []
    for i in range(repeat):
        parts = []
        for name, task, args in (
            ("floor: kernels", "kernels", {"count": notebooks}),
            (
                "floor: builds",
                "builds",
                {"data_dir": str(default_data_dir()), "build_dir": str(WORK / "floor-builds")},
            ),
        ):
            seconds, peak, answer = worker(task, args)
            parts.append(Run("workbook", "default", name, i + 1, seconds, peak, answer))
            say(f"  default · {name} · run {i + 1}/{repeat}: {seconds:.1f} s")
        total = sum(p.seconds for p in parts)
        runs.append(Run("workbook", "default", FLOOR, i + 1, total, max(p.peak_mib for p in parts)))
        folder = WORK / "workbook-default"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        params = _workbook_params(folder)
        for label in ("cold (empty build folder)", "warm (builds reused)"):
            seconds, peak = _fanout_workbook(params)
            runs.append(Run("workbook", "default", label, i + 1, seconds, peak))
            say(f"  default · {label} · run {i + 1}/{repeat}: {seconds:.1f} s, {peak:,.0f} MiB")
        runs += parts
    shutil.rmtree(WORK / "workbook-default", ignore_errors=True)
    return runs


def bench_lineage(repeat: int, scales: tuple[str, ...]) -> list[Run]:
    from bench.project import write_project

    folder = WORK / "project-500"
    shutil.rmtree(folder, ignore_errors=True)
    counts = write_project(folder, 500)
    target = folder / "target"
    contenders = [
        Contender("dbt parse", "dbt_parse", {"project": str(folder), "target": str(target)}),
        Contender(
            "fanout lint + prediction",
            "lint_predict",
            {"manifest": str(target / "manifest.json")},
        ),
    ]
    runs = side_by_side("lineage", "500 models", contenders, repeat)
    found = {r.answer["fan_out_findings"] for r in runs if "fan_out_findings" in r.answer}
    if found != {counts["planted_fan_outs"]}:
        raise BenchError(f"lineage: planted {counts['planted_fan_outs']} fan-outs, found {found}")
    return runs


def bench_lineage700(repeat: int, scales: tuple[str, ...]) -> list[Run]:
    from bench.project import write_realistic_project

    folder = WORK / "project-700"
    shutil.rmtree(folder, ignore_errors=True)
    counts = write_realistic_project(folder, 700)
    target = folder / "target"
    manifest = {"manifest": str(target / "manifest.json")}
    contenders = [
        Contender("dbt parse", "dbt_parse", {"project": str(folder), "target": str(target)}),
        Contender("fanout lint + prediction", "lint_predict", manifest),
        Contender("fanout lint command, imports included", "lint_command", manifest),
    ]
    runs = side_by_side("lineage700", "700 models", contenders, repeat)
    found = {r.answer["fan_out_findings"] for r in runs if "fan_out_findings" in r.answer}
    if found != {counts["planted_fan_outs"]}:
        raise BenchError(
            f"lineage700: planted {counts['planted_fan_outs']} fan-outs, found {found}"
        )
    return runs


def _scale_runs(preset: str, repeat: int) -> list[Run]:
    """The whole workbook at a preset from an empty build folder, stage by stage: a row per
    stage (data, each build, each notebook, the report) and one for the whole run, with the
    peak memory of the process tree and the disk the build folder holds after the stage."""
    import json

    from bench.stages import run_stages

    runs = []
    for i in range(repeat):
        folder = WORK / f"scale-{preset}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        params = _workbook_params(folder, preset)
        fanout = str(Path(sys.executable).parent / "fanout")
        code, seconds, stages = run_stages([fanout, "workbook", "--params", str(params)], folder)
        if code != 0:
            raise BenchError(f"fanout workbook --params {params} failed (exit {code})")
        data = next(folder.glob("data/*/dataset.json"), None)
        orders = json.loads(data.read_text())["orders"] if data else None
        for stage in stages:
            answer = {"disk_mib": round(stage.disk_mib, 1), "orders": orders}
            runs.append(
                Run("scale", preset, stage.name, i + 1, stage.seconds, stage.peak_mib, answer)
            )
        say(f"  {preset} · workbook · run {i + 1}/{repeat}: {seconds:.1f} s, "
            f"{stages[-1].peak_mib:,.0f} MiB, {stages[-1].disk_mib:,.0f} MiB on disk")  # fmt: skip
    shutil.rmtree(WORK / f"scale-{preset}", ignore_errors=True)
    return runs


def bench_scale(repeat: int, scales: tuple[str, ...]) -> list[Run]:
    """The workbook at each preset (1M and 10M orders by default), stage by stage; the 100M
    rows of an earlier `scale100m` are kept."""
    from bench.common import read_runs

    runs = [run for preset in scales for run in _scale_runs(preset, repeat)]
    return runs + [r for r in read_runs("scale") if r.case == "100m"]


def bench_scale100m(repeat: int, scales: tuple[str, ...]) -> list[Run]:
    """The workbook at 100M orders, stage by stage (about half an hour, 20 GB of disk),
    written beside the smaller presets' rows in scale.csv."""
    from bench.common import read_runs

    kept = [r for r in read_runs("scale") if r.case != "100m"]
    return kept + _scale_runs("100m", repeat)


# The commit issue 14 was filed at ("make workbook at 10M orders takes 2.4 min"): its goal is
# "at 10M orders no slower than today", measured here side by side.
BEFORE_14 = "94b2a98"


def _before_14() -> Path:
    """The project as at BEFORE_14, extracted once from this clone's history under WORK."""
    folder = WORK / f"before-{BEFORE_14}"
    if (folder / "lib" / "fanout").is_dir():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BEFORE_14], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        shutil.rmtree(folder, ignore_errors=True)
        raise BenchError(
            f"commit {BEFORE_14} is not in this clone's history (a shallow clone?): "
            f"git fetch --unshallow, then run again"
        ) from None
    return folder


def bench_before14(repeat: int, scales: tuple[str, ...]) -> list[Run]:
    """The 10M workbook as at BEFORE_14 and as now, alternating, from empty build folders;
    the old code runs on this environment (its own lib first on the path, in the kernels
    too). Only the tree's memory is sampled meanwhile: no stages, no disk walks."""
    import json

    from bench.treepeak import run_tree

    old = _before_14()
    python = sys.executable
    runs = []
    for i in range(repeat):
        for label, tree, command in (
            (
                f"as at {BEFORE_14} (issue 14 filed)",
                old,
                ["env", f"PYTHONPATH={old / 'lib'}", python, "-m", "fanout", "workbook"],
            ),
            ("now", ROOT, [str(Path(python).parent / "fanout"), "workbook"]),
        ):
            folder = WORK / f"before14-{'old' if tree == old else 'now'}"
            shutil.rmtree(folder, ignore_errors=True)
            cmd = [*command, "--params", str(tree / "params" / "10m.yaml")]
            code, seconds, peak = run_tree(
                [*cmd, "--build-dir", str(folder)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=tree,
            )
            if code != 0:
                raise BenchError(f"{' '.join(cmd)} failed (exit {code})")
            data = next(folder.glob("data/*/dataset.json"), None)
            orders = json.loads(data.read_text())["orders"] if data else None
            runs.append(Run("before14", "10m", label, i + 1, seconds, peak / 2**20,
                            {"orders": orders}))  # fmt: skip
            say(f"  10m · {label} · run {i + 1}/{repeat}: {seconds:.1f} s, {peak / 2**30:.2f} GiB")
            shutil.rmtree(folder, ignore_errors=True)
    return runs


def bench_anomalies(repeat: int, scales: tuple[str, ...]) -> list[Run]:
    from bench.worker import _series

    runs = side_by_side(
        "anomalies",
        "20,000 points",
        [
            Contender("fanout anomaly.detect", "anomalies", {"points": 20_000}),
            Contender(
                "before: every earlier point (quadratic)",
                "anomalies",
                {"points": 20_000, "before": True},
            ),
        ],
        repeat,
        agree=lambda a: a["flagged"],
    )
    csv = WORK / "series-1m.csv"
    if not csv.exists():
        times, values = _series(1_000_000)
        tmp = csv.with_suffix(".tmp")
        with tmp.open("w") as fh:
            fh.write("at,value\n")
            fh.writelines(f"{t.isoformat()},{v}\n" for t, v in zip(times, values, strict=True))
        tmp.replace(csv)
    runs += side_by_side(
        "anomalies",
        "1,000,000 points",
        [
            Contender("fanout anomaly.detect", "anomalies", {"points": 1_000_000}),
            Contender(
                "fanout anomaly.detect, weekday seasonality",
                "anomalies",
                {"points": 1_000_000, "seasonal": True},
            ),
            Contender(
                "fanout anomalies command (CSV read included)",
                "anomalies_command",
                {"csv": str(csv), "points": 1_000_000},
            ),
        ],
        repeat,
    )
    return runs


def bench_lint20k(repeat: int, scales: tuple[str, ...]) -> list[Run]:
    import json

    from bench.manifest import chain, write_manifest

    runs = []
    for models in (2_000, 20_000):
        path = WORK / f"wide-{models}" / "manifest.json"
        say(f"setup: a wide manifest of {models:,} models")
        counts = write_manifest(path, models)
        args = {"manifest": str(path), "models": models}
        case = f"{models:,} models ({counts['bytes'] / 2**20:.0f} MiB manifest)"
        found = side_by_side(
            "lint20k",
            case,
            [
                Contender("fanout lint (rules and prediction)", "lint_output", args),
                Contender("fanout lint --no-predict", "lint_output", {**args, "predict": False}),
            ],
            repeat,
        )
        predicted = {r.answer["fan_out_findings"] for r in found if "no-predict" not in r.contender}
        if predicted != {counts["planted_fan_outs"]}:
            raise BenchError(
                f"lint20k: planted {counts['planted_fan_outs']} fan-outs, found {predicted}"
            )
        runs += found
    # a chain of models whose grains are all unknown, each traced to the source (before issue
    # 13: the reason nested once per model, and the recursion failed past about 1,000)
    path = WORK / "chain-10000" / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(chain(10_000)))
    contender = Contender(
        "fanout lint (rules and prediction)",
        "lint_output",
        {"manifest": str(path), "models": 10_000},
    )
    runs += side_by_side("lint20k", "a chain of 10,000 models", [contender], repeat)
    return runs


BENCHMARKS = {
    "generation": (bench_generation, 3),
    "builds": (bench_builds, 3),
    "grain": (bench_grain, 5),
    "workbook": (bench_workbook, 3),
    "lineage": (bench_lineage, 3),
    "lineage700": (bench_lineage700, 3),
    "scale": (bench_scale, 1),
    "scale100m": (bench_scale100m, 1),  # only when named: make bench BENCH=scale100m
    "before14": (bench_before14, 2),
    "anomalies": (bench_anomalies, 3),
    "lint20k": (bench_lint20k, 3),
}


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[0],
        epilog="\n".join(__doc__.split("\n\n")[2:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)",
    )
    parser.add_argument("--repeat", type=int, help="repeats per contender (default: per benchmark)")
    parser.add_argument(
        "--scales", default=",".join(SCALES), help="presets to run at (default: 1m,10m)"
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.exit(
            2,
            f"python -m bench: error: unknown benchmark {unknown[0]!r}; "
            f"known: {', '.join(BENCHMARKS)}\n",
        )
    if args.repeat is not None and args.repeat < 1:
        parser.exit(2, "python -m bench: error: --repeat must be at least 1\n")
    scales = tuple(s for s in args.scales.split(",") if s)
    bad = [s for s in scales if not (ROOT / "params" / f"{s}.yaml").exists()]
    if bad or not scales:
        parser.exit(2, f"python -m bench: error: no preset params/{(bad or [''])[0]}.yaml\n")
    WORK.mkdir(parents=True, exist_ok=True)
    for name in args.names or [n for n in BENCHMARKS if n != "scale100m"]:
        fn, default_repeat = BENCHMARKS[name]
        say(f"== {name}")
        started = time.perf_counter()
        try:
            runs = fn(args.repeat or default_repeat, scales)
        except BenchError as exc:  # a contender failed or the contenders disagree
            print(f"python -m bench: {name}: {' '.join(str(exc).split())}", file=sys.stderr)
            return 1
        written = {"scale100m": "scale"}.get(name, name)  # 100M rows join the scale benchmark's
        write_runs(written, runs)
        print(report.table(written, runs))
        say(f"== {name} done in {time.perf_counter() - started:.0f} s")
    report.write_all()
    say(f"wrote {report.MARKDOWN.relative_to(ROOT)} and bench/results/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
