"""Run the workbook: every notebook with papermill, then the HTML report.

Executed notebooks go to `<build_dir>/workbook/` (written to a temporary name, renamed when
complete); `in_place=True` refreshes the committed notebooks at the default parameters.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

from fanout.errors import NotebookError, ParameterError
from fanout.incident import history, resources, timeline, warehouse
from fanout.incident.data import raw
from fanout.incident.data.dataset import dataset_dir
from fanout.incident.params import Params
from fanout.incident.paths import clean_stale, locked, point_link, project_root, swap_into_place
from fanout.incident.report import render_page, write_report
from fanout.incident.story.words import count

__all__ = ["Executed", "Run", "execute", "notebook_paths", "run", "run_key", "select"]

KERNEL = "python3"
JOBS = max(1, min(2, os.cpu_count() or 1))  # notebooks at once: kernels overlap
CELL_TIMEOUT = 3600  # seconds; a cell at 100 million orders needs a few minutes


@dataclass(frozen=True)
class Executed:
    name: str
    path: Path
    seconds: float


def notebook_paths() -> list[Path]:
    """The workbook's notebooks, in reading order."""
    return sorted((project_root() / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def _scrub(path: Path) -> None:
    """Drop papermill's timing metadata so the same run gives the same bytes."""
    doc = json.loads(path.read_text())
    doc.get("metadata", {}).pop("papermill", None)
    for cell in doc.get("cells", []):
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def execute(
    notebook: Path,
    output: Path,
    parameters: dict | None = None,
    *,
    cwd: Path | None = None,
    keep_failed: bool = False,
    timeout: int = CELL_TIMEOUT,
) -> Executed:
    """Execute one notebook with papermill into `output` (atomically); errors in one line.
    With `keep_failed`, a notebook that fails is still written to `output`, up to the
    failing cell and its traceback, for someone to read."""
    # lazy: papermill (with nbclient) takes seconds to import, and only running notebooks needs it
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=".ipynb", dir=output.parent)
    os.close(fd)
    sockets, config = _kernel_sockets()
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            tmp,
            parameters=parameters or {},
            kernel_name=KERNEL,
            cwd=str(cwd or notebook.parent),
            execution_timeout=timeout,
            progress_bar=False,
            log_output=False,
            # the kernel's own warnings (e.g. about its local TCP transport) are noise here;
            # errors still show
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            config=config,
        )
        _scrub(Path(tmp))
        os.replace(tmp, output)
    except (DeadKernelError, CellTimeoutError, TimeoutError) as exc:
        where = _section_of(Path(tmp), running=True)
        first = _first_line(_running_source(Path(tmp)))
        cell = f"{where}the cell starting `{first}`" if first else where.rstrip(", ")
        raise NotebookError(f"{notebook.name}, {cell}: {_lost(exc, timeout)}") from None
    except PapermillExecutionError as exc:
        where = _section_of(Path(tmp))
        if keep_failed:
            _scrub(Path(tmp))
            os.replace(tmp, output)
        evalue = " ".join(str(exc.evalue).split())
        lines = [ln.strip() for ln in str(exc.source).splitlines()]
        first = next((ln for ln in lines if ln and not ln.startswith("#")), "")
        raise NotebookError(
            f"{notebook.name}, {where}the cell starting `{first}`: {exc.ename}: {evalue}"
        ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
        if sockets is not None:
            shutil.rmtree(sockets, ignore_errors=True)
    return Executed(notebook.stem, output, round(time.perf_counter() - started, 2))


def _kernel_sockets():
    """(folder, kernel manager config): the kernel talks through Unix sockets in a folder of
    its own. Over TCP, kernels started at once (two per run, and runs in parallel) pick free
    ports and may race for one ("Address already in use", then "Kernel didn't respond");
    a socket path cannot be taken by another kernel. TCP where there are no Unix sockets."""
    if os.name == "nt":
        return None, Config()
    # short: a socket's path holds at most 107 bytes
    folder = tempfile.mkdtemp(prefix="fanout-kernel-")
    return folder, Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(folder, "k")}})


def _cells(executed: Path) -> list[dict]:
    try:
        return json.loads(executed.read_text()).get("cells", [])
    except (OSError, ValueError):
        return []


