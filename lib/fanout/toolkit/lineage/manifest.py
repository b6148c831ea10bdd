"""A dbt `manifest.json` read into a graph of nodes: loading, validation, stated grains."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlglot

from fanout import bounded
from fanout.errors import DataError
from fanout.toolkit.lineage.schema import (
    RESOURCE_TYPES,
    _check_acyclic,
    _check_manifest,
    _check_version,
    _NotManifest,
)
from fanout.toolkit.lineage.settings import Settings

DIALECT = "duckdb"  # how results render SQL; a manifest's SQL is read in its adapter's dialect
RAW_TYPES = ("source", "seed")  # raw tables, when seeds count as sources (Settings)
# Generic tests that make a column set unique, and the argument naming the columns.
GRAIN_TESTS = {
    "unique": "column_name",
    "grain": "columns",  # this project's generic test (warehouse/fix/macros/test_grain.sql)
    "unique_combination_of_columns": "combination_of_columns",  # dbt_utils
    "expect_column_values_to_be_unique": "column_name",  # dbt_expectations
    "expect_compound_columns_to_be_unique": "column_list",  # dbt_expectations
}
# Tests that alone make a tested primary key (the evaluator's unique_combination_of_columns,
# and their likes); `unique` needs `not_null` on the same column beside it.
KEY_TESTS = {n for n in GRAIN_TESTS if n not in ("unique", "expect_column_values_to_be_unique")}
NOT_NULL_TESTS = ("not_null", "expect_column_values_to_not_be_null")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class Node:
    """One resource of the manifest: a model, source, seed, snapshot, test or exposure."""

    unique_id: str
    name: str
    resource_type: str
    parents: tuple[str, ...] = ()  # unique ids, from the manifest's parent_map
    children: tuple[str, ...] = ()  # unique ids, from its child_map
    folders: tuple[str, ...] = ()  # folders under the model path, e.g. ("staging",)
    source_name: str | None = None
    relation_name: str | None = None
    declared_grain: tuple[str, ...] | None = None  # config.meta.grain or meta.grain
    tested_grains: tuple[tuple[str, ...], ...] = ()  # from unique and grain tests
    compiled_sql: str | None = None
    raw_sql: str | None = None
    language: str = "sql"
    exposure_type: str | None = None
    owner: str | None = None
    package: str | None = None  # the package (or project) that defines it
    path: str | None = None  # its file, from the project's folder (original_file_path)
    version: str | None = None  # a versioned model's version
    primary_keys: tuple[tuple[str, ...], ...] = ()  # tested as a primary key (Settings)
    columns: tuple[str, ...] = ()  # the columns its YAML documents
    skip: tuple[str, ...] = ()  # rules silenced on it (meta: {fanout: {skip: [...]}}); "*": all

    @property
    def label(self) -> str:
        """How results name the node: `source_name.table` for a source, `name.v2` for a
        versioned model, the name otherwise."""
        if self.resource_type == "source" and self.source_name:
            return f"{self.source_name}.{self.name}"
        if self.version is not None:
            return f"{self.name}.v{self.version}"
        return self.name

    @property
    def grains(self) -> tuple[tuple[str, ...], ...]:
        """Every grain the project states for the node: the declared one, then the tested ones."""
        found: list[tuple[str, ...]] = []
        for grain in (self.declared_grain, *self.tested_grains):
            if grain and all(set(grain) != set(g) for g in found):
                found.append(grain)
        return tuple(found)


@dataclass(frozen=True, eq=False)
class Graph:
    """A dbt project's resources by unique id, with the edges the manifest records."""

    project: str
    nodes: Mapping[str, Node]
    dialect: str = DIALECT  # sqlglot's name for the adapter's SQL, duckdb if it has none
    settings: Settings = field(default_factory=Settings)
    measured: Mapping[str, Any] = field(default_factory=dict)  # grains.Found, by unique id

    @property
    def raw_types(self) -> tuple[str, ...]:
        """The resource types that count as sources: seeds too only if the settings say so."""
        return RAW_TYPES if self.settings.seeds_as_sources else ("source",)

    def excluded(self, node: Node) -> bool:
        """Whether the settings or the node's own meta leave it out of every rule."""
        if "*" in node.skip or node.name in self.settings.exclude_models:
            return True
        if node.label in self.settings.exclude_models:
            return True
        own = node.package is None or node.package == self.project
        if not own:
            packages = self.settings.exclude_packages
            return node.package in packages or "all" in packages
        path = node.path or ""
        if node.resource_type == "source":
            path += f":{node.label}"
        return any(p.search(path) for p in self.settings.patterns)

    def silenced(self, node: Node, rule: str) -> bool:
        """Whether a rule's findings about this node are left out."""
        return rule in node.skip or self.excluded(node)

    def node(self, name: str) -> Node:
        """The node with this unique id, name or label (`shop.raw_orders` for a source)."""
        if name in self.nodes:
            return self.nodes[name]
        found = [n for n in self.nodes.values() if name in (n.name, n.label)]
        if not found:
            raise DataError(f"no model, source, test or exposure named {name!r} in the manifest")
        rank = {t: i for i, t in enumerate(RESOURCE_TYPES)}
        best = min(rank[n.resource_type] for n in found)
        found = [n for n in found if rank[n.resource_type] == best]
        if len(found) > 1:
            ids = ", ".join(n.unique_id for n in found)
            raise DataError(f"{name!r} names several nodes ({ids}); pass a unique id")
        return found[0]

    def parents(self, node: Node) -> tuple[Node, ...]:
        """The nodes this one reads (a test: the nodes it tests)."""
        return tuple(self.nodes[u] for u in node.parents)

    def children(self, node: Node) -> tuple[Node, ...]:
        """The nodes reading this one: models, tests, exposures."""
        return tuple(self.nodes[u] for u in node.children)

    def ancestors(self, nodes: Iterable[Node], types: tuple[str, ...]) -> list[Node]:
        """`nodes` and every node of `types` above them (through nodes of those types),
        parents before children; a depth-first search with its own stack, so a chain of
        any length is fine (and a cycle, in a graph built by hand, ends it)."""
        order: list[Node] = []
        state: dict[str, int] = {}  # 1: being visited, 2: placed
        for start in nodes:
            if start.unique_id in state:
                continue
            state[start.unique_id] = 1
            stack = [(start, iter(start.parents))]
            while stack:
                node, pending = stack[-1]
                uid = next(pending, None)
                if uid is None:
                    stack.pop()
                    state[node.unique_id] = 2
                    order.append(node)
                    continue
                parent = self.nodes.get(uid)
                if parent is None or parent.resource_type not in types or uid in state:
                    continue
                state[uid] = 1
                stack.append((parent, iter(parent.parents)))
        return order

    @property
    def models(self) -> tuple[Node, ...]:
        """The models, by name."""
        return tuple(
            sorted((n for n in self.nodes.values() if n.resource_type == "model"), key=_by_label)
        )


