"""What every benchmark shares: running a contender in a fresh process, side by side with the
others and repeated, and summarising the runs as medians and ratios.

Each measurement runs in its own Python process (`python -m bench.worker TASK ARGS`), so
that its peak memory (the worker's own VmHWM) is its own and no contender inherits
another's warm caches in the same interpreter. Contenders take turns within each repeat
(A, B, C, A, B, C, ...), so a machine that slows down over time slows all of them alike.
The worker times only the work itself; starting Python and importing libraries are left
out of the time (they are in the memory, as they are for a user).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "build" / "bench"
MiB = 2**20


@dataclass
class Contender:
    """One way of doing the benchmark's work: a worker task and its arguments."""

    name: str
    task: str
    args: dict[str, Any]


@dataclass
class Run:
    """One measurement of one contender."""

    benchmark: str
    case: str
    contender: str
    repeat: int
    seconds: float
    peak_mib: float
    answer: dict[str, Any] = field(default_factory=dict)


class BenchError(RuntimeError):
    """A contender failed, or the contenders disagree on the answer."""


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def worker(task: str, args: dict[str, Any]) -> tuple[float, float, dict[str, Any]]:
    """Run one worker task in a fresh process: (seconds, peak MiB, answer)."""
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "PYTHONHASHSEED": "0",
    }
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", task, json.dumps(args)],
            cwd=ROOT,
            stdout=out,
            stderr=err,
            env=env,
        )
        proc.wait()
        out.seek(0)
        err.seek(0)
        lines = out.read().strip().splitlines()
        if proc.returncode != 0 or not lines:
            tail = " ".join(err.read().strip().splitlines()[-3:])
            raise BenchError(f"worker {task} failed (exit {proc.returncode}): {tail}")
    result = json.loads(lines[-1])
    return result["seconds"], result["peak_mib"], result.get("answer", {})


def side_by_side(
    benchmark: str,
    case: str,
    contenders: Sequence[Contender],
    repeat: int,
    *,
    agree: Callable[[dict[str, Any]], Any] | None = None,
) -> list[Run]:
    """Every contender `repeat` times, taking turns; checks that they agree on the answer."""
    runs = []
    for i in range(repeat):
        for c in contenders:
            seconds, peak, answer = worker(c.task, c.args)
            runs.append(Run(benchmark, case, c.name, i + 1, seconds, peak, answer))
            say(f"  {case} · {c.name} · run {i + 1}/{repeat}: {seconds:.3f} s, {peak:,.0f} MiB")
    if agree is not None:
        answers = {
            c.name: [agree(r.answer) for r in runs if r.contender == c.name] for c in contenders
        }
        distinct = {json.dumps(a, sort_keys=True, default=str) for v in answers.values() for a in v}
        if len(distinct) != 1:
            raise BenchError(f"{benchmark} {case}: the contenders disagree: {answers}")
    return runs


@dataclass(frozen=True)
class Summary:
    """The medians of one contender in one case."""

    benchmark: str
    case: str
    contender: str
    runs: int
    seconds: float
    peak_mib: float
    extra: dict[str, Any]


def summarise(runs: Sequence[Run]) -> list[Summary]:
    """Median time and memory per (benchmark, case, contender), in first-seen order."""
    groups: dict[tuple[str, str, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.benchmark, r.case, r.contender), []).append(r)
    out = []
    for (benchmark, case, contender), rs in groups.items():
        numbers = {
            k: statistics.median(r.answer[k] for r in rs)
            for k, v in rs[0].answer.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        out.append(
            Summary(
                benchmark,
                case,
                contender,
                len(rs),
                statistics.median(r.seconds for r in rs),
                statistics.median(r.peak_mib for r in rs),
                numbers,
            )
        )
    return out


def find(summaries: Sequence[Summary], case: str, contender: str) -> Summary:
    return next(s for s in summaries if s.case == case and s.contender == contender)


# what else a benchmark's results depend on, beyond LIBRARIES
LIBRARIES = ("duckdb", "dbt-core", "dbt-duckdb", "pandas", "pyarrow")
MORE_LIBRARIES = {"grain": ("polars", "dbt-postgres", "dbt-spark", "pyspark")}


def _servers() -> str:
    """The PostgreSQL server and the Java the engine benchmarks ran on, as they report."""
    import glob
    import shutil

    found = []
    initdb = shutil.which("initdb") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1:]), None
    )
    for command in ([initdb, "--version"] if initdb else None, ["java", "-version"]):
        if not command or not shutil.which(command[0]):
            continue
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        text = (done.stdout or done.stderr).strip().splitlines()
        if text:
            found.append(text[0].replace("initdb (PostgreSQL)", "PostgreSQL").strip())
    return ", ".join(found)


def machine(name: str = "") -> str:
    """One line about this machine: CPU, cores, memory, Python and library versions (and,
    for the benchmark `name`, the other libraries and servers it used)."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        memory = "memory unknown"
    libs = []
    for p in LIBRARIES + MORE_LIBRARIES.get(name, ()):
        try:
            libs.append(f"{p} {version(p)}")
        except PackageNotFoundError:
            libs.append(f"{p} not installed")
    servers = _servers() if name in MORE_LIBRARIES else ""
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; {', '.join(libs)}"
        + (f"; {servers}" if servers else "")
    )


def write_runs(name: str, runs: Sequence[Run]) -> Path:
    """All runs of a benchmark as CSV, one row per measurement."""
    import csv

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.csv"
    (RESULTS / f"{name}.machine.txt").write_text(machine(name) + "\n")  # where these ran
    keys = sorted({k for r in runs for k in r.answer})
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["benchmark", "case", "contender", "repeat", "seconds", "peak_mib", *keys])
        for r in runs:
            writer.writerow(
                [
                    r.benchmark,
                    r.case,
                    r.contender,
                    r.repeat,
                    f"{r.seconds:.4f}",
                    f"{r.peak_mib:.1f}",
                    *(r.answer.get(k, "") for k in keys),
                ]
            )
    return path


def read_machine(name: str) -> str:
    """The machine a benchmark's results were measured on (as `write_runs` recorded it)."""
    path = RESULTS / f"{name}.machine.txt"
    return path.read_text().strip() if path.exists() else "unknown"


def read_runs(name: str) -> list[Run]:
    """The runs `write_runs` wrote (numbers back as numbers)."""
    import csv

    path = RESULTS / f"{name}.csv"
    if not path.exists():
        return []
    runs = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            fixed = {"benchmark", "case", "contender", "repeat", "seconds", "peak_mib"}
            answer = {k: _number(v) for k, v in row.items() if k not in fixed and v != ""}
            runs.append(
                Run(
                    row["benchmark"],
                    row["case"],
                    row["contender"],
                    int(row["repeat"]),
                    float(row["seconds"]),
                    float(row["peak_mib"]),
                    answer,
                )
            )
    return runs


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
