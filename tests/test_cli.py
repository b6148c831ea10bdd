"""The fanout command line: what a user sees, and the exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import RAW
from .conftest import run_cli as _run


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "--days", "0"], "days must be at least 1, got 0"),
        (["generate", "--mean-items", "0.5"], "mean_items_per_order must be at least 1, got 0.5"),
        (["generate", "--orders-per-day", "many"], "orders_per_day must be a number, got 'many'"),
        (["generate", "--start-date", "yesterday"], "start_date must be a date (YYYY-MM-DD)"),
        (["generate", "--data-format", "xlsx"], "argument --data-format: invalid choice: 'xlsx'"),
        (["build", "--revision", "nope"], "argument --revision: invalid choice: 'nope'"),
        (["build", "--revision", "fix", "--data", "{tmp}/missing"], "missing does not exist"),
        (["build", "--revision", "fix", "--days", "0"], "days must be at least 1, got 0"),
        (["build", "--revision", "fix", "--params", "{tmp}/none.yaml"], "none.yaml does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(capsys, tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if argv[0] == "generate":
        argv += ["--out", str(tmp_path / "out")]
    else:
        argv += ["--build-dir", str(tmp_path / "build")]
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == ""
    assert list(tmp_path.iterdir()) == []


def test_generate_writes_a_dataset(capsys, tmp_path):
    code, out, _ = _run(
        capsys,
        "generate",
        "--out",
        str(tmp_path / "d"),
        "--days",
        "3",
        "--orders-per-day",
        "7",
        "--seed",
        "2",
        "--format",
        "json",
    )
    assert code == 0
    report = json.loads(out)
    assert report["params"]["days"] == 3
    lines = (tmp_path / "d" / "raw_orders.csv").read_text().splitlines()
    assert len(lines) - 1 == report["orders"]


def test_generate_refuses_an_existing_dataset(capsys, tmp_path):
    assert _run(capsys, "generate", "--out", str(tmp_path), "--days", "2")[0] == 0
    code, _, err = _run(capsys, "generate", "--out", str(tmp_path), "--days", "3")
    assert code == 2 and "pass --overwrite" in err


def test_build_prints_database_and_manifest_as_json(capsys, tmp_path):
    code, out, _ = _run(
        capsys,
        "build",
        "--revision",
        "baseline",
        "--data",
        str(RAW),
        "--build-dir",
        str(tmp_path),
        "--format",
        "json",
    )
    assert code == 0
    report = json.loads(out)
    assert {"database", "manifest"} <= report.keys()
    assert report["database"].startswith(str(tmp_path)) and report["database"].endswith(".duckdb")
    manifest = json.loads(Path(report["manifest"]).read_text())
    assert "model.fanout_shop.stg_orders" in manifest["nodes"]
    code, out, _ = _run(
        capsys, "build", "--revision", "baseline", "--data", str(RAW), "--build-dir", str(tmp_path)
    )
    assert out.splitlines() == [
        f"database: {report['database']}",
        f"manifest: {report['manifest']}",
    ]
    # another revision on the same data: the seven tests on the sources are not run again
    argv = ["build", "--revision", "enrichment", "--data", str(RAW), "--build-dir", str(tmp_path)]
    code, out, _ = _run(capsys, *argv)
    assert code == 0
    assert out.splitlines()[2] == (
        "7 tests on the sources not run again: an earlier build's results, the same SQL on "
        "the same data (--every-test runs them)"
    )
    code, out, _ = _run(capsys, *argv, "--force", "--every-test", "--format", "json")
    assert code == 0 and json.loads(out)["tests_from_earlier"] == []


def test_console_script_help_and_usage_errors():
    exe = [sys.executable, "-m", "fanout"]
    shown = subprocess.run([*exe, "--help"], capture_output=True, text=True, check=True)
    assert "generate" in shown.stdout and "build" in shown.stdout and "workbook" in shown.stdout
    bad = subprocess.run([*exe, "frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("fanout: error: argument COMMAND")


def test_workbook_rejects_bad_parameters_before_running_anything(capsys, tmp_path):
    code, _out, err = _run(capsys, "workbook", "--days", "0", "--build-dir", str(tmp_path / "b"))
    assert code == 2 and "days must be at least 1, got 0" in err
    params = tmp_path / "p.yaml"
    params.write_text("fix_deployed_at: 2026-10-28T16:30:00\n")
    code, _out, err = _run(capsys, "workbook", "--params", str(params))
    assert code == 2
    assert "must be at least 80 minutes after detected_at" in err
    assert not (tmp_path / "b").exists()
