"""Run a command and report its wall time and the peak memory of its whole process tree.

    python -m bench.treepeak -- fanout workbook --params params/10m.yaml

The peak is the largest sum of resident memory over the command and all its descendants
(kernels, dbt, DuckDB), sampled every 0.2 s from /proc: a process's own peak
(`ru_maxrss`) would miss what the children hold at the same moment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["run_tree"]

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _rss(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants, now."""
    tree = _children()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss(pid)
        todo += tree.get(pid, [])
    return total


def run_tree(cmd: list[str], *, interval: float = 0.2, **popen) -> tuple[int, float, int]:
    """Run `cmd`; its exit code, wall seconds and the peak resident bytes of its tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, **popen)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(interval)
    return proc.returncode, time.perf_counter() - started, peak


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m bench.treepeak -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    code, seconds, peak = run_tree(argv)
    print(f"exit {code}, {seconds:.1f} s wall, peak memory {peak / 2**30:.2f} GiB", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
