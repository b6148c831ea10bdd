"""Grading a training session: each seat's exercise notebooks executed (the builds they need
warmed first, in this process), their self-check results read back, and a table of them.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanout.errors import FanoutError, NotebookError, ParameterError
from fanout.incident.workbook import execute
from fanout.training.exercises.checks import check_fix, check_grain_test
from fanout.training.exercises.results import EXERCISES, _number, results
from fanout.training.exercises.seat import Seat
from fanout.training.seats import SESSION_FILE, SESSION_VERSION, check_out

__all__ = ["GradeRow", "grade", "grade_table"]


@dataclass(frozen=True)
class GradeRow:
    """One seat's one exercise, as graded."""

    seat: str
    name: str
    exercise: str
    status: str  # passed, failed, not answered, error, missing
    check: str = ""
    detail: str = ""
    hint: str = ""
    executed: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def summary(self) -> str:
        if self.passed:
            return "passed"
        if self.status in ("error", "missing"):
            return f"{self.status}: {self.detail}"
        if self.status == "not answered":
            todo = self.detail.removeprefix("not answered yet: ")
            return "not answered" + (f": {todo}" if todo else "")
        return f"{self.status}: {self.check}" + (f" ({self.detail})" if self.detail else "")


def _session(folder: Path) -> dict[str, Any]:
    marker = folder / SESSION_FILE
    if not folder.is_dir():
        raise ParameterError(f"{folder} does not exist or is not a folder")
    try:
        session = json.loads(marker.read_text())
    except FileNotFoundError:
        raise ParameterError(
            f"{folder} is not a training folder (no {SESSION_FILE}); "
            "prepare one with `fanout training prepare`"
        ) from None
    except (OSError, ValueError) as exc:
        raise ParameterError(f"cannot read {marker}: {exc}") from None
    if not isinstance(session, dict) or session.get("version") != SESSION_VERSION:
        raise ParameterError(f"{marker} is not a training session this version can grade")
    for entry in session.get("seats", []):
        name = entry.get("folder") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not re.fullmatch(r"seat-\d+(-[a-z0-9-]+)?", name):
            raise ParameterError(f"{marker} names a seat folder that is not a seat: {name!r}")
    return session


def _warm(seat: Seat) -> None:
    """Build what the seat's notebooks will need, in this process (dbt imported once): the
    notebooks then reuse the builds and test results instead of each importing dbt."""
    for work in (
        lambda: seat.build("enrichment"),
        lambda: seat.build("fix"),
        lambda: check_grain_test(seat),
        lambda: check_fix(seat),
    ):
        with contextlib.suppress(FanoutError):  # the notebook meets the error and reports it
            work()


def grade(
    folder: str | Path,
    out: str | Path | None = None,
    *,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> list[GradeRow]:
    """Execute each seat's notebooks (papermill) into `out` (default: FOLDER/graded/<seat>/)
    and read their self-check results. The seats' files are read, never written."""

    folder = Path(folder).resolve()
    session = _session(folder)
    out = Path(out).resolve() if out else folder / "graded"
    seats = session["seats"]
    check_out(out)
    for s in seats:
        seat_dir = folder / s["folder"]
        for graded in (out / s["folder"], out):
            if graded == seat_dir or seat_dir in graded.parents or graded in seat_dir.parents:
                raise ParameterError(
                    f"--out {out} overlaps the seat folder {seat_dir}; the seats are never "
                    "written (the default is FOLDER/graded)"
                )
    rows = []
    for i, entry in enumerate(seats, 1):
        seat_dir = folder / entry["folder"]
        graded = out / entry["folder"]
        say(f"[{i}/{len(seats)}] {entry['folder']} ...")
        if not seat_dir.is_dir():
            rows += [
                GradeRow(
                    entry["folder"], entry.get("name", ""), ex, "missing", detail="no seat folder"
                )
                for _, ex, _ in EXERCISES
            ]
            continue
        graded.mkdir(parents=True, exist_ok=True)
        values = {
            "data_dir": str(seat_dir / "data"),
            "project_dir": str(seat_dir / "project"),
            "build_dir": str(graded / "build"),
        }
        # warming is an optimisation: whatever fails there, the notebook reports
        with contextlib.suppress(Exception):
            _warm(Seat(Path(values["data_dir"]), Path(values["project_dir"]), graded / "build"))
        for stem, exercise, _ in EXERCISES:
            rows.append(_grade_one(entry, seat_dir, graded, stem, exercise, values, execute))
        say(f"[{i}/{len(seats)}] {entry['folder']}: " + ", ".join(
            f"{r.exercise} {r.status}" for r in rows[-len(EXERCISES):]
        ))  # fmt: skip
    return rows


def _grade_one(entry, seat_dir: Path, graded: Path, stem: str, exercise: str, values, execute):
    notebook = seat_dir / f"{stem}.ipynb"
    row = {"seat": entry["folder"], "name": entry.get("name", ""), "exercise": exercise}
    if not notebook.is_file():
        return GradeRow(**row, status="missing", detail=f"no {notebook.name}")
    executed = graded / notebook.name
    try:
        execute(notebook, executed, values, cwd=graded, keep_failed=True)
    except NotebookError as exc:
        return GradeRow(**row, status="error", detail=str(exc), executed=str(executed))
    except Exception as exc:  # an unreadable notebook, a dead kernel, a timeout: this row only
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        return GradeRow(**row, status="error", detail=detail)
    found = [r for r in results(executed) if r.get("exercise") == exercise]
    if not found:
        return GradeRow(
            **row, status="error", detail="no self-check result (was the cell removed?)",
            executed=str(executed),
        )  # fmt: skip
    last = found[-1]
    failing = next((c for c in last["checks"] if c["state"] != "pass"), None)
    return GradeRow(
        **row,
        status=last["status"],
        check=failing["name"] if failing else "",
        detail=failing["detail"] if failing else "",
        hint=failing["hint"] if failing else "",
        executed=str(executed),
    )


def grade_table(rows: Sequence[GradeRow]) -> str:
    """The grading table: seat, exercise, passed or the first failing check."""
    seat_w = max([4, *(len(r.seat) for r in rows)])
    ex_w = max(len(f"{_number(e)} {t}") for _, e, t in EXERCISES)
    lines = [f"{'seat':<{seat_w}}  {'exercise':<{ex_w}}  result"]
    for r in rows:
        title = next(f"{_number(e)} {t}" for _, e, t in EXERCISES if e == r.exercise)
        lines.append(f"{r.seat:<{seat_w}}  {title:<{ex_w}}  {r.summary}")
    passed = sum(r.passed for r in rows)
    lines.append(f"{passed} of {len(rows)} exercises passed")
    return "\n".join(lines)