def _by_label(node: Node) -> tuple[str, str]:
    return (node.label, node.unique_id)


_JINJA_STRING = re.compile(r"""\{\{[^}]*?['"]([A-Za-z_][A-Za-z0-9_$]*)['"][^}]*\}\}""")


def _column_name(value: Any) -> str | None:
    """A column named in YAML: quotes dropped, and the one name inside a Jinja call.

    >>> _column_name('"Plan"'), _column_name('{{ quote_column("plan") }}')
    ('plan', 'plan')
    >>> _column_name("lower(email)") is None
    True
    """
    if not isinstance(value, str):
        return None
    value = value.strip()
    if "{{" in value:
        found = _JINJA_STRING.fullmatch(value)
        value = found[1] if found else ""
    name = value.strip().strip('"`[]').strip()
    return name.lower() if _IDENTIFIER.match(name) else None


def _grain_value(value: Any) -> tuple[str, ...] | None:
    """A stated grain as a tuple of column names, or None if it is not a list of names.

    >>> _grain_value(["Order_ID", "line_number"])
    ('order_id', 'line_number')
    >>> _grain_value("spend_date, channel")
    ('spend_date', 'channel')
    >>> _grain_value({"columns": 1}) is None, _grain_value("lower(email)") is None
    (True, True)
    """
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not value:
        return None
    names = tuple(_column_name(v) for v in value)
    return names if all(names) else None  # type: ignore[return-value]


