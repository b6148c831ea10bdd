"""The memory budget of a run, shared among its processes, and where DuckDB spills; and
the CPUs, shared the same way.

A DuckDB database takes 80% of the machine's memory by default. A workbook run has several
at once (the runner's dbt builds, one per notebook kernel, and the kernels' own), so without
a limit two kernels can ask for more than the machine has and one is killed. Here a run has a
budget (`memory_budget_gb`, by default half of this machine's memory), each of its processes
(the runner and the `jobs` kernels) a share of it, and every DuckDB database a process opens
is told its share (`memory_limit`) and a folder under the build folder to spill to
(`temp_directory`): memory that grows with the data goes to disk instead.

The CPUs are shared likewise: while the runner works alone (the data, the builds) DuckDB
uses every core; while the kernels run, the runner waits, and each kernel's DuckDB gets
the cores divided by the number of kernels (`FANOUT_DUCKDB_THREADS`). On two cores two
kernels of one thread each do the same work in less time than two of two threads each.

The runner puts the share in the environment (`FANOUT_DUCKDB_MEMORY`, `FANOUT_DUCKDB_TEMP`,
`FANOUT_DUCKDB_THREADS`), so that kernels started by it inherit it; a notebook run on its
own (JupyterLab) takes the budget and the cores for itself and one other process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

__all__ = [
    "MEMORY_ENV",
    "TEMP_ENV",
    "THREADS_ENV",
    "Share",
    "configure",
    "machine_cpus",
    "machine_memory",
    "share",
]

MEMORY_ENV = "FANOUT_DUCKDB_MEMORY"  # bytes DuckDB may hold in each process
TEMP_ENV = "FANOUT_DUCKDB_TEMP"  # where DuckDB spills (a folder per process is made in it)
THREADS_ENV = "FANOUT_DUCKDB_THREADS"  # DuckDB's threads in each kernel (unset: every core)
GIB = 2**30
# DuckDB's memory_limit bounds its buffer manager, not every allocation, nor the Python
# process around it (dbt, pandas, the kernel): each process gives DuckDB this part of its
# share. At 100 million orders a build given the whole share held 0.6 GiB more than it.
DUCKDB_PART = 0.8


def machine_memory() -> int:
    """The memory this process may use, in bytes: the machine's, or its cgroup's if lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            total = min(total, int(limit))
    return total


def machine_cpus() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Share:
    """A run's memory budget and each process's part of it; its cores and each kernel's."""

    budget: int  # bytes for the whole run
    processes: int  # the runner and its notebook kernels
    temp: Path  # DuckDB's spill folder for the run
    cpus: int = 1  # the cores the run may use

    @property
    def threads(self) -> int:
        """DuckDB's threads in each kernel: the kernels run at once while the runner waits."""
        return max(1, self.cpus // max(1, self.processes - 1))

    @property
    def per_process(self) -> int:
        return self.budget // self.processes

    @property
    def duckdb(self) -> int:
        """What DuckDB may hold in each process."""
        return int(self.per_process * DUCKDB_PART)

    def describe(self) -> str:
        """The budget in force, as an error message gives it."""
        return (
            f"memory budget {self.budget / GIB:.1f} GiB, {self.per_process / GIB:.1f} GiB for "
            f"each of {self.processes} processes (DuckDB {self.duckdb / GIB:.1f} GiB of it)"
        )

    def export(self, memory: int | None = None) -> None:
        """Give DuckDB its part of this share (or `memory` bytes), in this process and in the
        kernels it starts."""
        os.environ[MEMORY_ENV] = str(memory or self.duckdb)
        os.environ[TEMP_ENV] = str(self.temp)
        os.environ[THREADS_ENV] = str(self.threads)

    @contextlib.contextmanager
    def alone(self) -> Iterator[None]:
        """The whole budget and every core for this process while it works alone (the
        runner's builds, before any kernel starts), its share again afterwards."""
        self.export(int(self.budget * DUCKDB_PART))
        os.environ.pop(THREADS_ENV, None)
        try:
            yield
        finally:
            self.export()

    @contextlib.contextmanager
    def applied(self) -> Iterator[Share]:
        """This share for the duration of a run; afterwards the environment as it was and the
        run's spill folder removed (with those of runs that were killed)."""

        before = {name: os.environ.get(name) for name in (MEMORY_ENV, TEMP_ENV, THREADS_ENV)}
        _clean_stale(self.temp.parent)
        self.export()
        try:
            yield self
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            shutil.rmtree(self.temp, ignore_errors=True)


def _clean_stale(folder: Path) -> None:
    """Remove the spill folders of runs whose process is gone."""

    for run in folder.glob("run-*") if folder.is_dir() else ():
        try:
            os.kill(int(run.name.split("-")[1]), 0)
        except (ValueError, IndexError, ProcessLookupError):
            shutil.rmtree(run, ignore_errors=True)
        except PermissionError:
            pass


def share(params, jobs: int, build_dir: Path) -> Share:
    """The share for a run of `jobs` notebooks at once (plus the runner itself)."""
    budget = int(params.memory_budget_gb * GIB) if params.memory_budget_gb else None
    temp = Path(build_dir) / "tmp" / "duckdb" / f"run-{os.getpid()}"
    return Share(budget or machine_memory() // 2, jobs + 1, temp, machine_cpus())


def _limits() -> tuple[int | None, Path | None]:
    memory = os.environ.get(MEMORY_ENV)
    temp = os.environ.get(TEMP_ENV)
    try:
        return (int(memory) if memory else None), (Path(temp) if temp else None)
    except ValueError:
        return None, None


def _threads() -> int | None:
    try:
        threads = int(os.environ.get(THREADS_ENV, ""))
    except ValueError:
        return None
    return threads if threads >= 1 else None


def configure(con) -> None:
    """Give a DuckDB database this process's share of the memory budget and of the cores,
    and its own spill folder, when a run set them (`Share.export`); DuckDB's defaults
    otherwise."""

    memory, temp = _limits()
    threads = _threads()
    if threads:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"set threads = {threads}")
    if memory:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"set memory_limit = '{memory // 2**20}MiB'")
    if temp:
        folder = temp / f"pid-{os.getpid()}"
        with contextlib.suppress(OSError, duckdb.Error):
            folder.mkdir(parents=True, exist_ok=True)
            quoted = str(folder).replace("'", "''")
            con.execute(f"set temp_directory = '{quoted}'")


def dbt_settings() -> dict[str, str]:
    """The memory share and the threads for a dbt-duckdb profile (its `settings`). Not the
    spill folder: dbt-duckdb applies its settings again to every connection it opens, and
    DuckDB refuses a new temp_directory once it has spilled; a database file's default is
    beside it (`<file>.tmp`), under the build folder already."""
    memory, _temp = _limits()
    settings = {"memory_limit": f"{memory // 2**20}MiB"} if memory else {}
    threads = _threads()
    if threads:
        settings["threads"] = str(threads)
    return settings
