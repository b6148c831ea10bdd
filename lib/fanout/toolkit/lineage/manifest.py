"""A dbt `manifest.json` read into a graph of nodes: loading, validation, stated grains."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlglot

from fanout import bounded
from fanout.errors import DataError
from fanout.toolkit.lineage.settings import Settings

DIALECT = "duckdb"  # how results render SQL; a manifest's SQL is read in its adapter's dialect
RESOURCE_TYPES = ("model", "snapshot", "seed", "source", "test", "exposure")
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


# ---------------------------------------------------------------------------- the graph


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


class _NotManifest(Exception):
    """The content is not a manifest this module can read; the message says what is wrong."""


class ManifestWarning(UserWarning):
    """The manifest can be read, but maybe not completely: its schema is newer than the
    newest this module knows, or it does not say which it is."""


# Manifest schema versions `load` reads: v4 (dbt 1.0) to v12 (dbt 1.8 to 1.11). Older ones
# lack fields it relies on and are refused; newer ones are read with a warning.
SCHEMA_VERSIONS = (4, 12)
_SCHEMA = re.compile(r"/manifest/v(\d{1,4})\.json$")


def schema_version(manifest: Mapping[str, Any]) -> int | None:
    """The manifest schema version `metadata.dbt_schema_version` names (None: it names none).

    >>> schema_version({"metadata": {"dbt_schema_version":
    ...     "https://schemas.getdbt.com/dbt/manifest/v12.json"}})
    12
    >>> schema_version({"metadata": {}}) is None
    True
    """
    metadata = manifest.get("metadata") or {}
    text = metadata.get("dbt_schema_version")
    if text is None:
        return None
    found = _SCHEMA.search(text) if isinstance(text, str) else None
    if found is None:
        shown = text if not isinstance(text, str) or len(text) <= 80 else text[:77] + "..."
        raise _NotManifest(
            f"metadata.dbt_schema_version is {shown!r}, not a manifest schema "
            "(https://schemas.getdbt.com/dbt/manifest/vN.json)"
        )
    return int(found[1])


def _check_version(manifest: Mapping[str, Any], where: str) -> None:
    """Refuse a schema older than v4; warn on a newer one than v12, or on none named."""

    low, high = SCHEMA_VERSIONS
    version = schema_version(manifest)
    if version is None:
        warnings.warn(
            f"{where} names no schema version (metadata.dbt_schema_version): read as "
            f"v{high}, the newest fanout knows",
            ManifestWarning,
            stacklevel=3,
        )
    elif version < low:
        raise _NotManifest(
            f"its schema is v{version} (dbt before 1.0); fanout reads v{low} (dbt 1.0) to "
            f"v{high} (dbt 1.8 and later): regenerate it with a newer dbt"
        )
    elif version > high:
        warnings.warn(
            f"{where} is a v{version} manifest, newer than v{high}, the newest fanout knows: "
            "what the newer schema adds is not read",
            ManifestWarning,
            stacklevel=3,
        )


def _check_acyclic(
    where: str,
    raws: Mapping[str, Any],
    edges: Mapping[str, Any],
    name: str,
) -> None:
    """`DataError` naming a cycle of `edges` (a parent_map or child_map) among the nodes
    read, in one line; iterative, so a chain of any length is fine."""
    cycle = find_cycle({u: [v for v in edges.get(u, ()) if v in raws] for u in raws})
    if cycle:
        shown = cycle if len(cycle) <= 7 else [*cycle[:3], "...", *cycle[-3:]]
        raise DataError(
            f"{where} is not a dbt manifest: its {name} has a cycle of {len(cycle) - 1} "
            f"nodes: {' -> '.join(shown)}"
        )


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle of a directed graph, as the nodes on it with the first repeated at the end,
    or None; a depth-first search with its own stack (no recursion), in sorted order.

    >>> find_cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]})
    ['a', 'b', 'c', 'a']
    >>> find_cycle({"a": ["b"], "b": []}) is None
    True
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(edges):
        if start in state:
            continue
        path = [start]
        state[start] = 1
        stack = [iter(sorted(edges.get(start, ())))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            seen = state.get(nxt)
            if seen == 1:
                return [*path[path.index(nxt) :], nxt]
            if seen is None:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return None


def _json_kind(value: Any) -> str:
    """What a value is, in JSON's words.

    >>> _json_kind(None), _json_kind(True), _json_kind(7), _json_kind({}), _json_kind([])
    ('null', 'a boolean', 'a number', 'an object', 'an array')
    """
    kinds = ((bool, "a boolean"), (int | float, "a number"), (str, "a string"))
    kinds += ((Mapping, "an object"), (list | tuple, "an array"))
    if value is None:
        return "null"
    return next((k for t, k in kinds if isinstance(value, t)), f"a {type(value).__name__}")


def _expect(value: Any, ok: bool, where: str, expected: str) -> None:
    if not ok:
        raise _NotManifest(f"{where} is {_json_kind(value)}, not {expected}")


def _object(value: Any, where: str, optional: bool = True) -> Mapping[str, Any]:
    _expect(value, isinstance(value, Mapping) or (optional and value is None), where, "an object")
    return value or {}


def _string(value: Any, where: str, optional: bool = True) -> None:
    _expect(value, isinstance(value, str) or (optional and value is None), where, "a string")


def _strings(value: Any, where: str) -> None:
    """An array of strings (or null)."""
    if value is None:
        return
    _expect(value, isinstance(value, list | tuple), where, "an array of strings")
    for i, item in enumerate(value):
        _expect(item, isinstance(item, str), f"{where}[{i}]", "a string")


def _entries(section: Mapping[Any, Any], name: str) -> Iterator[tuple[str, Any, str]]:
    """(key, value, where the value is) for each entry of a section keyed by unique id."""
    for key, value in section.items():
        _expect(key, isinstance(key, str), f"a key of {name}", "a string")
        yield key, value, f"{name}[{key!r}]"  # repr: a key's line breaks stay escaped


# Fields of a node, source or exposure that `load` reads, by the JSON type they must have
# (or null): the manifest's other fields are not read, so not checked.
_STRING_FIELDS = ("source_name", "relation_name", "compiled_code", "compiled_sql", "raw_code")
_STRING_FIELDS += ("raw_sql", "language", "attached_node", "package_name", "original_file_path")
_OBJECT_FIELDS = ("config", "meta", "owner", "test_metadata", "depends_on", "columns")


def _check_manifest(manifest: Any) -> None:
    """Raise _NotManifest, naming the key, unless the manifest has the shape `load` reads."""
    if not (
        isinstance(manifest, Mapping)
        and manifest.get("nodes") is not None
        and manifest.get("parent_map") is not None
    ):
        raise _NotManifest("it has no nodes or parent_map")
    for section in ("nodes", "sources", "exposures"):
        entries = _object(manifest.get(section), section, optional=section != "nodes")
        for _, raw, where in _entries(entries, section):
            _object(raw, where, optional=False)
            for name in ("unique_id", "name", "resource_type"):
                if name not in raw:
                    raise _NotManifest(f"{where} has no {name}")
                _string(raw[name], f"{where}.{name}", optional=False)
            if raw["resource_type"] in RESOURCE_TYPES:
                _check_node(raw, where)
    for name in ("parent_map", "child_map"):  # child_map: older manifests have none
        for _, uids, where in _entries(_object(manifest.get(name), name), name):
            _expect(uids, isinstance(uids, list | tuple), where, "an array of strings")
            _strings(uids, where)
    metadata = _object(manifest.get("metadata"), "metadata")
    _string(metadata.get("project_name"), "metadata.project_name")


def _check_node(raw: Mapping[str, Any], where: str) -> None:
    for name in _STRING_FIELDS:
        _string(raw.get(name), f"{where}.{name}")
    version = raw.get("version")
    ok = version is None or (isinstance(version, str | int | float) and version is not True)
    _expect(version, ok and version is not False, f"{where}.version", "a string or a number")
    if raw["resource_type"] == "exposure":
        _string(raw.get("type"), f"{where}.type")
    _strings(raw.get("fqn"), f"{where}.fqn")
    objects = {name: _object(raw.get(name), f"{where}.{name}") for name in _OBJECT_FIELDS}
    _object(objects["config"].get("meta"), f"{where}.config.meta")
    owner = objects["owner"]
    _string(owner.get("name"), f"{where}.owner.name")
    email = owner.get("email")  # one email, or several
    if isinstance(email, list | tuple):
        _strings(email, f"{where}.owner.email")
    else:
        _string(email, f"{where}.owner.email")
    test = objects["test_metadata"]
    _string(test.get("name"), f"{where}.test_metadata.name")
    _object(test.get("kwargs"), f"{where}.test_metadata.kwargs")
    _strings(objects["depends_on"].get("nodes"), f"{where}.depends_on.nodes")


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
