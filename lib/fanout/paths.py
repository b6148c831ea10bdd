"""Where the project's folders are."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from fanout.errors import DataError

__all__ = ["default_data_dir", "locked", "project_root", "warehouse_dir"]


def project_root() -> Path:
    """The workbook's folder: `$FANOUT_HOME`, or the checkout this package was installed from."""
    env = os.environ.get("FANOUT_HOME")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "warehouse").is_dir() and (parent / "lib" / "fanout").is_dir():
            return parent
    raise DataError(
        "cannot find the workbook's folder (with warehouse/ and lib/fanout/); set FANOUT_HOME"
    )


def warehouse_dir() -> Path:
    return project_root() / "warehouse"


def default_data_dir() -> Path:
    """The committed default dataset."""
    return project_root() / "data" / "raw"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if need be): one writer at a time, the
    others wait and then find its complete result."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
