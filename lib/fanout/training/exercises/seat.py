"""A seat at work: the folders an exercise notebook works with (its data, its project, its
builds), from the notebook's parameters.

>>> _normalized("select a -- why\\n  FROM  b")
'select a from b'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanout.errors import DataError
from fanout.incident import warehouse
from fanout.incident.data import raw, validate
from fanout.incident.paths import default_data_dir, project_root, warehouse_dir

__all__ = ["Seat", "open_seat"]


@dataclass(frozen=True)
class Seat:
    """The folders an exercise notebook works with."""

    data_dir: Path
    project_dir: Path
    build_dir: Path
    demo: bool = False

    def build(self, revision: str | Path):
        """A revision of the incident (`enrichment`, `fix`) or a project folder, built (or
        reused) on the seat's data."""

        return warehouse.build(revision, self.data_dir, self.build_dir)

    def connect(self, **builds):
        """An in-memory DuckDB session: the seat's raw tables as views, and each build
        attached read-only under its keyword (`seat.connect(enrichment=build)`)."""

        con = raw.connect(self.data_dir)
        for alias, built in builds.items():
            warehouse.attach(con, built, alias)
        return con


def open_seat(data_dir: str = "", project_dir: str = "", build_dir: str = "") -> Seat:
    """The seat a notebook runs at, from its parameters; relative paths are taken from the
    current folder (the notebook's). Empty values give a demo seat: the committed dataset,
    the enrichment revision itself (read-only: nothing to answer) and `build/training-demo`."""

    demo = not (data_dir or project_dir or build_dir)
    data = Path(data_dir).resolve() if data_dir else default_data_dir()
    project = Path(project_dir).resolve() if project_dir else warehouse_dir() / "enrichment"
    build = Path(build_dir).resolve() if build_dir else project_root() / "build" / "training-demo"
    if not (project / "dbt_project.yml").is_file():
        raise DataError(f"project_dir {project} is not a dbt project folder (no dbt_project.yml)")
    validate.require(data, cache_dir=build / "validated")
    return Seat(data, project, build, demo)


def _pristine() -> Path:
    return warehouse_dir() / "enrichment"


def _models(project: Path) -> dict[str, bytes]:
    folder = project / "models"
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _normalized(sql: str) -> str:
    """SQL without comments, case and whitespace differences, to tell a real change."""
    sql = re.sub(r"--[^\n]*|\{#.*?#\}|/\*.*?\*/", " ", sql, flags=re.S)
    return " ".join(sql.lower().split())


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeError):
        return ""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple) and not value)
