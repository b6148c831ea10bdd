"""Which raw data a run uses: the committed dataset at the default parameters, a folder given
as `data_dir`, or a dataset generated once under the build folder, validated before use."""

from __future__ import annotations

import json
from pathlib import Path

from fanout import bounded
from fanout.errors import DataError
from fanout.incident.data import validate
from fanout.incident.data.generate import generate
from fanout.incident.data.raw import CHECKSUMS, DATASET_INFO, verify_checksums
from fanout.incident.params import Params
from fanout.incident.paths import clean_stale, default_data_dir, locked, project_root

__all__ = ["check_committed", "dataset_dir"]


def dataset_dir(
    params: Params, *, fmt: str | None = None, progress=None, check: bool = True
) -> Path:
    """The raw data for `params`, validated (`fanout.incident.data.validate`, once per content):
    `params.data_dir` when set; the committed dataset for the default parameters; else a
    dataset generated once under `<build_dir>/data/<key>-<format>/` and reused afterwards.
    The format is `params.raw_format` unless `fmt` says otherwise."""

    fmt = fmt or params.raw_format
    build = params.build_path(project_root())
    if params.data_dir:
        folder = Path(params.data_dir).expanduser().resolve()
    elif params.is_default_dataset() and fmt == "csv":
        folder = default_data_dir()
        check_committed(folder)
    else:
        folder = build / "data" / f"{params.dataset_key()}-{fmt}"
        with locked(folder.parent / f".{folder.name}.lock"):
            clean_stale(folder.parent, prefix=f".{folder.name}.")  # a killed generation's
            if not (folder / CHECKSUMS).exists():
                generate(params, folder, fmt=fmt, overwrite=True, progress=progress)
    return validate.require(folder, cache_dir=build / "validated") if check else folder


def check_committed(folder: Path) -> None:
    """The committed dataset must be the default parameters' and match its checksums:
    otherwise a default run would use other data without a word."""

    try:
        text = bounded.read_text(folder / DATASET_INFO, "dataset record", "FANOUT_MAX_TEXT_BYTES")
        info = json.loads(text)
        params = info.get("params") if isinstance(info, dict) else None
    except (DataError, ValueError):
        params = None
    default = Params().dataset()
    if params != default:
        changed = (
            ", ".join(f"{k}={params.get(k)!r}" for k in default if params.get(k) != default[k])
            if isinstance(params, dict)
            else f"no readable {DATASET_INFO}"
        )
        raise DataError(
            f"{folder} no longer holds the committed default dataset ({changed}): restore it "
            "with `git checkout -- data/raw` or `make data`"
        )
    changed_files = verify_checksums(folder)
    if changed_files:
        raise DataError(
            f"{folder} no longer matches its checksums ({', '.join(changed_files)} changed): "
            "restore it with `git checkout -- data/raw` or `make data`"
        )
