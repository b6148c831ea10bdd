"""The trainer's side of the exercises: answers written into a notebook as a trainee would,
the reference solution applied to a seat's project, and shown."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fanout.errors import DataError
from fanout.training.exercises.results import SOLUTION_FILES
from fanout.training.exercises.seat import Seat, _pristine

__all__ = ["apply_solution", "fill_answers", "show_solution", "solved"]


def _set_assignments(source: str, values: Mapping[str, Any]) -> str:
    """`source` with the top-level assignments `name = ...` of `values` replaced (keeping
    a trailing comment); a name not assigned there is an error."""
    lines = source.splitlines()
    for name, value in values.items():
        pattern = re.compile(rf"^{re.escape(name)}\s*=\s*(.*?)(\s+#.*)?$")
        for i, line in enumerate(lines):
            m = pattern.match(line)
            if m:
                lines[i] = f"{name} = {value!r}{m.group(2) or ''}"
                break
        else:
            raise DataError(f"the notebook assigns no {name}")
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def _edit_cell(doc: dict, tag: str, values: Mapping[str, Any]) -> None:
    for cell in doc["cells"]:
        if tag in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"])
            cell["source"] = _set_assignments(source, values).splitlines(keepends=True)
            return
    raise DataError(f"the notebook has no cell tagged {tag!r}")


def _write_notebook(doc: dict, path: Path) -> None:
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def fill_answers(notebook: str | Path, **answers: Any) -> None:
    """Write answers into a notebook's answers cell (`BROKEN_MODEL = ...`), as a trainee would."""
    path = Path(notebook)
    doc = json.loads(path.read_text())
    _edit_cell(doc, "answers", answers)
    _write_notebook(doc, path)


def apply_solution(project: str | Path) -> list[Path]:
    """Put the warehouse fix's files that solve exercises 2 and 3 into a seat's project
    (the trainer's reference answer); returns the files written."""
    project = Path(project)
    written = []
    for rel in SOLUTION_FILES:
        target = project / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_pristine().parent / "fix" / rel, target)
        written.append(target)
    return written


def solved(seat: Seat) -> Seat:
    """The seat with the solution applied to a copy of its project, made (afresh) under its
    build folder: the trainee's project is not touched."""
    copy = seat.build_dir / "solution" / "project"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(
        seat.project_dir, copy, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*")
    )
    for old in (copy / "tests").glob("*.sql"):
        old.unlink()  # the trainee's own tests, if any, are not the solution's
    apply_solution(copy)
    return dataclasses.replace(seat, project_dir=copy)


def show_solution() -> None:
    """Print the solution's files (the warehouse fix's), each with its path in a project."""
    fix = _pristine().parent / "fix"
    for rel in SOLUTION_FILES:
        print(f"---- {rel}\n{(fix / rel).read_text().rstrip()}\n")
