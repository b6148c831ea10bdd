"""The run's memory budget, shared among its processes and given to every DuckDB database;
and a kernel that dies or a cell that runs too long, told in one line."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time

import duckdb
import pytest

from fanout.errors import NotebookError
from fanout.incident import resources, workbook
from fanout.incident.data import raw
from fanout.incident.params import Params
from fanout.incident.workbook import Executed, execute, run, run_key

GIB = 2**30


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv(resources.MEMORY_ENV, raising=False)
    monkeypatch.delenv(resources.TEMP_ENV, raising=False)
    monkeypatch.delenv(resources.THREADS_ENV, raising=False)


def test_the_budget_is_shared_by_the_runner_and_its_kernels(tmp_path):
    share = resources.share(Params(memory_budget_gb=12), 2, tmp_path)
    assert (share.budget, share.processes, share.per_process) == (12 * GIB, 3, 4 * GIB)
    assert share.describe() == (
        "memory budget 12.0 GiB, 4.0 GiB for each of 3 processes (DuckDB 3.2 GiB of it)"
    )
    assert share.duckdb == int(4 * GIB * resources.DUCKDB_PART)
    auto = resources.share(Params(), 1, tmp_path)
    assert auto.budget == resources.machine_memory() // 2
    assert auto.temp == tmp_path / "tmp" / "duckdb" / f"run-{os.getpid()}"


def test_a_bad_budget_is_refused_in_one_sentence():
    with pytest.raises(ValueError, match=r"^memory_budget_gb must be at least 0, got -1$"):
        Params.from_mapping(memory_budget_gb=-1)
    assert Params.from_mapping(memory_budget_gb="auto").memory_budget_gb == 0


def test_the_budget_does_not_change_what_a_run_finds():
    assert run_key(Params(memory_budget_gb=3)) == run_key(Params())


def test_every_duckdb_database_gets_the_share_and_a_spill_folder(tmp_path, clean_env):
    share = resources.share(Params(memory_budget_gb=3), 2, tmp_path)
    with share.applied():
        con = raw.quiet(duckdb.connect())
        ((limit, temp),) = con.execute(
            "select current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()
        con.close()
        assert limit == "819.0 MiB"  # 0.8 of a third of 3 GiB, in whole MiB
        assert temp == str(share.temp / f"pid-{os.getpid()}")
        from fanout.incident.warehouse import _write_profile

        _write_profile(tmp_path, tmp_path / "w.duckdb")
        profile = json.loads((tmp_path / "profiles.yml").read_text())
        settings = profile["fanout_shop"]["outputs"]["fanout"]["settings"]
        # spills beside its database file; the kernels' share of the cores
        assert settings == {"memory_limit": "819MiB", "threads": str(share.threads)}
    assert resources.MEMORY_ENV not in os.environ  # the environment as it was
    assert not share.temp.exists()  # the spill folder removed with the run


def test_a_killed_runs_spill_folder_is_removed_by_the_next(tmp_path, clean_env):
    stale = tmp_path / "tmp" / "duckdb" / "run-999999999"
    (stale / "pid-1").mkdir(parents=True)
    with resources.share(Params(), 1, tmp_path).applied():
        assert not stale.exists()


def _notebook(path, *cells):
    doc = {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": text, "id": f"c{i}"}
            | ({"outputs": [], "execution_count": None} if kind == "code" else {})
            for i, (kind, text) in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(doc))
    return path


KILLER = (
    ("markdown", "# A notebook\n\n## 2. The heavy query"),
    ("code", "import os\nimport signal\n\nos.kill(os.getpid(), signal.SIGKILL)"),
)


def test_a_kernel_that_dies_is_told_in_one_line_with_the_budget(tmp_path, clean_env):
    notebook = _notebook(tmp_path / "heavy.ipynb", *KILLER)
    share = resources.share(Params(memory_budget_gb=6), 2, tmp_path)
    with share.applied(), pytest.raises(NotebookError) as err:
        execute(notebook, tmp_path / "out" / "heavy.ipynb")
    message = str(err.value)
    assert message == (
        'heavy.ipynb, in section "2. The heavy query", the cell starting `import os`: the '
        "kernel died (killed, most often for lack of memory; 1.6 GiB for DuckDB in each "
        "process); lower --jobs or memory_budget_gb so that the run fits the machine, or free "
        "memory"
    )
    assert err.value.exit_code == 1
    assert not (tmp_path / "out" / "heavy.ipynb").exists()


def test_a_cell_that_runs_too_long_is_stopped_and_told_in_one_line(tmp_path, clean_env):
    notebook = _notebook(
        tmp_path / "slow.ipynb",
        ("markdown", "## Waiting"),
        ("code", "import time\ntime.sleep(60)"),
    )
    with pytest.raises(NotebookError) as err:
        execute(notebook, tmp_path / "slow-out.ipynb", timeout=3)
    assert str(err.value).startswith(
        'slow.ipynb, in section "Waiting", the cell starting `import time`: the cell ran longer '
        "than 3 s and was stopped; on larger data give it more time"
    )
    assert "\n" not in str(err.value)


def test_a_run_whose_kernel_dies_leaves_the_previous_run_as_it_was(tmp_path, clean_env):
    """The runner stops at the dead kernel with the one line, and the previous complete run
    of the same parameters is untouched."""
    params = Params(build_dir=str(tmp_path / "build"))
    previous = tmp_path / "build" / "runs" / run_key(params)
    previous.mkdir(parents=True, exist_ok=True)
    (previous / "params.json").write_text("the previous complete run\n")
    notebook = _notebook(tmp_path / "09-heavy.ipynb", *KILLER)
    with pytest.raises(NotebookError, match=r"^09-heavy\.ipynb, in section .* the kernel died"):
        run(params, notebooks=[notebook], jobs=1, say=lambda _: None)
    assert (previous / "params.json").read_text() == "the previous complete run\n"
    assert resources.MEMORY_ENV not in os.environ


def _fake_execute(log, lock):
    def execute(nb, out, values, timeout=None):
        with lock:
            log.append(("start", nb.name, threading.current_thread().name))
        time.sleep(0.2)
        with lock:
            log.append(("end", nb.name))
        return Executed(nb.name, out, 0.2)

    return execute


def test_the_kernels_share_the_cores_and_the_runner_alone_takes_them_all(tmp_path, clean_env):
    """Two kernels on two cores get one DuckDB thread each (the runner waits meanwhile); a
    notebook on its own, or the runner before the kernels start, every core."""
    assert resources.Share(GIB, 3, tmp_path, cpus=2).threads == 1
    assert resources.Share(GIB, 3, tmp_path, cpus=8).threads == 4
    assert resources.Share(GIB, 2, tmp_path, cpus=8).threads == 8  # one kernel
    assert resources.Share(GIB, 5, tmp_path, cpus=2).threads == 1  # never none
    share = resources.Share(GIB, 3, tmp_path / "tmp", cpus=2)

    def threads() -> int:
        con = raw.quiet(duckdb.connect())
        try:
            return int(con.execute("select current_setting('threads')").fetchone()[0])
        finally:
            con.close()

    default = duckdb.connect().execute("select current_setting('threads')").fetchone()[0]
    with share.applied():
        assert os.environ[resources.THREADS_ENV] == "1"
        assert threads() == 1
        with share.alone():
            assert resources.THREADS_ENV not in os.environ
            assert threads() == int(default)  # DuckDB's own: every core
            assert "threads" not in resources.dbt_settings()
        assert threads() == 1
        assert resources.dbt_settings()["threads"] == "1"
    assert resources.THREADS_ENV not in os.environ  # the environment as it was


def test_the_notebooks_start_longest_first_and_come_back_in_order(monkeypatch, tmp_path):
    log, lock = [], threading.Lock()
    monkeypatch.setattr(workbook, "execute", _fake_execute(log, lock))
    names = [f"0{i}-n.ipynb" for i in range(1, 7)] + ["07-extra.ipynb"]
    ran = workbook._execute_all([tmp_path / n for n in names], lambda nb: nb, {}, 1, print)
    assert [r.name for r in ran] == names
    started = [e[1][:2] for e in log if e[0] == "start"]
    assert started == ["05", "01", "02", "06", "03", "04", "07"]


def test_a_failed_notebook_stops_the_ones_not_yet_started(monkeypatch, tmp_path):
    log, lock = [], threading.Lock()
    fake = _fake_execute(log, lock)

    def execute(nb, out, values, timeout=None):
        if nb.name.startswith("01-"):
            raise NotebookError("01-a.ipynb: the cell failed")
        return fake(nb, out, values, timeout)

    monkeypatch.setattr(workbook, "execute", execute)
    names = ["01-a.ipynb", "03-b.ipynb", "04-c.ipynb", "05-d.ipynb"]
    with pytest.raises(NotebookError, match=r"^01-a\.ipynb: the cell failed$"):
        workbook._execute_all([tmp_path / n for n in names], lambda nb: nb, {}, 1, print)
    assert [e[1] for e in log if e[0] == "start"] == ["05-d.ipynb"]  # started before 01


def test_only_the_extras_the_chosen_notebooks_read_are_made(tmp_path):
    def steps(*names):
        made = workbook._extras(Params(), tmp_path, tmp_path, {}, [tmp_path / n for n in names])
        return [name for name, _ in made]

    assert steps("01-a.ipynb", "02-b.ipynb", "03-c.ipynb") == []
    assert steps("04-verify.ipynb") == ["tests"]
    assert steps("05-trends.ipynb") == ["counts", "rebuild"]
    assert steps("06-prevent.ipynb", "04-verify.ipynb") == ["tests", "counts"]
    assert steps(*(nb.name for nb in workbook.notebook_paths())) == list(workbook.EXTRAS_STEPS)


def test_kernels_talk_through_unix_sockets_of_their_own(tmp_path, monkeypatch):
    """No TCP port for kernels started at once to race for; the sockets go with the run."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    notebook = _notebook(
        tmp_path / "where.ipynb",
        ("code", "from ipykernel import get_connection_info\n"
                 "info = get_connection_info(unpack=True)\n"
                 "print(info['transport'], info['ip'])"),
    )  # fmt: skip
    execute(notebook, tmp_path / "out.ipynb")
    doc = json.loads((tmp_path / "out.ipynb").read_text())
    transport, ip = "".join(doc["cells"][0]["outputs"][0]["text"]).split()
    assert transport == "ipc"
    assert ip.startswith(str(tmp_path / "tmp" / "fanout-kernel-"))
    assert list((tmp_path / "tmp").iterdir()) == []  # the sockets' folder removed
