"""The incident's revisions built on a dbt target, as a team runs dbt on its warehouse.

On a warehouse other than a DuckDB file the raw files are first loaded where the sources
read them (`dbt run-operation load_raw`, the macro in each revision's `macros/`), then each
revision is built with `dbt build` into its own target (its own schema), with the same vars
as `fanout build` passes. dbt runs in this process with the user's profile; its artifacts
(`manifest.json`, logs) go to a folder of ours, never into the project.

    load_raw("pg_baseline", profiles_dir=..., data_dir=..., work=...)
    built = build_on("enrichment", "pg_enrichment", profiles_dir=..., data_dir=..., work=...)
    built.manifest_path  # for fanout check grain / investigate / blast-radius --target
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from fanout import raw
from fanout.errors import BuildError
from fanout.warehouse import NodeResult, Outcome, _check_revision, invoke

__all__ = ["TargetBuild", "build_on", "load_raw", "run_tests_on"]


@dataclass(frozen=True)
class TargetBuild(Outcome):
    """A revision built on a dbt target: dbt's artifacts and what it reported."""

    revision: str
    target: str
    folder: Path  # dbt's --target-path
    results: tuple[NodeResult, ...]
    seconds: float

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.json"


def _args(
    command: list[str], project: Path, target: str, profiles_dir, data_dir, folder: Path
) -> list[str]:
    data_dir = Path(data_dir).resolve()
    variables = {"raw_dir": str(data_dir), "raw_format": raw.detect_format(data_dir)}
    return [
        *command,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(Path(profiles_dir).resolve()),
        "--target",
        target,
        "--target-path",
        str(folder),
        "--log-path",
        str(folder / "logs"),
        "--vars",
        json.dumps(variables),
    ]


def load_raw(
    target: str,
    *,
    profiles_dir: str | Path,
    data_dir: str | Path,
    work: str | Path,
    revision: str = "baseline",
) -> float:
    """`dbt run-operation load_raw` on `target` (any revision's project has the macro):
    the raw files of `data_dir` loaded where the sources read them. Returns the seconds."""
    from dbt.cli.main import dbtRunner

    folder = Path(work).resolve() / f"load_raw-{target}"
    args = _args(
        ["run-operation", "load_raw"],
        _check_revision(revision),
        target,
        profiles_dir,
        data_dir,
        folder,
    )
    started = time.perf_counter()
    outcome = dbtRunner().invoke(
        [*args, "--log-level", "none", "--no-use-colors", "--no-send-anonymous-usage-stats"]
    )
    if not outcome.success:
        message = outcome.exception
        results = getattr(outcome.result, "results", None) or ()
        if message is None and results:
            message = getattr(results[0], "message", None)
        raise BuildError(f"dbt run-operation load_raw failed: {' '.join(str(message).split())}")
    return round(time.perf_counter() - started, 3)


def build_on(
    revision: str,
    target: str,
    *,
    profiles_dir: str | Path,
    data_dir: str | Path,
    work: str | Path,
) -> TargetBuild:
    """`dbt build` of `revision` on `target`; artifacts in `work/<revision>-<target>/`.
    Test failures are results (as in `fanout.warehouse.build`); a dbt crash raises."""
    folder = Path(work).resolve() / f"{revision}-{target}"
    args = _args(["build"], _check_revision(revision), target, profiles_dir, data_dir, folder)
    started = time.perf_counter()
    results = invoke(args)
    return TargetBuild(
        revision, target, folder, tuple(results), round(time.perf_counter() - started, 3)
    )


def run_tests_on(
    revision: str,
    target: str,
    *,
    select: str,
    profiles_dir: str | Path,
    data_dir: str | Path,
    work: str | Path,
) -> list[NodeResult]:
    """`dbt test --select SELECT` of `revision`'s tests on the tables `target` holds: the
    fix's grain tests on the enrichment's tables, as `fanout.warehouse.run_tests` on DuckDB."""
    folder = Path(work).resolve() / f"test-{revision}-on-{target}"
    args = _args(["test"], _check_revision(revision), target, profiles_dir, data_dir, folder)
    return invoke([*args, "--select", select])
