"""Where the project's folders are."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from fanout.errors import DataError

__all__ = [
    "REVISIONS",
    "clean_stale",
    "default_data_dir",
    "locked",
    "point_link",
    "project_root",
    "swap_into_place",
    "warehouse_dir",
]

# The warehouse revisions, one dbt project each under warehouse/ (the CLI offers them as
# choices: named here, where importing costs nothing, rather than beside the builds).
REVISIONS = ("baseline", "enrichment", "fix")


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


def swap_into_place(work: Path, folder: Path) -> None:
    """Replace `folder` by the complete `work` folder with renames only: a reader (or a run
    killed at any moment) sees the old complete folder or the new one, never a mix."""
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.replace(folder, old)
    os.replace(work, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def point_link(link: Path, target: Path) -> None:
    """Make `link` a symbolic link to `target` (relative), replacing any previous one atomically."""
    tmp = link.with_name(f".{link.name}.link-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(target, link.parent))
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link) if link.is_dir() else link.unlink()
    os.replace(tmp, link)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(folder: Path, prefix: str = ".") -> list[Path]:
    """Remove what killed runs left in `folder`: `.NAME.tmp-PID-*` and `.NAME.old-PID-*`
    entries whose process is gone (only those starting with `prefix`: in a folder that is
    not ours, pass `.NAME.`). Returns what was removed."""
    removed = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        name = entry.name
        if not name.startswith(prefix) or not (".tmp-" in name or ".old-" in name):
            continue
        tail = name.split(".tmp-" if ".tmp-" in name else ".old-", 1)[1]
        pid = tail.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
            removed.append(entry)
    return removed
