"""Faults injected one at a time: bad raw data, bad parameters, killed and concurrent runs,
locked databases, hostile identifiers. Each gives its exact message and exit code, and
nothing on disk is lost or half-written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanout.errors import NotebookError
from fanout.incident.data import validate
from fanout.incident.data.generate import generate
from fanout.incident.params import Params
from fanout.incident.workbook import execute, notebook_paths

from .conftest import RAW, ROOT
from .conftest import run_cli as _run

SMALL = Params(days=5, orders_per_day=20, seed=3)
SMALL_RUN = [
    "--days",
    "12",
    "--orders-per-day",
    "10",
    "--seed",
    "5",
    "--pr-deployed-at",
    "2026-08-10T10:00",
    "--detected-at",
    "2026-08-10T12:00",
    "--fix-deployed-at",
    "2026-08-10T13:40",
]


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` and its SHA-256, without the hidden ones (locks, and the
    temporary folders a killed run leaves for the next run to clean)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clean") / "data"
    generate(SMALL, folder)
    return folder


def _edit(path: Path, change) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(change(lines)) + "\n")


def _replace_field(lines, row, column, value):
    fields = lines[row].split(",")
    fields[column] = value
    lines[row] = ",".join(fields)
    return lines


def _twice(header: str) -> str:
    """revenue_date,revenue as revenue_date,revenue_date."""
    first = header.split(",")[0]
    return f"{first},{first}"


FAULTS = {
    "missing file": (
        lambda d: (d / "finance_daily_revenue.csv").unlink(),
        ["finance_daily_revenue.csv: missing file: 1 row"],
    ),
    "a folder where a file should be": (
        lambda d: ((d / "raw_orders.csv").unlink(), (d / "raw_orders.csv").mkdir()),
        ["raw_orders.csv: unreadable file (Is a directory): 1 row"],
    ),
    "malformed CSV": (
        lambda d: _edit(d / "raw_order_items.csv", lambda ls: [*ls[:5], ls[5] + ",7,8", *ls[6:]]),
        [
            "raw_order_items.csv: malformed CSV: a row with more fields than the header's 5: "
            "1 row (e.g. line=6)"
        ],
    ),
    "a short row": (
        lambda d: _edit(d / "raw_orders.csv", lambda ls: [*ls[:2], ls[2].rsplit(",", 1)[0]]),
        ["raw_orders.csv: malformed CSV: 3 fields where the header has 4: 1 row (e.g. line=3)"],
    ),
    "a repeated column": (
        lambda d: _edit(d / "finance_daily_revenue.csv", lambda ls: [_twice(ls[0]), *ls[1:]]),
        [
            "finance_daily_revenue.csv: missing columns: revenue: 1 row",
            "finance_daily_revenue.csv: repeated columns: revenue_date: 1 row",
        ],
    ),
    "missing column": (
        lambda d: _edit(d / "raw_orders.csv", lambda ls: [",".join(x.split(",")[:3]) for x in ls]),
        [
            "raw_orders.csv: missing columns: amount: 1 row "
            "(e.g. header=order_id,customer_id,ordered_at)"
        ],
    ),
    "extra column": (
        lambda d: _edit(
            d / "finance_daily_revenue.csv",
            lambda ls: [ls[0] + ",note", *(x + ",ok" for x in ls[1:])],
        ),
        [
            "finance_daily_revenue.csv: unexpected columns: note: 1 row "
            "(e.g. header=revenue_date,revenue,note)"
        ],
    ),
    "wrong type": (
        lambda d: _edit(d / "raw_order_items.csv", lambda ls: _replace_field(ls, 3, 3, "two")),
        [
            "raw_order_items.csv: wrong type: quantity is not INTEGER: 1 row "
            "(e.g. line=4, value=two)",
            "raw_order_items.csv: non-positive quantity or unit_price: 1 row",
            "raw_orders.csv: amount differs from the sum of the line totals: 1 row",
        ],
    ),
    "null key": (
        lambda d: _edit(d / "raw_orders.csv", lambda ls: _replace_field(ls, 2, 0, "")),
        [
            "raw_orders.csv: null order_id: 1 row (e.g. line=3)",
            "raw_order_items.csv: line items whose order does not exist",
        ],
    ),
    "duplicate order_id": (
        lambda d: _edit(d / "raw_orders.csv", lambda ls: [*ls, ls[1]]),
        ["raw_orders.csv: duplicate order_id: 1 row (e.g. order_id=1, copies=2, first_line=2)"],
    ),
    "line item without its order": (
        lambda d: _edit(d / "raw_order_items.csv", lambda ls: [*ls, "999999,424242,1,1,1.00"]),
        ["raw_order_items.csv: line items whose order does not exist: 1 row (e.g. line="],
    ),
    "order without items": (
        lambda d: _edit(
            d / "raw_orders.csv", lambda ls: [*ls, "424242,1,2026-08-02 10:00:00,0.00"]
        ),
        ["raw_orders.csv: orders without line items: 1 row"],
    ),
    "non-positive price": (
        lambda d: _edit(d / "raw_order_items.csv", lambda ls: _replace_field(ls, 1, 4, "0.00")),
        ["raw_order_items.csv: non-positive quantity or unit_price: 1 row (e.g. line=2,"],
    ),
    "amount differs from line totals": (
        lambda d: _edit(d / "raw_orders.csv", lambda ls: _replace_field(ls, 1, 3, "0.01")),
        [
            "raw_orders.csv: amount differs from the sum of the line totals: 1 row (e.g. line=2, "
            "order_id=1, amount=0.01,"
        ],
    ),
    "finance day missing": (
        lambda d: _edit(d / "finance_daily_revenue.csv", lambda ls: [ls[0], *ls[2:]]),
        ["finance_daily_revenue.csv: finance days missing: 1 row (e.g. revenue_date=2026-08-01)"],
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_raw_data_fault_is_named_with_exit_1_and_nothing_written(
    capsys, clean, tmp_path, fault
):
    data = tmp_path / "data"
    shutil.copytree(clean, data)
    inject, expected = FAULTS[fault]
    inject(data)
    before = _snapshot(data)
    code, out, err = _run(capsys, "check", "raw", "--data", data)
    assert code == 1 and err == ""
    lines = out.strip().splitlines()
    for line in expected:
        assert any(x.startswith(line) for x in lines), (line, lines)
    assert _snapshot(data) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_valid_data_passes(capsys, clean):
    assert _run(capsys, "check", "raw", "--data", clean)[:2] == (0, f"{clean}: raw data is valid\n")


def test_a_notebook_given_bad_data_stops_in_its_first_cells_with_the_report(clean, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(clean, data)
    _edit(data / "raw_orders.csv", lambda ls: [*ls, ls[1]])
    first = notebook_paths()[0]
    with pytest.raises(NotebookError) as err:
        execute(first, tmp_path / "out.ipynb", {"data_dir": str(data), "build_dir": str(tmp_path)})
    message = str(err.value)
    assert (
        'in section "Imports and data", the cell starting `import pandas as pd`: InvalidData: '
        "raw data in" in message
    )
    assert "raw_orders.csv: duplicate order_id: 1 row" in message
    assert not (tmp_path / "out.ipynb").exists()


CORRUPTIONS = st.sampled_from(["delete", "duplicate", "garbage", "truncate"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=CORRUPTIONS,
    table=st.sampled_from(["raw_orders", "raw_order_items"]),
    where=st.floats(0, 1),
    column=st.integers(0, 4),
    text=st.text(min_size=1, max_size=8),
)
def test_corrupted_files_never_crash_the_validator_and_always_name_a_rule(
    clean, tmp_path_factory, kind, table, where, column, text
):
    data = tmp_path_factory.mktemp("corrupt") / "data"
    shutil.copytree(clean, data)
    path = data / f"{table}.csv"
    lines = path.read_text().splitlines()
    row = 1 + int(where * (len(lines) - 2))
    if kind == "delete":
        del lines[row]
    elif kind == "duplicate":
        lines.insert(row, lines[row])
    elif kind == "garbage":
        fields = lines[row].split(",")
        fields[column % len(fields)] = "x" + text.replace(",", ";").replace("\n", " ") + "!"
        lines[row] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    if kind == "truncate":
        raw_bytes = path.read_bytes()
        header = raw_bytes.index(b"\n") + 1
        cut = header + int(where * (len(raw_bytes) - header - 2))
        path.write_bytes(raw_bytes[:cut] + b"?\n")
    problems = validate.check(data)
    assert problems, f"{kind} in {table} went unnoticed"
    for p in problems:
        assert p.file.split(".")[0] in {"raw_orders", "raw_order_items", "finance_daily_revenue"}
        assert p.rule and p.count >= 1


def _spawn(*argv, build):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fanout",
            "workbook",
            "--only",
            "01,02",
            *SMALL_RUN,
            "--build-dir",
            str(build),
            *argv,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_killing_a_run_at_any_point_keeps_the_previous_complete_run(tmp_path):
    build = tmp_path / "build"
    first = _spawn(build=build)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    report = (build / "report").resolve()
    runs = build / "runs"
    complete = _snapshot(runs)
    assert (build / "report" / "index.html").exists()
    for delay in (1.5, 4.0, 8.0):
        # every notebook, one at a time: a run far longer than the last kill point (a run
        # that completed before its kill would rightly have replaced the previous one)
        victim = _spawn("--jobs", "1", "--only", "01,02,03,04,05,06", build=build)
        time.sleep(delay)
        assert victim.poll() is None, "the run ended before it could be killed"
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        assert (build / "report").resolve() == report
        assert _snapshot(runs) == complete
        for nb in (build / "workbook").glob("*.ipynb"):
            json.loads(nb.read_text())  # every notebook there is complete
    again = _spawn(build=build)
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert not [p for p in runs.iterdir() if ".tmp-" in p.name]  # the killed runs' leftovers
    assert (build / "report" / "index.html").exists()


def test_concurrent_runs_with_different_and_same_parameters(tmp_path):
    from fanout.incident.report import findings

    build = tmp_path / "build"
    a = _spawn("--only", "01", build=build)
    b = _spawn("--only", "01", "--seed", "6", build=build)
    c = _spawn("--only", "01", "--seed", "6", build=build)
    for p in (a, b, c):
        assert p.wait(timeout=300) == 0, p.stderr.read()
    runs = sorted((build / "runs").iterdir())
    assert len([r for r in runs if not r.name.startswith(".")]) == 2
    seen = {}
    for run in runs:
        if run.name.startswith("."):
            continue
        params = json.loads((run / "params.json").read_text())
        found = findings(run / "workbook" / "01-load-the-raw-data.ipynb")
        seen[params["seed"]] = found["raw_orders_rows"]
        data = Params.from_mapping({**params, "build_dir": str(build)})
        from fanout.incident.data.dataset import dataset_dir

        rows = (dataset_dir(data) / "raw_orders.csv").read_text().count("\n") - 1
        assert found["raw_orders_rows"] == rows
    assert set(seen) == {5, 6} and seen[5] != seen[6]


def test_a_locked_database_gives_a_clear_message_not_a_hang(capsys, builds, tmp_path):
    db = tmp_path / "locked.duckdb"
    shutil.copyfile(builds["fix"].database, db)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('locked', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        code, _, err = _run(
            capsys, "check", "grain", "--db", db, "--relation", "stg_orders", "--key", "order_id"
        )
        assert time.monotonic() - started < 10
        assert code == 2
        assert err.startswith(f"fanout check: error: cannot open database {db}: ")
        assert "lock" in err.lower() and len(err.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()


HOSTILE = [
    'stg_orders"; drop table stg_orders; --',
    "stg_orders'; delete from stg_orders; --",
    "x) union all select 1 --",
    "main.stg_orders; create table pwned(a int)",
    "`; drop table x",
    "\x00",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_identifiers_are_rejected_by_every_command_and_change_nothing(
    capsys, builds, tmp_path, name
):
    db = tmp_path / "w.duckdb"
    shutil.copyfile(builds["enrichment"].database, db)
    manifest = builds["enrichment"].manifest_path
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    series = tmp_path / "s.csv"
    series.write_text("at,value\n2026-01-01,1\n")
    commands = [
        ["check", "grain", "--db", db, "--relation", name, "--key", "order_id"],
        ["check", "grain", "--db", db, "--relation", "stg_orders", "--key", name],
        ["reconcile", "--db", db, "--mart", name, "--data", RAW],
        ["reconcile", "--db", db, "--date-column", name, "--data", RAW],
        ["reconcile", "--db", db, "--revenue-column", name, "--data", RAW],
        ["blast-radius", name, "--manifest", manifest],
        ["investigate", "--db", db, "--manifest", manifest, "--symptom", name],
        ["anomalies", series, "--time-column", name],
    ]
    for argv in commands:
        code, out, err = _run(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (argv, err)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert tables == {"stg_orders", "fct_orders", "fct_revenue_daily"}


def test_build_dir_cannot_point_into_the_project_sources(capsys):
    for inside in ("data/raw", "warehouse/fix", "notebooks", "."):
        code, _, err = _run(capsys, "build", "--revision", "fix", "--build-dir", inside)
        assert code == 2 and "build_dir" in err, (inside, err)


def test_raw_data_is_never_written(capsys):
    from fanout.incident.data.raw import verify_checksums

    assert verify_checksums(ROOT / "data" / "raw") == []


def test_after_a_failing_notebook_no_other_starts_and_the_first_failure_is_raised(monkeypatch):
    """Two notebooks at a time: 02 fails while 01 still runs; 03-06 never start, 01 finishes,
    and the error raised is 02's."""
    from fanout.errors import NotebookError
    from fanout.incident import workbook

    started, finished = [], []

    def fake(nb, out, values, **kw):
        started.append(nb.name)
        if nb.name == "02":
            time.sleep(0.1)
            raise NotebookError("02.ipynb, cell 4: boom")
        time.sleep(0.6 if nb.name == "01" else 0.01)
        finished.append(nb.name)
        return workbook.Executed(nb.name, out, 0.0)

    monkeypatch.setattr(workbook, "execute", fake)
    notebooks = [Path(f"{i:02d}") for i in range(1, 7)]
    with pytest.raises(NotebookError, match=r"02\.ipynb, cell 4: boom"):
        workbook._execute_all(notebooks, lambda nb: nb, {}, 2, lambda line: None)
    assert started == ["01", "02"] and finished == ["01"]
