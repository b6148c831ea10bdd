"""What a manifest must be to be read: a schema version fanout knows (`schema_version`), the
fields lint reads with their JSON kinds, and parent and child maps without cycles
(`find_cycle`). Each refusal names the field."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fanout.errors import DataError

RESOURCE_TYPES = ("model", "snapshot", "seed", "source", "test", "exposure")

__all__ = ["RESOURCE_TYPES", "SCHEMA_VERSIONS", "ManifestWarning", "find_cycle", "schema_version"]


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