def _failed_index(cells: list[dict], running: bool) -> int:
    """The failing cell: the one with an error output, or (a kernel that died, a timeout)
    the last one papermill started."""
    if running:
        started = [
            i
            for i, cell in enumerate(cells)
            if cell.get("metadata", {}).get("papermill", {}).get("start_time")
        ]
        return started[-1] if started else len(cells)
    return next(
        (
            i
            for i, cell in enumerate(cells)
            if any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        ),
        len(cells),
    )


def _running_source(executed: Path) -> str:
    cells = _cells(executed)
    index = _failed_index(cells, running=True)
    return "".join(cells[index].get("source", "")) if index < len(cells) else ""


def _first_line(source: str) -> str:
    lines = [ln.strip() for ln in source.splitlines()]
    return next((ln for ln in lines if ln and not ln.startswith("#")), "")


def _lost(exc: BaseException, timeout: int) -> str:
    """Why a kernel stopped, with the memory budget in force and what to change."""

    memory = os.environ.get(resources.MEMORY_ENV)
    share = f"{int(memory) / resources.GIB:.1f} GiB for DuckDB in each process" if memory else ""
    if isinstance(exc, TimeoutError):
        return (
            f"the cell ran longer than {timeout} s and was stopped"
            + (f" ({share})" if share else "")
            + "; on larger data give it more time (fanout workbook --cell-timeout) or fewer "
            "notebooks at once (--jobs 1)"
        )
    return (
        "the kernel died (killed, most often for lack of memory"
        + (f"; {share}" if share else "")
        + "); lower --jobs or memory_budget_gb so that the run fits the machine, or free memory"
    )


def _section_of(executed: Path, running: bool = False) -> str:
    """Where the failing cell of an executed notebook is, as a reader finds it:
    'in section "2. Your answer", ' (the last Markdown heading above it), or '' when there is
    none. Cell numbers are not shown: the reader's execution counts differ from the runner's."""
    cells = _cells(executed)
    failed = _failed_index(cells, running)
    for cell in reversed(cells[:failed]):
        if cell.get("cell_type") != "markdown":
            continue
        for line in reversed("".join(cell.get("source", "")).splitlines()):
            if line.startswith("#"):
                return f'in section "{line.lstrip("#").strip()}", '
    return ""


def run_key(params: Params) -> str:
    """A short name for a run's parameters (all but build_dir)."""

    # where a run writes and how much memory it may take do not change what it finds
    values = {
        k: v for k, v in params.to_dict().items() if k not in ("build_dir", "memory_budget_gb")
    }
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Run:
    """A complete workbook run: its folder, the executed notebooks and the report's index."""

    folder: Path
    executed: tuple[Executed, ...]
    report: Path | None


def select(names: str | None) -> list[Path]:
    """The notebooks named by number or name prefix (`"01,03"`), all when `names` is empty."""
    every = notebook_paths()
    if not names:
        return every
    chosen = []
    for part in (p.strip() for p in names.split(",")):
        found = [nb for nb in every if nb.stem.startswith(part)] if part else []
        if len(found) != 1:
            known = ", ".join(nb.stem[:2] for nb in every)
            raise ParameterError(f"--only: {part!r} names no single notebook; known: {known}")
        chosen.append(found[0])
    return chosen


# What each notebook reads besides the builds, made once by the runner before any kernel
# starts: the fix's tests on the PR's tables (04, and the guards' replay in 06), every
# model's rows and keys at every build (05 and 06), the rebuild at the PR's deploy (05). A
# test keeps this list in step with the notebooks' code.
EXTRAS_NEEDED = {
    "04-": ("tests",),
    "05-": ("counts", "rebuild"),
    "06-": ("tests", "counts"),
}
EXTRAS_STEPS = ("tests", "counts", "rebuild")  # the order the runner makes them in
# The order the kernels take the notebooks in: the longest first (at 10 million orders, one
# DuckDB thread each: 05 23 s, 01 20 s, 02 and 06 19 s, 03 8 s, 04 7 s), so that the last
# one to finish is a short one and neither kernel waits long for the other at the end.
LONGEST_FIRST = ("05-", "01-", "02-", "06-", "03-", "04-")


def _start_order(notebooks: list[Path]) -> list[tuple[int, Path]]:
    """(number, notebook) in the order to start them: LONGEST_FIRST, then any other."""

    def rank(item: tuple[int, Path]) -> tuple[int, int]:
        i, nb = item
        known = [k for k, prefix in enumerate(LONGEST_FIRST) if nb.name.startswith(prefix)]
        return (known[0], i) if known else (len(LONGEST_FIRST), i)

    return sorted(enumerate(notebooks, 1), key=rank)


