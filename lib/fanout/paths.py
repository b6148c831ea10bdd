"""Where the project's folders are."""

from __future__ import annotations

import os
from pathlib import Path

from fanout.errors import DataError

__all__ = ["default_data_dir", "project_root", "warehouse_dir"]


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
