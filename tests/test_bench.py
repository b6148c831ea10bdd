"""The scale presets and the benchmark harness (not the benchmarks: those are `make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import Run, summarise
from bench.project import write_project, write_realistic_project
from bench.report import table
from fanout.incident.data.generate import order_counts
from fanout.incident.params import Params, load_yaml
from fanout.incident.paths import project_root
from fanout.toolkit import lineage

ROOT = project_root()


@pytest.mark.parametrize(
    ("preset", "orders", "fmt"),
    [
        ("small", 482, "csv"),
        ("default", 4_157, "csv"),
        ("1m", 999_054, "parquet"),
        ("10m", 9_987_699, "parquet"),
    ],
)
def test_scale_presets_give_their_advertised_size(preset, orders, fmt):
    params = load_yaml(ROOT / "params" / f"{preset}.yaml")
    assert int(order_counts(params).sum()) == orders
    assert params.raw_format == fmt
    assert params.is_default_dataset() == (preset == "default")
    # the timeline fits the data: the same check every notebook makes first
    from fanout.incident import timeline

    timeline.require(params)


def test_the_default_preset_is_the_default():
    assert load_yaml(ROOT / "params" / "default.yaml") == Params()


def test_summary_takes_medians_and_ratios_against_the_first_contender():
    runs = [
        Run("grain", "10m", "fast", 1, 1.0, 100.0, {"rows": 5}),
        Run("grain", "10m", "slow", 1, 30.0, 900.0, {"rows": 5}),
        Run("grain", "10m", "fast", 2, 3.0, 300.0, {"rows": 5}),
        Run("grain", "10m", "slow", 2, 10.0, 500.0, {"rows": 5}),
        Run("grain", "10m", "fast", 3, 2.0, 200.0, {"rows": 5}),
        Run("grain", "10m", "slow", 3, 20.0, 1100.0, {"rows": 5}),
    ]
    fast, slow = summarise(runs)
    assert (fast.seconds, fast.peak_mib, fast.runs) == (2.0, 200.0, 3)
    assert (slow.seconds, slow.peak_mib) == (20.0, 900.0)
    text = table("scale", runs)
    assert "10.00x" in text and "4.50x" in text  # time and memory against "fast"


def test_targets_are_reported_met_or_missed():
    runs = [
        Run("grain", "10m", "fanout grain.check", 1, 2.5, 400.0),
        Run("grain", "10m", "pandas (con.sql().df(), whole table)", 1, 20.0, 4000.0),
    ]
    text = table("grain", runs)
    assert "grain check at 10M orders: 2.50 s (goal < 3 s) MET" in text
    assert "faster than pandas: 8.0x (goal ≥ 10x) MISSED" in text
    assert "less memory than pandas: 10.0x (goal ≥ 5x) MET" in text


def test_generated_project_has_exactly_the_planted_fan_outs(tmp_path):
    """The lineage benchmark's project, at 100 models: dbt parses it, and the prediction finds
    the planted fan-outs (every 25th mart) and nothing else."""
    from fanout.incident import warehouse

    counts = write_project(tmp_path / "p", 100)
    assert counts == {
        "models": 100,
        "staging": 10,
        "intermediate": 30,
        "marts": 60,
        "planted_fan_outs": 2,
    }
    target = tmp_path / "p" / "target"
    from dbt.cli.main import dbtRunner

    warehouse._offline_env()
    outcome = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(tmp_path / "p"),
            "--profiles-dir",
            str(tmp_path / "p"),
            "--target-path",
            str(target),
            "--log-path",
            str(target),
            "--log-level",
            "none",
        ]
    )
    assert outcome.success
    found = lineage.check(lineage.load(target / "manifest.json"))
    assert sorted((f.model, f.rule) for f in found) == [
        ("mart_24", "sum-over-fan-out"),
        ("mart_49", "sum-over-fan-out"),
    ]


def test_the_realistic_project_has_exactly_the_planted_fan_outs(tmp_path):
    """The 700-model benchmark's project, at 100 models: its window dedups, flags, unions
    and date spines give no fan-out finding; the planted ones are all found."""
    from fanout.incident import warehouse

    counts = write_realistic_project(tmp_path / "p", 100)
    assert counts["planted_fan_outs"] == 2
    target = tmp_path / "p" / "target"
    from dbt.cli.main import dbtRunner

    warehouse._offline_env()
    folder = str(tmp_path / "p")
    outcome = dbtRunner().invoke(
        ["parse", "--project-dir", folder, "--profiles-dir", folder, "--target-path",
         str(target), "--log-path", str(target), "--log-level", "none"]
    )  # fmt: skip
    assert outcome.success
    found = lineage.check(lineage.load(target / "manifest.json"))
    assert sorted((f.model, f.rule) for f in found if f.severity == "error") == [
        ("mart_24", "sum-over-fan-out"),
        ("mart_49", "sum-over-fan-out"),
    ]
    unions = {f"int_{j}" for j in range(1, counts["intermediate"], 3)}  # tested by no test
    assert {f.model for f in found if f.severity != "error"} == unions


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope"], "unknown benchmark 'nope'; known: generation, builds, grain"),
        (["--scales", "5m", "grain"], "no preset params/5m.yaml"),
        (["--repeat", "0", "grain"], "--repeat must be at least 1"),
        (["--repeat", "x"], "argument --repeat: invalid int value: 'x'"),
    ],
)
def test_bench_rejects_bad_arguments_before_any_work(argv, message):
    results = Path(ROOT) / "bench" / "results"
    before = {p.name: p.stat().st_mtime_ns for p in results.iterdir()}
    done = subprocess.run(
        [sys.executable, "-m", "bench", *argv], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert {p.name: p.stat().st_mtime_ns for p in results.iterdir()} == before


def test_the_scale_benchmark_reads_the_stages_from_the_runners_progress(tmp_path):
    """A command that prints the runner's progress lines: one row per stage, with its time
    from its own lines, a peak, the disk after it, and the whole run last."""
    import sys

    from bench.stages import run_stages

    EXTRAS = (
        "warehouse: the fix's tests on the PR's tables, the rebuild at the PR's deploy and "
        "the history's counts"
    )
    script = tmp_path / "fake.py"
    script.write_text(
        "import sys, time\n"
        "def say(line):\n"
        "    print(line, file=sys.stderr, flush=True)\n"
        "    time.sleep(0.3)\n"
        "say('memory: memory budget 1.0 GiB, 0.3 GiB for each of 3 processes')\n"
        "say('dataset: preparing and validating')\n"
        f"open({str(tmp_path / 'b' / 'x.bin')!r}, 'wb').write(b'0' * 2**20)\n"
        "say('dataset: /d ready in 0.3 s')\n"
        "say('warehouse: baseline built in 0.3 s')\n"
        "say('warehouse: enrichment reused in 0.3 s')\n"
        "say('[1/2] 01-load-the-raw-data ...')\n"
        f"say({EXTRAS + ': preparing'!r})\n"
        "say('[2/2] 02-reproduce ...')\n"
        "say('[1/2] 01-load-the-raw-data done in 0.6 s')\n"
        f"say({EXTRAS + ' ready in 0.9 s'!r})\n"
        "say('[2/2] 02-reproduce done in 0.3 s')\n"
        "say('report: rendering')\n"
    )
    (tmp_path / "b").mkdir()
    code, wall, stages = run_stages([sys.executable, str(script)], tmp_path / "b")
    assert code == 0
    assert [s.name for s in stages] == [
        "data",
        "build: baseline",
        "build: enrichment",
        "notebook 01-load-the-raw-data",
        "extras: the fix's tests, the rebuild at the PR's deploy, the history's counts",
        "notebook 02-reproduce",
        "report",
        "whole run",
    ]
    by = {s.name: s for s in stages}
    # made beside the first notebooks: timed from its own start line, not the last stage's end
    assert 0.8 < by[stages[4].name].seconds < 3
    assert 0.2 < by["data"].seconds < 2 and by["data"].disk_mib >= 1.0
    assert 0.5 < by["notebook 01-load-the-raw-data"].seconds < 3  # from its start line
    assert by["whole run"].seconds == wall and wall >= sum(
        by[n].seconds for n in ("data", "build: baseline", "build: enrichment")
    )
    assert all(s.peak_mib > 1 for s in stages if s.name != "report")


def test_the_grain_contenders_agree_on_a_small_table(tmp_path):
    """Each grain contender of `python -m bench grain`, in its own worker process, on a
    table of 7 rows over 4 keys (2 duplicated): the same figures from every one."""
    import duckdb

    from bench.common import BenchError, worker
    from bench.engines import agree

    database, parquet = tmp_path / "t.duckdb", tmp_path / "t.parquet"
    con = duckdb.connect(str(database))
    con.execute("create table t as select * from (values (1), (1), (2), (3), (3), (3), (4)) v(k)")
    con.execute(f"copy t to '{parquet}' (format parquet)")
    con.close()
    table = {"database": str(database), "relation": "t", "key": "k"}
    found = {
        "fanout": worker("grain_fanout", {**table, "key": ["k"]}),
        "floor": worker("grain_floor", table),
        "polars": worker("grain_polars", {"parquet": str(parquet), "key": "k"}),
        "pandas": worker("grain_pandas_duckdb", table),
        "pandas key only": worker("grain_pandas_duckdb", {**table, "columns": ["k"]}),
    }
    answers = {name: answer for name, (_, _, answer) in found.items()}
    assert answers["floor"] == {"rows": 7, "distinct_keys": 4}
    for name in ("fanout", "polars", "pandas", "pandas key only"):
        assert answers[name] == {"rows": 7, "distinct_keys": 4, "duplicated_keys": 2}, name
    assert all(seconds > 0 and peak > 0 for seconds, peak, _ in found.values())
    runs = [Run("grain", "tiny", name, 1, 0.1, 1.0, a) for name, a in answers.items()]
    agree(runs)
    runs.append(Run("grain", "tiny", "wrong", 1, 0.1, 1.0, {"duplicated_keys": 3}))
    with pytest.raises(BenchError, match="disagree on duplicated_keys"):
        agree(runs)


def test_the_grain_report_says_where_fanout_is_not_ahead_and_why():
    from bench.report import grain_findings

    runs = [
        Run("grain", "10m", "fanout grain.check", 1, 2.0, 600.0),
        Run("grain", "10m", "dbt unique test SQL", 1, 1.6, 700.0),
        Run("grain", "10m", "pandas (con.sql().df(), whole table)", 1, 20.0, 4000.0),
        Run("grain", "1m · postgres", "fanout check via dbt target", 1, 1.0, 170.0),
        Run("grain", "1m · postgres", "engine floor via dbt target", 1, 0.5, 170.0),
    ]
    lines = grain_findings(summarise(runs))
    assert len(lines) == 2  # pandas is behind on both; equal memory is not ahead
    assert lines[0].startswith(
        "- 10m: dbt unique test SQL is 1.25x faster (1.6 s against 2 s) than fanout: it "
        "computes one figure"
    )
    assert lines[1].startswith(
        "- 1m · postgres: engine floor via dbt target is 2.00x faster (0.5 s against 1 s) "
        "than fanout: one `count(*), count(distinct)` keeps no count per key"
    )


def test_the_comparison_with_issue_14s_commit_is_a_ratio_from_one_run():
    before = "as at 94b2a98 (issue 14 filed)"
    runs = [
        Run("before14", "10m", before, 1, 150.0, 4000.0),
        Run("before14", "10m", "now", 1, 133.0, 2800.0),
        Run("before14", "10m", before, 2, 152.0, 4100.0),
        Run("before14", "10m", "now", 2, 135.0, 2900.0),
    ]
    text = table("before14", runs)
    assert "now against as at 94b2a98 (issue 14 filed), side by side: 2.23 min against " in text
    assert "2.52 min (0.89x)" in text and "(goal no slower (≤ 1.00x)) MET" in text
    assert "2.4 min the issue measured: 2.23 min (goal ≤ 2.4 min) MET" in text
    slower = [Run("before14", "10m", before, 1, 130.0, 4000.0), runs[1]]
    assert "(1.02x), peak 2.73 against 3.91 GiB (goal no slower (≤ 1.00x)) MISSED" in table(
        "before14", slower
    )


def test_the_old_commit_missing_from_history_is_one_line(monkeypatch, tmp_path):
    import bench.__main__ as bench_main
    from bench.common import BenchError

    monkeypatch.setattr(bench_main, "WORK", tmp_path)
    monkeypatch.setattr(bench_main, "BEFORE_14", "0" * 40)
    with pytest.raises(BenchError, match=r"^commit 0{40} is not in this clone's history"):
        bench_main._before_14()
    assert list(tmp_path.iterdir()) == []


def test_the_old_commit_is_extracted_from_this_clones_history(monkeypatch, tmp_path):
    import bench.__main__ as bench_main

    monkeypatch.setattr(bench_main, "WORK", tmp_path)
    old = bench_main._before_14()
    assert "days: 90" in (old / "params" / "10m.yaml").read_text()
    assert (old / "lib" / "fanout" / "workbook.py").is_file()  # the layout before issue 15
    assert bench_main._before_14() == old  # extracted once
