"""What a notebook works with: the raw data for its parameters, each revision built (or
reused), and one DuckDB session with the raw tables as views and each build attached."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from fanout.incident.data import raw
from fanout.incident.data.dataset import dataset_dir
from fanout.incident.paths import project_root
from fanout.incident.warehouse import REVISIONS, Build, attach, build

__all__ = ["Session", "session"]


class Session(NamedTuple):
    """What a notebook works with: the raw data, the build folder, the builds, and one DuckDB
    session with the raw tables as views and each build attached read-only by its name."""

    data_dir: Path
    build_dir: Path
    builds: dict[str, Build]
    con: Any


def session(params, revisions: tuple[str, ...] = REVISIONS) -> Session:
    """The validated raw data for `params`, each revision built (or reused), all attached."""

    data_dir = dataset_dir(params)
    build_dir = params.build_path(project_root())
    builds = {rev: build(rev, data_dir, build_dir) for rev in revisions}
    con = raw.connect(data_dir)
    for rev, built in builds.items():
        attach(con, built, rev)
    return Session(data_dir, build_dir, builds, con)
