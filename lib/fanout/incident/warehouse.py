"""Build a warehouse revision with dbt, in-process and offline, one folder per (revision, dataset).

A build lives in `<build_dir>/warehouse/<revision>-<dataset key>/`: the DuckDB file, dbt's
target folder (with `manifest.json`), its logs and `build.json` (what went in, what came
out). It is made in a temporary folder and renamed into place when complete, and reused
when nothing that went into it changed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from fanout.errors import BuildError, DataError
from fanout.incident import resources
from fanout.incident.data import raw, validate
from fanout.incident.data.dataset import check_committed
from fanout.incident.paths import (
    REVISIONS,
    clean_stale,
    default_data_dir,
    locked,
    project_root,
    swap_into_place,
    warehouse_dir,
)

__all__ = [
    "REVISIONS",
    "Build",
    "NodeResult",
    "Outcome",
    "attach",
    "build",
    "connect",
    "diff",
    "invoke",
    "project_files",
    "run_tests",
]

PROFILE = "fanout_shop"
DATABASE = "warehouse.duckdb"
RECORD = "build.json"
RECORD_VERSION = 2  # 2: the keys of the tests on the sources, for reuse
# Packages whose macros come with dbt and its adapter (their version is in a build's inputs).
BUILTIN_PACKAGES = ("dbt", "dbt_duckdb")


@dataclass(frozen=True)
class NodeResult:
    """What dbt reported for one model, test or exposure."""

    unique_id: str
    name: str
    resource_type: str
    status: str  # success, pass, fail, warn, error, skipped
    failures: int | None = None
    message: str | None = None
    execution_time: float = 0.0
    depends_on: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in ("success", "pass", "no-op")


class Outcome:
    """What a dbt invocation reported (`results`): all fine, or which nodes failed."""

    results: tuple[NodeResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> tuple[NodeResult, ...]:
        return tuple(r for r in self.results if not r.ok)


@dataclass(frozen=True)
class Build(Outcome):
    """A built revision: where its database and manifest are, and what dbt reported."""

    revision: str
    data_dir: Path
    folder: Path
    results: tuple[NodeResult, ...]
    seconds: float
    reused: bool = field(default=False, compare=False)
    # the tests on the sources whose results are an earlier build's (same SQL, same data)
    tests_from_earlier: tuple[str, ...] = field(default=(), compare=False)

    @property
    def database(self) -> Path:
        return self.folder / DATABASE

    @property
    def target_dir(self) -> Path:
        return self.folder / "target"

    @property
    def manifest_path(self) -> Path:
        return self.target_dir / "manifest.json"

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return json.loads(self.manifest_path.read_text())

    def result(self, name: str, resource_type: str = "model") -> NodeResult:
        for r in self.results:
            if r.name == name and r.resource_type == resource_type:
                return r
        raise KeyError(f"no {resource_type} named {name!r} in the {self.revision} build")


def _check_revision(revision: str | Path) -> Path:
    """The project folder of a revision name, or a dbt project folder given as a `Path`
    (a copy someone edits, such as a training seat's)."""
    if isinstance(revision, Path):
        project = revision.resolve()
        if not (project / "dbt_project.yml").is_file():
            raise DataError(f"{revision} is not a dbt project folder (no dbt_project.yml)")
        return project
    if revision not in REVISIONS:
        raise DataError(f"unknown revision {revision!r}; choose one of {', '.join(REVISIONS)}")
    return warehouse_dir() / revision


def _name(revision: str | Path, project: Path) -> str:
    """How a build folder names its project: the revision, or the folder's name and a short
    digest of its path (two project folders of the same name do not share builds)."""
    if not isinstance(revision, Path):
        return revision
    return f"{project.name}-{hashlib.sha256(str(project).encode()).hexdigest()[:6]}"


def _tree_digest(folder: Path) -> str:
    """A digest of the files dbt reads from a project folder (not its build outputs)."""
    h = hashlib.sha256()
    skip = {"target", "logs", "dbt_packages"}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or rel.parts[0] in skip or path.suffix in (".duckdb", ".wal"):
            continue
        h.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _dbt_version() -> str:
    return f"dbt-core {version('dbt-core')}, dbt-duckdb {version('dbt-duckdb')}"


def _offline_env() -> None:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")


def _write_profile(folder: Path, database: Path) -> None:
    output = {"type": "duckdb", "path": str(database), "threads": 2}
    settings = resources.dbt_settings()  # the run's memory share and spill folder, if set
    if settings:
        output["settings"] = settings
    profile = {PROFILE: {"target": "fanout", "outputs": {"fanout": output}}}
    (folder / "profiles.yml").write_text(json.dumps(profile, indent=2) + "\n")


def invoke(args: list[str]) -> list[NodeResult]:
    """Run one dbt command in this process and release the DuckDB file afterwards."""
    _offline_env()
    # lazy: dbt takes seconds to import, and only builds need it
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    try:
        outcome = dbtRunner().invoke(
            [*args, "--log-level", "none", "--no-use-colors", "--no-send-anonymous-usage-stats"]
        )
    finally:
        DuckDBConnectionManager.close_all_connections()
    if outcome.exception is not None or outcome.result is None:
        message = " ".join(str(outcome.exception or "dbt returned no result").split())
        raise BuildError(f"dbt {args[0]} failed: {message}")
    results = []
    for r in outcome.result.results:
        node = r.node
        depends = tuple(getattr(getattr(node, "depends_on", None), "nodes", ()) or ())
        results.append(
            NodeResult(
                unique_id=node.unique_id,
                name=node.name,
                resource_type=str(node.resource_type),
                status=str(r.status),
                failures=r.failures,
                message=" ".join(str(r.message).split()) if r.message else None,
                execution_time=round(float(r.execution_time or 0.0), 6),
                depends_on=depends,
            )
        )
    return sorted(results, key=lambda n: n.unique_id)


def _dbt_args(command: str, project: Path, folder: Path, data_dir: Path, fmt: str) -> list[str]:
    variables = {"raw_dir": str(data_dir), "raw_format": fmt}
    return [
        command,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(folder),
        "--target-path",
        str(folder / "target"),
        "--log-path",
        str(folder / "logs"),
        "--vars",
        json.dumps(variables),
    ]


def build(
    revision: str | Path,
    data_dir: str | Path | None = None,
    build_dir: str | Path | None = None,
    *,
    force: bool = False,
    tests: bool = True,
    reuse_tests: bool = True,
) -> Build:
    """Build `revision` (a name, or a dbt project folder as a `Path`) on the raw data in
    `data_dir` (default: the committed dataset).

    Returns the build, reused when its project files, data and dbt version are unchanged.
    Test failures are results, not exceptions; a dbt crash raises `BuildError`. With
    `tests=False` only the models are made (`dbt run`), for a build read for its tables only.

    A test that reads only sources gives the same result on the same data with the same
    SQL: when an earlier build under `build_dir` ran such a test on this data (same files,
    same dbt) with the same compiled SQL, the same configuration and the same project and
    package macros, its result is taken from there instead of running the test again
    (`tests_from_earlier` names them; `reuse_tests=False` runs every test).
    """

    project = _check_revision(revision)
    revision = _name(revision, project)
    if data_dir is None:
        check_committed(default_data_dir())  # the default data must be the committed data
    data_dir = Path(data_dir or default_data_dir()).resolve()
    build_root = Path(build_dir).resolve() if build_dir else project_root() / "build"
    # Validated first (once per content: a marker under build/validated), so that bad data
    # is refused in one line before anything is written, never handed to dbt.
    validate.require_input(data_dir, cache_dir=build_root / "validated")
    fmt = raw.detect_format(data_dir)
    inputs = {
        "record_version": RECORD_VERSION,
        "revision": revision,
        "project": _tree_digest(project),
        "data": raw.dataset_digest(data_dir),
        "data_dir": str(data_dir),
        "dbt": _dbt_version(),
        "command": "build" if tests else "run",
    }
    fingerprint = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    parent = build_root / "warehouse"
    folder = parent / f"{revision}-{inputs['data'][:12]}{'' if tests else '-models'}"
    with locked(parent / f".{folder.name}.lock"):
        clean_stale(parent)  # what killed builds left, also when this one is reused
        previous = _load(folder, revision, data_dir)
        if previous is not None and not force and previous[0] == fingerprint:
            return previous[1]
        work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-{os.getpid()}-", dir=parent))
        work.chmod(0o755)
        try:
            _write_profile(work, work / DATABASE)
            started = time.perf_counter()
            args = _dbt_args(inputs["command"], project, work, data_dir, fmt)
            earlier = _earlier_source_tests(parent, inputs) if tests and reuse_tests else {}
            keys, taken = {}, {}
            if earlier:  # compile the tests on the sources first, to compare their SQL
                invoke([*_dbt_args("compile", project, work, data_dir, fmt), "-s", "source:*"])
                keys = _source_test_keys(json.loads((work / "target" / MANIFEST).read_text()))
                taken = {uid: earlier[key] for uid, key in keys.items() if key in earlier}
            excluded = sorted({uid.split(".")[2] for uid in taken})
            results = invoke([*args, "--exclude", *excluded] if excluded else args)
            ran = {r.unique_id for r in results}
            taken = {uid: r for uid, r in taken.items() if uid not in ran}
            results = sorted(
                [*results, *(_as_node(uid, r) for uid, r in taken.items())],
                key=lambda n: n.unique_id,
            )
            if tests:
                keys.update(_source_test_keys(json.loads((work / "target" / MANIFEST).read_text())))
            seconds = round(time.perf_counter() - started, 3)
            record = {
                "fingerprint": fingerprint,
                "inputs": inputs,
                "seconds": seconds,
                "results": [asdict(r) for r in results],
                "source_test_keys": dict(sorted(keys.items())),
                "tests_from_earlier": sorted(taken),
            }
            _write_profile(work, folder / DATABASE)  # the path it will have once in place
            (work / RECORD).write_text(json.dumps(record, indent=2) + "\n")
            swap_into_place(work, folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return Build(
        revision, data_dir, folder, tuple(results), seconds, tests_from_earlier=tuple(sorted(taken))
    )


MANIFEST = "manifest.json"


def _source_test_keys(manifest: dict[str, Any]) -> dict[str, str]:
    """For each compiled test that reads only sources: a digest of what its result depends
    on besides the data and dbt's version: its SQL, its configuration (severity, thresholds)
    and the project's and its packages' macros that could stand in for one it calls (the
    same name, or the same after an adapter prefix such as `duckdb__`) or for the test
    materialization."""
    macros = manifest.get("macros", {})
    keys = {}
    for uid, node in manifest.get("nodes", {}).items():
        parents = node.get("depends_on", {}).get("nodes", [])
        if not (
            node.get("resource_type") == "test"
            and node.get("compiled_code")
            and parents
            and all(p.startswith("source.") for p in parents)
        ):
            continue
        called, todo = set(), list(node.get("depends_on", {}).get("macros", []))
        while todo:
            macro = todo.pop()
            if macro in called or macro not in macros:
                continue
            called.add(macro)
            todo.extend(macros[macro].get("depends_on", {}).get("macros", []))
        names = {_base_name(macros[m]["name"]) for m in called}
        own = sorted(
            (m, macro.get("macro_sql", ""))
            for m, macro in macros.items()
            if macro.get("package_name") not in BUILTIN_PACKAGES
            and (
                m in called
                or _base_name(macro.get("name", "")) in names
                or macro.get("name", "").startswith("materialization_test")
            )
        )
        text = json.dumps([node["compiled_code"], node.get("config"), own], sort_keys=True)
        keys[uid] = hashlib.sha256(text.encode()).hexdigest()
    return keys


def _base_name(name: str) -> str:
    """A macro's name without its adapter prefix (`duckdb__test_unique` -> `test_unique`)."""
    return name.split("__", 1)[1] if "__" in name else name


def _earlier_source_tests(parent: Path, inputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The results of the tests on the sources that earlier builds ran themselves on the same
    data with the same dbt, by key (`_source_test_keys`)."""
    same = ("record_version", "data", "data_dir", "dbt")
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(parent.glob(f"*/{RECORD}")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if any(record.get("inputs", {}).get(k) != inputs[k] for k in same):
            continue
        results = {r["unique_id"]: r for r in record.get("results", [])}
        reused = set(record.get("tests_from_earlier", []))
        for uid, key in record.get("source_test_keys", {}).items():
            if uid in results and uid not in reused:
                found.setdefault(key, results[uid])
    return found


def _as_node(unique_id: str, result: dict[str, Any]) -> NodeResult:
    """An earlier build's result for this build's test `unique_id`."""
    return NodeResult(
        **{
            **result,
            "unique_id": unique_id,
            "name": unique_id.split(".")[2],
            "depends_on": tuple(result["depends_on"]),
        }
    )


def _load(folder: Path, revision: str, data_dir: Path) -> tuple[str, Build] | None:
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None
    if not (folder / DATABASE).exists():
        return None
    results = tuple(
        NodeResult(**{**r, "depends_on": tuple(r["depends_on"])}) for r in record["results"]
    )
    earlier = tuple(record.get("tests_from_earlier", ()))
    built = Build(
        revision, data_dir, folder, results, record["seconds"], True, tests_from_earlier=earlier
    )
    return record["fingerprint"], built


def run_tests(
    revision: str | Path,
    database: str | Path,
    *,
    select: str,
    data_dir: str | Path | None = None,
    build_dir: str | Path | None = None,
) -> list[NodeResult]:
    """Run `revision`'s dbt tests (a name, or a project folder as a `Path`) selected by
    `select` against tables in another `database`.

    This is how the fix's grain tests are shown failing on the tables the enrichment
    revision built. The tests run on a copy of the database, so the original is neither
    written nor locked (it may stay attached elsewhere); the copy is thrown away afterwards.
    """
    project = _check_revision(revision)
    revision = _name(revision, project)
    database = Path(database).resolve()
    if not database.exists():
        raise DataError(f"database {database} does not exist")
    data_dir = Path(data_dir or default_data_dir()).resolve()
    fmt = raw.detect_format(data_dir)
    build_root = Path(build_dir).resolve() if build_dir else project_root() / "build"
    (build_root / "warehouse").mkdir(parents=True, exist_ok=True)
    # A database made by `build` has a record of its inputs beside it: the results are kept
    # there and reused while the tests' project and that build are unchanged.
    cache = None
    record = database.parent / RECORD
    if record.exists():
        key = hashlib.sha256(
            json.dumps([_tree_digest(project), select, record.read_text(), str(data_dir)]).encode()
        ).hexdigest()[:16]
        cache = database.parent / f"tests-{revision}-{key}.json"
        if cache.exists():
            rows = json.loads(cache.read_text())
            return [NodeResult(**{**r, "depends_on": tuple(r["depends_on"])}) for r in rows]
    with tempfile.TemporaryDirectory(prefix=".tests-", dir=build_root / "warehouse") as tmp:
        work = Path(tmp)
        copy = work / DATABASE  # same file name, so the same catalog name as in the build
        shutil.copyfile(database, copy)
        _write_profile(work, copy)
        args = _dbt_args("test", project, work, data_dir, fmt)
        results = invoke([*args, "--select", select])
    if cache is not None:
        tmp_cache = cache.with_name(f".{cache.name}.{os.getpid()}")
        tmp_cache.write_text(json.dumps([asdict(r) for r in results], indent=1))
        os.replace(tmp_cache, cache)
    return results


def connect(target: Build | str | Path):
    """A read-only DuckDB connection to a build's database."""

    path = target.database if isinstance(target, Build) else Path(target)
    if not path.exists():
        raise DataError(f"database {path} does not exist")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        first = str(exc).splitlines()[0]
        raise DataError(f"cannot open {path}: {first}") from None
    raw.quiet(con)
    return con


def attach(con, target: Build | str | Path, alias: str) -> None:
    """Attach a build's (or any) database file read-only to `con` under `alias`."""

    if not alias.isidentifier():
        raise DataError(f"alias {alias!r} is not a plain identifier")
    path = target.database if isinstance(target, Build) else Path(target)
    if not path.is_file():
        raise DataError(f"database {path} does not exist")
    quoted = str(path.resolve()).replace("'", "''")
    try:
        con.execute(f"attach '{quoted}' as \"{alias}\" (read_only)")
    except duckdb.Error as exc:
        raise DataError(f"cannot open database {path}: {str(exc).splitlines()[0]}") from None


def project_files(revision: str) -> dict[str, str]:
    """A revision's dbt project files (models, tests, macros, YAML) by relative path."""
    project = _check_revision(revision)
    files = {}
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project)
        if path.is_file() and rel.parts[0] in ("models", "tests", "macros", "dbt_project.yml"):
            files[str(rel)] = path.read_text()
    return files


def diff(old: str, new: str) -> str:
    """The unified diff between two revisions: the pull request that leads from one to the other."""

    a, b = project_files(old), project_files(new)
    chunks = []
    for name in sorted(a.keys() | b.keys()):
        if a.get(name) == b.get(name):
            continue
        chunks.extend(
            difflib.unified_diff(
                a.get(name, "").splitlines(keepends=True),
                b.get(name, "").splitlines(keepends=True),
                fromfile=f"{old}/{name}" if name in a else "/dev/null",
                tofile=f"{new}/{name}" if name in b else "/dev/null",
            )
        )
    return "".join(chunks)