def _prepare_builds(params: Params, data_dir: Path, build: Path, say) -> dict:
    """Build the three revisions in this one process (dbt is imported once), so that each
    notebook finds its builds ready and reuses them. One progress line per build."""

    builds = {}
    for rev in warehouse.REVISIONS:
        started = time.perf_counter()
        builds[rev] = warehouse.build(rev, data_dir, build)
        done = "reused" if builds[rev].reused else "built"
        taken = len(builds[rev].tests_from_earlier)
        also = (
            f" ({count(taken, 'test')} on the sources: an earlier build's results, the same "
            "SQL on the same data)"
            if taken and not builds[rev].reused
            else ""
        )
        say(f"warehouse: {rev} {done} in {time.perf_counter() - started:.1f} s{also}")
    return builds


def _extras(
    params: Params, data_dir: Path, build: Path, builds: dict, notebooks: list[Path]
) -> list[tuple[str, Callable]]:
    """The extras' steps the notebooks read, (name, what makes it), in the order they run."""

    def tests() -> None:
        warehouse.run_tests(
            "fix",
            builds["enrichment"].database,
            select="stg_orders",
            data_dir=data_dir,
            build_dir=build,
        )

    def counts() -> None:  # at 100 million orders each model takes minutes
        con = raw.connect(data_dir)
        try:
            for rev, built in builds.items():
                warehouse.attach(con, built, rev)
            every = [p.at for p in history.build_points(params)]
            for rev in builds:
                history.counts(con, rev, every, cache=build / "history")
        finally:
            con.close()

    def rebuild() -> None:
        history.rebuild_at(params, params.pr_deployed_at, data_dir, build)

    made = {"tests": tests, "counts": counts, "rebuild": rebuild}
    needed = {
        step
        for nb in notebooks
        for prefix, steps in EXTRAS_NEEDED.items()
        if nb.name.startswith(prefix)
        for step in steps
    }
    return [(step, made[step]) for step in EXTRAS_STEPS if step in needed]


def _prepare_extras(steps: list[tuple[str, Callable]], say) -> None:
    """Make the extras' steps one after another."""
    if not steps:
        return
    say(
        "warehouse: the fix's tests on the PR's tables, the rebuild at the PR's deploy and the "
        "history's counts: preparing"
    )
    started = time.perf_counter()
    for _name, make in steps:
        make()
    say(
        "warehouse: the fix's tests on the PR's tables, the rebuild at the PR's deploy and the "
        f"history's counts ready in {time.perf_counter() - started:.1f} s"
    )


