"""Run the workbook: every notebook with papermill, then the HTML report.

Executed notebooks go to `<build_dir>/workbook/` (written to a temporary name, renamed when
complete); `in_place=True` refreshes the committed notebooks at the default parameters.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fanout.errors import NotebookError, ParameterError
from fanout.params import Params
from fanout.paths import project_root

__all__ = ["Executed", "execute", "notebook_paths", "run"]

KERNEL = "python3"
CELL_TIMEOUT = 900  # seconds; a notebook at 10 million orders needs a few minutes at most


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
    notebook: Path, output: Path, parameters: dict | None = None, *, cwd: Path | None = None
) -> Executed:
    """Execute one notebook with papermill into `output` (atomically); errors in one line."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=".ipynb", dir=output.parent)
    os.close(fd)
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            tmp,
            parameters=parameters or {},
            kernel_name=KERNEL,
            cwd=str(cwd or notebook.parent),
            execution_timeout=CELL_TIMEOUT,
            progress_bar=False,
            log_output=False,
        )
        _scrub(Path(tmp))
        os.replace(tmp, output)
    except PapermillExecutionError as exc:
        evalue = " ".join(str(exc.evalue).split())
        lines = [ln.strip() for ln in str(exc.source).splitlines()]
        first = next((ln for ln in lines if ln and not ln.startswith("#")), "")
        raise NotebookError(
            f"{notebook.name}, cell {exc.exec_count} ({first}): {exc.ename}: {evalue}"
        ) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return Executed(notebook.stem, output, round(time.perf_counter() - started, 2))


def run(
    params: Params,
    *,
    in_place: bool = False,
    notebooks: list[Path] | None = None,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> list[Executed]:
    """Execute every notebook at `params`; returns what ran. Stops at the first failure."""
    from fanout import timeline
    from fanout.generate import dataset_dir

    timeline.check(params)  # the same checks as each notebook's first cell, before any work
    if in_place and params != Params(build_dir=params.build_dir):
        raise ParameterError("notebooks are refreshed in place only at the default parameters")
    notebooks = notebooks or notebook_paths()
    build = params.build_path(project_root())
    say("dataset: preparing and validating")
    dataset_dir(params)  # once, before the notebooks, which then reuse it
    values = {} if in_place else params.to_dict()
    done = []
    for i, nb in enumerate(notebooks, 1):
        out = nb if in_place else build / "workbook" / nb.name
        say(f"[{i}/{len(notebooks)}] {nb.stem} ...")
        ran = execute(nb, out, values)
        say(f"[{i}/{len(notebooks)}] {nb.stem} done in {ran.seconds:.1f} s")
        done.append(ran)
    return done