def _meta(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    config = raw.get("config") or {}
    return {**(raw.get("meta") or {}), **(config.get("meta") or {})}


class _Tests:
    """What the generic tests of a manifest say about each node's columns."""

    def __init__(self, nodes: Mapping[str, Any]):
        self.grains: dict[str, list[tuple[str, ...]]] = {}  # unique column sets
        self.keys: dict[str, list[tuple[str, ...]]] = {}  # tested primary keys
        self.unique: dict[str, set[str]] = {}
        self.not_null: dict[str, set[str]] = {}
        for raw in nodes.values():
            if raw.get("resource_type") == "test":
                self._read(raw)

    def _read(self, raw: Mapping[str, Any]) -> None:
        metadata = raw.get("test_metadata") or {}
        name = metadata.get("name")
        if (raw.get("config") or {}).get("where"):
            return  # a conditional test (unique where ...) says nothing of every row
        depends = (raw.get("depends_on") or {}).get("nodes") or []
        target = raw.get("attached_node") or (depends[0] if len(depends) == 1 else None)
        if not target:
            return
        kwargs = metadata.get("kwargs") or {}
        if name in NOT_NULL_TESTS:
            column = _column_name(kwargs.get("column_name") or raw.get("column_name"))
            if column:
                self.not_null.setdefault(target, set()).add(column)
            return
        argument = GRAIN_TESTS.get(name)
        if argument is None:
            return
        value = kwargs.get(argument) or raw.get(argument)
        grain = _grain_value([value] if argument == "column_name" else value)
        if not grain:
            return
        self.grains.setdefault(target, []).append(grain)
        if name in KEY_TESTS:
            self.keys.setdefault(target, []).append(grain)
        else:
            self.unique.setdefault(target, set()).add(grain[0])

    def primary_keys(self, uid: str, raw: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
        """Tested primary keys as dbt-project-evaluator counts them: `unique` and `not_null`
        on one column, a combination test, a primary-key constraint, or a `unique` test with
        a not-null constraint."""
        constraints = _constraints(raw)
        not_null = self.not_null.get(uid, set()) | constraints["not_null"]
        keys = list(self.keys.get(uid, ())) + list(constraints["primary_key"])
        keys += [(c,) for c in sorted(self.unique.get(uid, set()) & not_null)]
        return tuple(dict.fromkeys(keys))


def _constraints(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Columns constrained not null, and primary-key constraints, of a model."""
    found: dict[str, Any] = {"not_null": set(), "primary_key": []}
    columns = raw.get("columns")
    for name, column in columns.items() if isinstance(columns, Mapping) else ():
        kinds = {
            c.get("type")
            for c in (column.get("constraints") if isinstance(column, Mapping) else None) or ()
            if isinstance(c, Mapping)
        }
        if column_name := _column_name(name):
            if "not_null" in kinds or "primary_key" in kinds:
                found["not_null"].add(column_name)
            if "primary_key" in kinds:
                found["primary_key"].append((column_name,))
    for c in raw.get("constraints") or ():
        if isinstance(c, Mapping) and c.get("type") == "primary_key":
            grain = _grain_value(c.get("columns"))
            if grain:
                found["primary_key"].append(grain)
    return found


def _skip(meta: Mapping[str, Any]) -> tuple[str, ...]:
    """The rules a node's `meta: {fanout: ...}` silences ("*" for all)."""
    ours = meta.get("fanout")
    if not isinstance(ours, Mapping):
        return ()
    if ours.get("exclude") is True:
        return ("*",)
    skip = ours.get("skip")
    skip = [skip] if isinstance(skip, str) else skip
    return tuple(s for s in skip or () if isinstance(s, str))


def _columns(raw: Mapping[str, Any]) -> tuple[str, ...]:
    columns = raw.get("columns")
    if not isinstance(columns, Mapping):
        return ()
    return tuple(c for c in (_column_name(k) for k in columns) if c)


def read(path: str | Path) -> Any:
    """The parsed JSON of a manifest file, read within FANOUT_MAX_MANIFEST_BYTES (a regular
    file: a device or a FIFO is refused before it is opened)."""
    path = Path(path)
    data = bounded.read_bytes(path, "manifest", "FANOUT_MAX_MANIFEST_BYTES")
    try:
        return json.loads(data)
    except ValueError:
        raise DataError(f"{path} is not a dbt manifest: it is not JSON") from None
    except RecursionError:
        raise DataError(f"{path} is not a dbt manifest: it is nested too deeply") from None


def load(
    manifest: Mapping[str, Any] | str | Path,
    settings: Settings | None = None,
    *,
    where: str | None = None,
) -> Graph:
    """Read a dbt `manifest.json` (its path or its parsed content) into a graph, with the
    exclusions and options lint applies (`Settings`; none by default). `where` names the
    manifest in messages (default: its path, or "the manifest")."""
    if isinstance(manifest, str | Path):
        where = where or str(manifest)
        manifest = read(manifest)
    where = where or "the manifest"
    try:
        _check_manifest(manifest)
        _check_version(manifest, where)
    except _NotManifest as exc:
        raise DataError(f"{where} is not a dbt manifest: {exc}") from None
    raws: dict[str, Mapping[str, Any]] = {}
    for section in ("nodes", "sources", "exposures"):
        for uid, raw in (manifest.get(section) or {}).items():
            if raw["resource_type"] in RESOURCE_TYPES:
                raws[uid] = raw
    parent_map = manifest["parent_map"]
    child_map = manifest.get("child_map")
    if not isinstance(child_map, Mapping):  # older manifests: derive it
        child_map = {}
        for uid, parents in parent_map.items():
            for parent in parents:
                child_map.setdefault(parent, []).append(uid)
    _check_acyclic(where, raws, parent_map, "parent_map")
    _check_acyclic(where, raws, child_map, "child_map")
    tests = _Tests(raws)
    nodes = {}
    for uid in sorted(raws):
        raw = raws[uid]
        kind = raw["resource_type"]
        fqn = raw.get("fqn") or []
        nodes[uid] = Node(
            unique_id=uid,
            name=raw.get("name") or uid.rsplit(".", 1)[-1],
            resource_type=kind,
            parents=tuple(sorted(p for p in parent_map.get(uid, ()) if p in raws)),
            children=tuple(sorted(c for c in child_map.get(uid, ()) if c in raws)),
            folders=tuple(fqn[1:-1]) if kind in ("model", "seed", "snapshot") else (),
            source_name=raw.get("source_name"),
            relation_name=raw.get("relation_name"),
            declared_grain=_grain_value(_meta(raw).get("grain")),
            tested_grains=tuple(dict.fromkeys(tests.grains.get(uid, ()))),
            compiled_sql=raw.get("compiled_code") or raw.get("compiled_sql"),
            raw_sql=raw.get("raw_code") or raw.get("raw_sql"),
            language=raw.get("language") or "sql",
            exposure_type=raw.get("type") if kind == "exposure" else None,
            owner=_owner(raw.get("owner") or {}),
            package=raw.get("package_name"),
            path=raw.get("original_file_path"),
            version=None if raw.get("version") is None else str(raw["version"]),
            primary_keys=tests.primary_keys(uid, raw),
            columns=_columns(raw),
            skip=_skip(_meta(raw)),
        )
    metadata = manifest.get("metadata") or {}
    project = metadata.get("project_name") or ""
    dialect = _dialect(metadata.get("adapter_type"))
    return Graph(project, MappingProxyType(nodes), dialect, settings or Settings())


def _owner(owner: Mapping[str, Any]) -> str | None:
    """An exposure owner's name or, failing that, email (one, or several joined)."""
    email = owner.get("email")
    return (
        owner.get("name")
        or (", ".join(email) if isinstance(email, list | tuple) else email)
        or None
    )


def _dialect(adapter: Any) -> str:
    """The sqlglot dialect of a dbt adapter, duckdb if sqlglot has none by its name.

    >>> _dialect("snowflake"), _dialect("sqlserver"), _dialect("no-such-adapter"), _dialect(None)
    ('snowflake', 'tsql', 'duckdb', 'duckdb')
    """
    if isinstance(adapter, str) and _IDENTIFIER.match(adapter):
        name = _ADAPTER_DIALECTS.get(adapter.lower(), adapter.lower())
        try:
            sqlglot.Dialect.get_or_raise(name)
            return name
        except (ValueError, KeyError):
            pass
    return DIALECT


_ADAPTER_DIALECTS = {"sqlserver": "tsql", "synapse": "tsql"}  # where the names differ


def slim(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest with only the fields `load` reads: lint gives the same findings on it.
    Raw SQL is kept only where there is no compiled SQL.

    >>> slim({"metadata": {"project_name": "p", "dbt_version": "1.11"}, "nodes": {},
    ...       "parent_map": {}, "docs": {"x": 1}})
    {'metadata': {'project_name': 'p'}, 'nodes': {}, 'sources': {}, 'exposures': {}, 'parent_map': {}, 'child_map': {}}
    """  # noqa: E501
    keep = ("unique_id", "name", "resource_type", "fqn", "source_name", "relation_name")
    keep += ("language", "type", "owner", "package_name", "original_file_path", "version")
    keep += ("constraints", "meta", "test_metadata", "attached_node", "depends_on")
    keep += ("column_name", "compiled_code", "compiled_sql")

    def node(raw: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: raw[k] for k in keep if raw.get(k) not in (None, {}, [], "")}
        if not (raw.get("compiled_code") or raw.get("compiled_sql")):
            out.update({k: raw[k] for k in ("raw_code", "raw_sql") if raw.get(k)})
        config = raw.get("config") or {}
        config = {k: config[k] for k in ("meta", "where") if config.get(k)}
        if config:
            out["config"] = config
        if "depends_on" in out:
            out["depends_on"] = {"nodes": out["depends_on"].get("nodes") or []}
        columns = raw.get("columns")
        if isinstance(columns, Mapping) and columns:
            out["columns"] = {
                name: {"constraints": c["constraints"]}
                if isinstance(c, Mapping) and c.get("constraints")
                else {}
                for name, c in columns.items()
            }
        return out

    metadata = manifest.get("metadata") or {}
    return {
        "metadata": {
            k: metadata[k]
            for k in ("dbt_schema_version", "project_name", "adapter_type")
            if k in metadata
        },
        **{
            section: {uid: node(raw) for uid, raw in (manifest.get(section) or {}).items()}
            for section in ("nodes", "sources", "exposures")
        },
        "parent_map": manifest.get("parent_map") or {},
        "child_map": manifest.get("child_map") or {},
    }