def _close_event_loop() -> None:
    """Close the event loop nbclient opened in this worker thread (left open, it is reported
    as a ResourceWarning when the thread ends); the next notebook here opens a new one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            return
    if not loop.is_running() and not loop.is_closed():
        loop.close()
    asyncio.set_event_loop(None)


class _NotStarted(Exception):
    """A notebook left out because another one failed first."""


def _execute_all(
    notebooks: list[Path],
    target: Callable[[Path], Path],
    values: dict,
    jobs: int,
    say: Callable[[str], None],
    timeout: int = CELL_TIMEOUT,
    after: Callable[[Executed], None] | None = None,
) -> list[Executed]:
    """Execute `notebooks`, `jobs` at a time, the longest first (`LONGEST_FIRST`); results in
    notebook order. `after(executed)`, if given, runs in the same worker thread as each
    notebook finishes (while the others run). After a failure no new notebook starts, the
    running ones finish, and the first failure (in notebook order) is raised."""

    total = len(notebooks)
    failed = threading.Event()

    def one(i: int, nb: Path) -> Executed:
        if failed.is_set():
            raise _NotStarted(nb.name)
        try:
            say(f"[{i}/{total}] {nb.stem} ...")
            ran = execute(nb, target(nb), values, timeout=timeout)
            if after is not None:
                after(ran)
        except BaseException:
            failed.set()
            raise
        finally:
            _close_event_loop()
        say(f"[{i}/{total}] {nb.stem} done in {ran.seconds:.1f} s")
        return ran

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="notebook") as pool:
        submitted = {i: pool.submit(one, i, nb) for i, nb in _start_order(notebooks)}
        futures = [submitted[i] for i in sorted(submitted)]
    errors = [f.exception() for f in futures]
    first = next((e for e in errors if e is not None and not isinstance(e, _NotStarted)), None)
    if first is not None:
        raise first
    return [f.result() for f in futures]


def run(
    params: Params,
    *,
    in_place: bool = False,
    notebooks: list[Path] | None = None,
    jobs: int = JOBS,
    cell_timeout: int = CELL_TIMEOUT,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> Run:
    """Execute the notebooks at `params` and write the report; stops at the first failure.

    `jobs` notebooks run at once, each in its own kernel (they only read the builds and the
    data, which are ready before the first starts); the outputs do not depend on it. The
    run's memory budget (`memory_budget_gb`) is shared by the runner and the kernels, and
    DuckDB spills what does not fit to a folder under the build folder
    (`fanout.incident.resources`). A cell that runs longer than `cell_timeout` seconds is stopped.

    A run is made in a temporary folder and renamed to `<build_dir>/runs/<key>/` when
    complete, so a killed run leaves the previous complete one untouched;
    `<build_dir>/workbook` and `<build_dir>/report` then point at the latest complete run.
    Two runs of the same parameters take turns; runs of different parameters do not meet.
    """

    timeline.require(params)  # the same checks as each notebook's first cell, before any work
    share = resources.share(params, max(1, jobs), params.build_path(project_root()))
    with share.applied():
        say(f"memory: {share.describe()}; DuckDB spills to {share.temp}")
        say(
            f"cores: {count(share.cpus, 'core')} for the data and the builds, "
            f"{count(share.threads, 'DuckDB thread')} in each of "
            f"{count(share.processes - 1, 'kernel')}"
        )
        return _run(params, in_place, notebooks, jobs, cell_timeout, say, share)


def _run(params, in_place, notebooks, jobs, cell_timeout, say, share) -> Run:
    lock, say_one = threading.Lock(), say

    def say(line: str) -> None:  # whole lines, whichever thread says them
        with lock:
            say_one(line)

    if in_place and params != Params(build_dir=params.build_dir):
        raise ParameterError("notebooks are refreshed in place only at the default parameters")
    notebooks = notebooks or notebook_paths()
    build = params.build_path(project_root())
    # Before any kernel starts, the runner works alone and takes the whole memory budget and
    # every core: the data, the three builds, and what some notebooks read besides (the fix's
    # tests on the PR's tables, the rebuild at the PR's deploy, the history's counts).
    with share.alone():
        say("dataset: preparing and validating")
        started = time.perf_counter()
        data_dir = dataset_dir(params)  # once, before the notebooks, which then reuse it
        say(f"dataset: {data_dir} ready in {time.perf_counter() - started:.1f} s")
        builds = _prepare_builds(params, data_dir, build, say)
        _prepare_extras(_extras(params, data_dir, build, builds, notebooks), say)

    pages: dict[str, str] = {}  # each report page, rendered as its notebook finishes

    def execute_all(target: Callable[[Path], Path], values: dict, render=False) -> list[Executed]:
        def page(ran: Executed) -> None:
            pages[ran.name] = render_page(ran.path)

        after = page if render else None
        return _execute_all(notebooks, target, values, jobs, say, cell_timeout, after)

    if in_place:
        return Run(notebooks[0].parent, tuple(execute_all(lambda nb: nb, {})), None)
    key = run_key(params)
    runs = build / "runs"
    folder = runs / key
    runs.mkdir(parents=True, exist_ok=True)
    with locked(runs / f".{key}.lock"):
        clean_stale(runs)
        work = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-{os.getpid()}-", dir=runs))
        work.chmod(0o755)
        try:
            executed = execute_all(
                lambda nb: work / "workbook" / nb.name, params.to_dict(), render=True
            )
            say("report: rendering")
            write_report(executed, work / "report", params, pages)
            (work / "params.json").write_text(json.dumps(params.to_dict(), indent=2) + "\n")
            swap_into_place(work, folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        point_link(build / "workbook", folder / "workbook")
        point_link(build / "report", folder / "report")
    moved = tuple(Executed(e.name, folder / "workbook" / e.path.name, e.seconds) for e in executed)
    return Run(folder, moved, folder / "report" / "index.html")
