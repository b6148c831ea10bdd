"""The workbook run as a user runs it, stage by stage: wall time, peak memory of the whole
process tree and disk used, per stage (the data, each build, each notebook, the report).

    python -m bench.stages BUILD_DIR -- fanout workbook --params params/10m.yaml

The stages are read from the runner's progress lines on stderr (`dataset: ... ready`,
`warehouse: baseline built in ...`, `[3/6] 03-walk-the-timeline ... done in ...`); the tree's
memory is sampled every 0.2 s from /proc, so a stage's peak is the most the whole tree held
while it ran (notebooks run two at a time: their peaks include their neighbour's). Disk is
what the build folder holds when the stage ends.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.treepeak import tree_rss

__all__ = ["Stage", "run_stages"]

MIB = 2**20


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    peak_mib: float
    disk_mib: float


def disk_mib(folder: Path) -> float:
    """What a folder holds on disk (allocated blocks, as du counts them)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_blocks * 512
        except OSError:
            continue
    return total / MIB


# (pattern of the line that starts a stage, of the line that ends it, the stage's name)
_START = re.compile(
    r"^(?:dataset: preparing|warehouse: the fix's tests.*: preparing$|\[\d+/\d+\] (\S+) \.\.\.$"
    r"|report: rendering)"
)
_END = re.compile(
    r"^(?:dataset: .* ready in|warehouse: (\w+) (?:built|reused) in"
    r"|warehouse: the fix's tests.* ready in |\[\d+/\d+\] (\S+) done in)"
)


def _name(line: str) -> str | None:
    if line.startswith("dataset:"):
        return "data"
    if line.startswith("report:"):
        return "report"
    if line.startswith("warehouse: the fix's tests"):
        return "extras: the fix's tests, the rebuild at the PR's deploy, the history's counts"
    match = re.match(r"warehouse: (\w+) (?:built|reused)", line)
    if match:
        return f"build: {match.group(1)}"
    match = re.match(r"\[\d+/\d+\] (\S+)", line)
    return f"notebook {match.group(1)}" if match else None


def run_stages(command: list[str], build_dir: Path) -> tuple[int, float, list[Stage]]:
    """Run `command`; (exit code, wall seconds, the stages and a last row for the whole run)."""
    samples: list[tuple[float, int]] = []
    events: list[tuple[float, str]] = []
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    disks: dict[str, float] = {}

    def read() -> None:
        for line in proc.stderr:
            line = line.rstrip()
            now = time.monotonic() - started
            events.append((now, line))
            if _END.match(line) and _name(line):
                disks[_name(line)] = disk_mib(build_dir)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while proc.poll() is None:
        samples.append((time.monotonic() - started, tree_rss(proc.pid)))
        time.sleep(0.2)
    reader.join(timeout=10)
    wall = time.monotonic() - started
    disks["report"] = disk_mib(build_dir)

    def peak(a: float, b: float) -> float:
        return max((rss for t, rss in samples if a <= t <= b), default=0) / MIB

    stages, open_at, last_end = [], {}, 0.0
    for at, line in events:
        name = _name(line)
        if name is None:
            continue
        if _START.match(line):
            open_at[name] = at
        elif _END.match(line):
            begin = open_at.pop(name, last_end)  # builds follow each other without a start line
            stages.append(Stage(name, at - begin, peak(begin, at), disks.get(name, 0)))
            last_end = at
    if "report" in open_at:
        stages.append(
            Stage(
                "report", wall - open_at["report"], peak(open_at["report"], wall), disks["report"]
            )
        )
    stages.append(Stage("whole run", wall, peak(0, wall), disks["report"]))
    return proc.returncode, wall, stages
