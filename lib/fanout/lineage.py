"""Lineage of a dbt project read from its `manifest.json`: the graph, lint rules, static grain
inference (which joins fan out) and blast radius. No database and no data: the manifest alone.

Three questions, three entry points:

- `lint(graph)`: does the project keep the layering rules (one source per staging model,
  marts read staging, every model states its grain)?
- `predict(graph)`: what grain does each model's SQL give, given the grains its inputs
  declare or test, and which joins multiply rows (fan out)?
- `downstream(graph, name)`: what would a broken model break (models, tests, dashboards)?

`check(graph)` runs the lint rules and turns the predictions into findings. Every result is
a frozen dataclass of strings, tuples and booleans: `dataclasses.asdict` gives JSON.

The grain inference, on a query whose inputs have known grains:

>>> grain = infer_grain(
...     "select o.order_id, i.quantity from orders as o join items as i on o.order_id = i.order_id",
...     {"orders": [["order_id"]], "items": [["item_id"]]},
... )
>>> grain.key is None, grain.fanouts[0].side, grain.fanouts[0].side_grain
(True, 'i', ('item_id',))
>>> print(grain.reason)
no set of selected columns is unique: i.item_id is not selected
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from fanout.errors import DataError

__all__ = [
    "RULES",
    "FanOut",
    "Finding",
    "Grain",
    "Graph",
    "Impact",
    "InflatedSum",
    "Node",
    "Prediction",
    "check",
    "downstream",
    "infer_grain",
    "layer",
    "lint",
    "load",
    "mart_reads_source",
    "missing_grain",
    "predict",
    "render_tree",
    "source_read_by_many",
    "staging_joins_sources",
    "staging_reads_model",
]

DIALECT = "duckdb"  # how results render SQL; a manifest's SQL is read in its adapter's dialect
RESOURCE_TYPES = ("model", "snapshot", "seed", "source", "test", "exposure")
RAW_TYPES = ("source", "seed")  # raw tables: what a staging model reads, and only it
# Generic tests that make a column set unique, and the argument naming the columns.
GRAIN_TESTS = {
    "unique": "column_name",
    "grain": "columns",  # this project's generic test (warehouse/fix/macros/test_grain.sql)
    "unique_combination_of_columns": "combination_of_columns",  # dbt_utils
    "expect_column_values_to_be_unique": "column_name",  # dbt_expectations
    "expect_compound_columns_to_be_unique": "column_list",  # dbt_expectations
}
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

    @property
    def label(self) -> str:
        """How results name the node: `source_name.table` for a source, the name otherwise."""
        if self.resource_type == "source" and self.source_name:
            return f"{self.source_name}.{self.name}"
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

    @property
    def models(self) -> tuple[Node, ...]:
        """The models, by name."""
        return tuple(
            sorted((n for n in self.nodes.values() if n.resource_type == "model"), key=_by_label)
        )


def _by_label(node: Node) -> tuple[str, str]:
    return (node.label, node.unique_id)


def _column_name(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    name = value.strip().strip('"`').strip()
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


def _tested_grains(nodes: Mapping[str, Any]) -> dict[str, list[tuple[str, ...]]]:
    """Unique column sets per tested node, from generic `unique`/`grain`-like tests."""
    tested: dict[str, list[tuple[str, ...]]] = {}
    for raw in nodes.values():
        if raw.get("resource_type") != "test":
            continue
        metadata = raw.get("test_metadata") or {}
        argument = GRAIN_TESTS.get(metadata.get("name"))
        if argument is None or (raw.get("config") or {}).get("where"):
            continue  # not a grain test, or a conditional one (unique where ...)
        depends = (raw.get("depends_on") or {}).get("nodes") or []
        target = raw.get("attached_node") or (depends[0] if len(depends) == 1 else None)
        value = (metadata.get("kwargs") or {}).get(argument) or raw.get(argument)
        grain = _grain_value([value] if argument == "column_name" else value)
        if target and grain:
            tested.setdefault(target, []).append(grain)
    return tested


def load(manifest: Mapping[str, Any] | str | Path) -> Graph:
    """Read a dbt `manifest.json` (its path or its parsed content) into a graph."""
    where = "the manifest"
    if isinstance(manifest, str | Path):
        path = Path(manifest)
        where = str(path)
        try:
            manifest = json.loads(path.read_bytes())
        except OSError as exc:
            raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
        except ValueError:
            raise DataError(f"{path} is not a dbt manifest: it is not JSON") from None
        except RecursionError:
            raise DataError(f"{path} is not a dbt manifest: it is nested too deeply") from None
    try:
        _check_manifest(manifest)
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
    tested = _tested_grains(raws)
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
            tested_grains=tuple(tested.get(uid, ())),
            compiled_sql=raw.get("compiled_code") or raw.get("compiled_sql"),
            raw_sql=raw.get("raw_code") or raw.get("raw_sql"),
            language=raw.get("language") or "sql",
            exposure_type=raw.get("type") if kind == "exposure" else None,
            owner=_owner(raw.get("owner") or {}),
        )
    metadata = manifest.get("metadata") or {}
    project = metadata.get("project_name") or ""
    return Graph(project, MappingProxyType(nodes), _dialect(metadata.get("adapter_type")))


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
_STRING_FIELDS += ("raw_sql", "language", "attached_node")
_OBJECT_FIELDS = ("config", "meta", "owner", "test_metadata", "depends_on")


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


# ---------------------------------------------------------------------------- lint rules


@dataclass(frozen=True)
class Finding:
    """One thing a rule or the grain inference found wrong with one model (or source)."""

    model: str
    rule: str
    parents: tuple[str, ...]  # the nodes the finding is about: sources read, models joined
    message: str
    suggestion: str


_LAYER_PREFIXES = (
    ("stg_", "staging"),
    ("int_", "intermediate"),
    ("fct_", "mart"),
    ("dim_", "mart"),
)
_LAYER_FOLDERS = {
    "staging": "staging",
    "intermediate": "intermediate",
    "marts": "mart",
    "mart": "mart",
}


def layer(node: Node) -> str | None:
    """A model's layer by its name prefix or, failing that, its folder; None if neither says.

    >>> layer(Node("model.shop.stg_orders", "stg_orders", "model"))
    'staging'
    >>> layer(Node("model.shop.orders", "orders", "model", folders=("marts", "finance")))
    'mart'
    >>> layer(Node("source.shop.raw.orders", "orders", "source")) is None
    True
    """
    if node.resource_type != "model":
        return None
    for prefix, name in _LAYER_PREFIXES:
        if node.name.startswith(prefix):
            return name
    for folder in node.folders:
        if folder in _LAYER_FOLDERS:
            return _LAYER_FOLDERS[folder]
    return None


def _in_layer(graph: Graph, name: str) -> Iterator[Node]:
    return (m for m in graph.models if layer(m) == name)


def _raw_parents(graph: Graph, node: Node) -> tuple[Node, ...]:
    return tuple(p for p in graph.parents(node) if p.resource_type in RAW_TYPES)


def _labels(nodes: Iterable[Node]) -> tuple[str, ...]:
    return tuple(sorted(n.label for n in nodes))


def staging_joins_sources(graph: Graph) -> Iterator[Finding]:
    """A staging model reads more than one source table."""
    for model in _in_layer(graph, "staging"):
        raw = _labels(_raw_parents(graph, model))
        if len(raw) > 1:
            yield Finding(
                model.label,
                "staging-joins-sources",
                raw,
                f"staging model reads {len(raw)} source tables: {', '.join(raw)}",
                "keep one source table per staging model; join in an intermediate model or a mart",
            )


def staging_reads_model(graph: Graph) -> Iterator[Finding]:
    """A staging model reads another model (staging reads source tables only)."""
    for model in _in_layer(graph, "staging"):
        models = _labels(p for p in graph.parents(model) if p.resource_type == "model")
        if models:
            yield Finding(
                model.label,
                "staging-reads-model",
                models,
                f"staging model reads {'models' if len(models) > 1 else 'model'} "
                f"{', '.join(models)}",
                "read the source table, or move this model to intermediate/ and rename it",
            )


def source_read_by_many(graph: Graph) -> Iterator[Finding]:
    """A source table is read by more than one model; the readers besides its one staging
    model (the staging model reading it and nothing else) are flagged."""
    for raw in sorted(graph.nodes.values(), key=_by_label):
        if raw.resource_type not in RAW_TYPES:
            continue
        readers = sorted(
            (c for c in graph.children(raw) if c.resource_type == "model"), key=_by_label
        )
        if len(readers) < 2:
            continue
        owners = [
            r
            for r in readers
            if layer(r) == "staging" and _raw_parents(graph, r) == (raw,) and not r.parents[1:]
        ]
        owner = owners[0] if len(owners) == 1 else None
        for reader in readers:
            if reader is owner:
                continue
            others = ", ".join(r.label for r in readers if r is not reader)
            verb = "reads" if len(readers) == 2 else "read"
            yield Finding(
                reader.label,
                "source-read-by-many",
                (raw.label,),
                f"reads {raw.label}, which {others} also {verb}",
                f"read {owner.label} instead" if owner else f"give {raw.label} one staging model",
            )


def mart_reads_source(graph: Graph) -> Iterator[Finding]:
    """A mart reads a source table directly instead of its staging model."""
    for model in _in_layer(graph, "mart"):
        raw = _labels(_raw_parents(graph, model))
        if raw:
            yield Finding(
                model.label,
                "mart-reads-source",
                raw,
                f"mart reads source {'tables' if len(raw) > 1 else 'table'} {', '.join(raw)}",
                "read the staging model of each source table instead",
            )


def missing_grain(graph: Graph) -> Iterator[Finding]:
    """A model states no grain: no `meta: {grain: [...]}` and no unique or grain test."""
    for model in graph.models:
        if not model.grains:
            yield Finding(
                model.label,
                "missing-grain",
                (),
                "no declared or tested grain",
                "declare it (config: {meta: {grain: [...]}}) and test it (a grain or unique test)",
            )


RULES: tuple[Callable[[Graph], Iterable[Finding]], ...] = (
    staging_joins_sources,
    staging_reads_model,
    source_read_by_many,
    mart_reads_source,
    missing_grain,
)


def _sorted_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (f.model, f.rule, f.parents, f.message)))


def lint(
    graph: Graph, rules: Sequence[Callable[[Graph], Iterable[Finding]]] = RULES
) -> tuple[Finding, ...]:
    """Every finding of the given rules, by model and rule."""
    return _sorted_findings(f for rule in rules for f in rule(graph))


# ---------------------------------------------------------------------------- grain results


@dataclass(frozen=True)
class FanOut:
    """A join that can match a row with several rows of its other side."""

    model: str
    join: str  # the join condition, as SQL
    side: str  # the alias of the side with several rows per join key
    relation: str  # what that side reads: a node label, or a CTE's name
    side_grain: tuple[str, ...]  # that side's grain, which the join columns do not cover
    join_columns: tuple[str, ...]  # that side's columns the join condition binds
    many_to_many: bool  # the other side is not unique on its join columns either


@dataclass(frozen=True)
class InflatedSum:
    """A sum over rows a fan-out repeated: it adds each repeated value once per copy."""

    model: str
    expression: str
    column: str
    fanout: FanOut


@dataclass(frozen=True)
class Grain:
    """What the SQL of a query gives: a unique key of its output, or why it is unknown."""

    key: tuple[str, ...] | None  # the first minimal unique key; None if unknown
    keys: tuple[tuple[str, ...], ...] = ()  # every minimal unique key found
    reason: str | None = None  # why no key is known
    fanouts: tuple[FanOut, ...] = ()  # fan-out joins whose extra rows reach the output
    sums: tuple[InflatedSum, ...] = ()


@dataclass(frozen=True)
class Prediction:
    """A model's inferred grain against the grains it declares and tests."""

    model: str
    status: str  # fan-out, mismatch, sum-over-fan-out, unknown or ok
    grain: tuple[str, ...] | None
    reason: str | None
    declared: tuple[tuple[str, ...], ...]
    fanouts: tuple[FanOut, ...] = ()
    sums: tuple[InflatedSum, ...] = ()
    intended: bool = False  # the fan-outs give the declared grain: a deliberate change

    def findings(self) -> tuple[Finding, ...]:
        """The prediction as findings: unintended fan-outs, a grain mismatch, inflated sums."""
        found = []
        stated = " or ".join(_cols(d) for d in self.declared)
        for f in () if self.intended else self.fanouts:
            declared = f"; the declared grain {stated} does not hold" if stated else ""
            found.append(
                Finding(
                    self.model,
                    "fan-out",
                    (f.relation,),
                    f"join on {f.join} fans out: {f.side} ({f.relation}) is not known to be "
                    f"unique on {_cols(f.join_columns)}, its grain is {_cols(f.side_grain)}"
                    f"{declared}",
                    f"aggregate {f.relation} to one row per {_cols(f.join_columns)} before the "
                    "join, or declare the new grain",
                )
            )
        if self.status == "mismatch":
            found.append(
                Finding(
                    self.model,
                    "grain-mismatch",
                    (),
                    f"declares grain {stated} but its SQL gives one row per {_cols(self.grain)}",
                    "fix the SQL or the declared grain",
                )
            )
        for s in self.sums:
            found.append(
                Finding(
                    self.model,
                    "sum-over-fan-out",
                    (s.fanout.model,),
                    f"{s.column} = {s.expression} adds each value once per row of the fan-out in "
                    f"{s.fanout.model} (join on {s.fanout.join})",
                    "sum before the join, or fix the fan-out upstream",
                )
            )
        return tuple(found)


def _cols(columns: Sequence[str] | None) -> str:
    """A column list as text.

    >>> _cols(("order_id", "line_number")), _cols(())
    ('(order_id, line_number)', '()')
    """
    return f"({', '.join(columns or ())})"


# ---------------------------------------------------------------------------- grain algebra
#
# Inside a query, a column is an attribute (alias, column); ("t", "*") stands for every
# column of t, ("", name) for an output column, ("#", sql) for a grouped expression. What is
# known about the rows: unique keys (attribute tuples) and functional dependencies (a set of
# attributes determines another set). A fan-out join leaves the columns of the rows it
# repeats marked with the key of the repeating side (the multiplier).
#
# The rules. A table's keys are the grains it declares or tests (a model's: its inferred
# grain if known). `a join b on a.k = b.k` keeps a's keys if b.k (with constants the
# condition fixes) covers a key of b; otherwise each key becomes a's key plus b's and the
# join is a fan-out, whose side is b. Left joins fan out like inner joins; outer joins keep
# only the equalities that hold on rows padded with nulls. GROUP BY, DISTINCT (ON),
# `qualify row_number() over (partition by k) = 1` and a filter `rn = 1` on such a column
# leave one row per group: a fan-out the group does not keep is folded back, and a sum of
# a value the fan-out repeated is reported. A union all is keyed when a constant column
# tells its branches apart. Casts keep a column's values apart except casts to a date or a
# time under a new name. The output grain is the smallest set of selected columns that
# determines a key. Unknown, never safe: a table with no stated grain, SQL that does not
# parse, a recursive CTE, unnest, values, lateral and positional joins, rollup and cube,
# PIVOT and UNPIVOT, and a set-returning function (unnest, explode, generate_series, ...)
# in the select list or a lateral view: each can turn one row into several. Only a
# DISTINCT (ON), applied after them, gives such rows a key again.

Attr = tuple[str, str]
FD = tuple[frozenset, frozenset]
_OUT = ""
_EXPR = "#"


def _has(known: set, attr: Attr) -> bool:
    return attr in known or (attr[0], "*") in known


def _covers(known: set, attrs: Iterable[Attr]) -> bool:
    return all(_has(known, a) for a in attrs)


def _closure(attrs: Iterable[Attr], fds: Sequence[FD]) -> set:
    """Every attribute the given ones determine.

    >>> fds = [(frozenset({("o", "id")}), frozenset({("o", "*")}))]
    >>> sorted(_closure({("o", "id")}, fds))
    [('o', '*'), ('o', 'id')]
    >>> _has(_closure({("o", "id")}, fds), ("o", "amount"))
    True
    """
    known = set(attrs)
    changed = True
    while changed:
        changed = False
        for lhs, rhs in fds:
            if not rhs <= known and _covers(known, lhs):
                known |= rhs
                changed = True
    return known


def _show(attr: Attr) -> str:
    return attr[1] if attr[0] in (_OUT, _EXPR) else f"{attr[0]}.{attr[1]}"


@dataclass(frozen=True)
class _Repeat:
    """Values repeated by a fan-out: once per value of `multiplier` (None: not selected),
    for each row of the original rows' key `rowkey`."""

    multiplier: tuple | None
    rowkey: tuple | None
    fanout: FanOut


@dataclass(frozen=True)
class _Shape:
    """What is known about a relation's rows, in its own column names."""

    label: str
    columns: tuple[str, ...] | None = None  # None: not known (select * from a source)
    keys: tuple[tuple[str, ...], ...] = ()
    fds: tuple[FD, ...] = ()
    repeated: Mapping[str, _Repeat] = field(default_factory=dict)  # "*": every column
    fans: tuple[tuple[FanOut, tuple[str, ...] | None], ...] = ()
    unknown: str | None = None
    row_numbers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)  # column -> its one value

    def unique(self, columns: Sequence[str]) -> bool | None:
        """Whether these columns are unique in the rows; None if no key is known."""
        if not self.keys:
            return None
        known = _closure({(_OUT, c) for c in columns}, self._fds(_OUT))
        return any(_covers(known, ((_OUT, c) for c in key)) for key in self.keys)

    def _fds(self, alias: str) -> list[FD]:
        fds = [
            (frozenset((alias, c) for c in lhs), frozenset((alias, c) for c in rhs))
            for lhs, rhs in self.fds
        ]
        everything = frozenset({(alias, "*")})
        return fds + [(frozenset((alias, c) for c in key), everything) for key in self.keys]


def _unknown(label: str, reason: str) -> _Shape:
    return _Shape(label, unknown=reason)


class _Scope:
    """The rows of one SELECT while its FROM, joins and WHERE are read."""

    def __init__(self, model: str):
        self.model = model
        self.shapes: dict[str, _Shape] = {}
        self.keys: list[tuple[Attr, ...]] = []
        self.fds: list[FD] = []
        self.repeated: dict[Attr, _Repeat] = {}
        self.fans: list[tuple[FanOut, tuple[Attr, ...] | None]] = []
        self.unknown: str | None = None

    def closure(self, attrs: Iterable[Attr]) -> set:
        return _closure(attrs, self.fds)

    def repeat_of(self, attr: Attr) -> _Repeat | None:
        return self.repeated.get(attr) or self.repeated.get((attr[0], "*"))

    def _take(self, alias: str, shape: _Shape) -> None:
        def q(cols):
            return None if cols is None else tuple((alias, c) for c in cols)

        self.shapes[alias] = shape
        self.fds += shape._fds(alias)
        for column, r in shape.repeated.items():
            self.repeated[(alias, column)] = _Repeat(q(r.multiplier), q(r.rowkey), r.fanout)
        self.fans += [(f, q(m)) for f, m in shape.fans]

    def start(self, alias: str, shape: _Shape) -> None:
        self._take(alias, shape)
        self.keys = [tuple((alias, c) for c in key) for key in shape.keys]
        if not self.keys:
            self.unknown = shape.unknown or f"{shape.label} has no known grain"

    def one_row(self) -> None:
        self.keys = [()]

    def multiply(self, reason: str) -> None:
        """Each row can become several (a set-returning function): no key is left."""
        if self.keys:
            self.unknown = reason
        self.keys = []

    def resolve(self, column: exp.Column) -> Attr | None:
        """The attribute a column reference names, if it can be told."""
        name = column.name.lower()
        table = column.table.lower()
        if table:
            return (table, name) if table in self.shapes else None
        return self.resolve_name(name, self.shapes)

    def resolve_name(self, name: str, aliases: Iterable[str]) -> Attr | None:
        aliases = list(aliases)
        having = [
            a for a in aliases if (self.shapes[a].columns or ()) and name in self.shapes[a].columns
        ]
        if len(having) == 1:
            return (having[0], name)
        if not having:
            unknown = [a for a in aliases if self.shapes[a].columns is None]
            if len(unknown) == 1:
                return (unknown[0], name)
        return None

    def attrs_of(self, node: exp.Expression) -> set | None:
        """The attributes an expression reads; None if one cannot be resolved."""
        attrs = set()
        for column in _outside(node):
            if isinstance(column, exp.Subquery | exp.Select | exp.Window):
                return None
            if isinstance(column, exp.Column) and not isinstance(column.this, exp.Star):
                attr = self.resolve(column)
                if attr is None:
                    return None
                attrs.add(attr)
        return attrs

    def _binding(self, conjunct: exp.Expression, alias: str, left: set) -> tuple | None:
        """(left attributes, attribute of `alias`, is a plain equality) for a condition that
        fixes one column of `alias` from the left side or a constant; None otherwise."""
        if isinstance(conjunct, exp.Is) and isinstance(conjunct.expression, exp.Null):
            pairs = [(conjunct.expression, conjunct.this)]
        elif isinstance(conjunct, exp.EQ):
            pairs = [(conjunct.this, conjunct.expression), (conjunct.expression, conjunct.this)]
        else:
            return None
        for other, mine in pairs:
            mine = _strip(mine)
            if not isinstance(mine, exp.Column):
                continue
            attr = self.resolve(mine)
            if attr is None or attr[0] != alias:
                continue
            attrs = self.attrs_of(other)
            if attrs is not None and all(a[0] in left for a in attrs) and _deterministic(other):
                plain = isinstance(_strip(other), exp.Column)
                return frozenset(attrs), attr, plain
        return None

    def join(
        self,
        alias: str,
        shape: _Shape,
        conjuncts: list,
        condition: str,
        side: str = "",
        at_most_one: bool = False,
    ) -> None:
        """Join `shape` as `alias`, bound to the rows so far by `conjuncts` (equalities).

        `side` is LEFT, RIGHT or FULL for an outer join: rows padded with nulls keep the
        fan-out rule of an inner join but not every equality. `at_most_one`: the join finds
        at most one row whatever the grain (an asof join).
        """
        left = set(self.shapes)
        before = list(self.keys)
        self._take(alias, shape)
        bindings = [b for c in conjuncts if (b := self._binding(c, alias, left))]
        bound = {attr for _, attr, _ in bindings}
        lhs_all = frozenset().union(*(lhs for lhs, _, _ in bindings))
        # which equalities hold on every output row: the padded side's values can be null
        forward = side in ("", "LEFT")  # left columns determine the joined row's columns
        backward = side in ("", "RIGHT")  # and the joined row's key columns the left ones
        for lhs, attr, plain in bindings:
            if forward and (lhs or not side):  # a constant binds the rows of an inner join
                self.fds.append((lhs, frozenset({attr})))
            if backward and plain and lhs:
                self.fds.append((frozenset({attr}), lhs))
        columns = tuple(sorted(a[1] for a in bound))
        if at_most_one and forward:
            self.fds.append((frozenset((a, "*") for a in left), frozenset({(alias, "*")})))
            return
        if not shape.keys:
            self.keys = []
            self.unknown = self.unknown or (
                f"cannot tell whether {alias} ({shape.label}) is unique on {_cols(columns)}: "
                + (shape.unknown or "its grain is not known")
            )
            return
        right_keys = [tuple((alias, c) for c in key) for key in shape.keys]
        reach = _closure(bound, shape._fds(alias))
        if at_most_one or any(_covers(reach, key) for key in right_keys):  # many-to-one
            if forward:
                self.fds.append((lhs_all, frozenset({(alias, "*")})))
            else:  # the unmatched rows of `alias` come padded: the key needs both sides
                self.keys = [k + rk for k in before for rk in right_keys]
            return
        fanout = FanOut(
            model=self.model,
            join=condition,
            side=alias,
            relation=shape.label,
            side_grain=shape.keys[0],
            join_columns=columns,
            many_to_many=bool(before)
            and not any(_covers(self.closure(lhs_all), k) for k in before),
        )
        multiplier = right_keys[0]
        rowkey = before[0] if before else None
        for attr, r in list(self.repeated.items()):
            if attr[0] in left:
                merged = None if r.multiplier is None else r.multiplier + multiplier
                self.repeated[attr] = _Repeat(merged, r.rowkey, r.fanout)
        for a in left:
            if (a, "*") not in self.repeated:
                self.repeated[(a, "*")] = _Repeat(multiplier, rowkey, fanout)
        self.fans.append((fanout, multiplier))
        self.keys = [k + rk for k in before for rk in right_keys]

    def where(self, conjuncts: list) -> None:
        """Equalities in WHERE: a column equal to a constant or to another column."""
        for c in conjuncts:
            if isinstance(c, exp.Is) and isinstance(c.expression, exp.Null):
                c = exp.EQ(this=c.this, expression=exp.Null())
            if not isinstance(c, exp.EQ):
                continue
            one, two = _strip(c.this), _strip(c.expression)
            if isinstance(two, exp.Column) and not isinstance(one, exp.Column):
                one, two = two, one
            if not isinstance(one, exp.Column) or (attr := self.resolve(one)) is None:
                continue
            if _is_constant(two):
                self.fds.append((frozenset(), frozenset({attr})))
                if _literal_int(two) == 1:
                    self._row_number_filter(attr)
            elif isinstance(two, exp.Column) and (other := self.resolve(two)):
                self.fds += [
                    (frozenset({attr}), frozenset({other})),
                    (frozenset({other}), frozenset({attr})),
                ]

    def _row_number_filter(self, attr: Attr) -> None:
        partition = self.shapes[attr[0]].row_numbers.get(attr[1])
        if partition is not None:
            self.collapse(tuple((attr[0], c) for c in partition), keep_keys=True)

    def collapse(self, group: tuple[Attr, ...], keep_keys: bool = False) -> None:
        """The rows become one per value of `group`: fan-outs and repetitions whose
        multiplier the group does not determine are absorbed."""
        known = self.closure(group)
        self.fans = [(f, m) for f, m in self.fans if m is not None and _covers(known, m)]
        self.repeated = {
            a: r
            for a, r in self.repeated.items()
            if r.multiplier is not None and _covers(known, r.multiplier)
        }
        self.keys = [group, *self.keys] if keep_keys else [group]
        self.unknown = None


def _subtotals(q: exp.Select) -> bool:
    """Whether the GROUP BY adds subtotal rows (rollup, cube, grouping sets)."""
    group = q.args.get("group")
    kinds = exp.Rollup | exp.Cube | exp.GroupingSets
    return group is not None and (
        any(isinstance(g, kinds) for g in group.expressions)
        or any(group.args.get(k) for k in ("rollup", "cube", "grouping_sets"))
    )


def _arg(node: exp.Expression, name: str) -> Any:
    """An argument of a node under its name in this or older sqlglot (`from_` or `from`)."""
    value = node.args.get(f"{name}_")
    return value if value is not None else node.args.get(name)


def _outside(node: exp.Expression) -> Iterator[exp.Expression]:
    """The node and its descendants, not entering windows and subqueries."""
    yield node
    if isinstance(node, exp.Window | exp.Subquery | exp.Select):
        return
    for child in node.iter_expressions():
        yield from _outside(child)


_LOSSY = ("date", "time")  # a cast to these can map several values to one


def _strip(node: exp.Expression) -> exp.Expression:
    """The expression under aliases, parentheses and casts (a cast column keeps its grain),
    stopping at a cast to a date or time, which can map several values to one.

    >>> _strip(sqlglot.parse_one("cast(order_id as bigint) as id")).sql()
    'order_id'
    >>> _strip(sqlglot.parse_one("cast(ordered_at as date)")).sql()
    'CAST(ordered_at AS DATE)'
    """
    while isinstance(node, exp.Cast | exp.Paren | exp.Alias):
        if isinstance(node, exp.Cast) and node.to.is_type(*_LOSSY):
            break
        node = node.this
    return node


def _conjuncts(node: exp.Expression | None) -> list:
    if node is None:
        return []
    node = node.unnest() if isinstance(node, exp.Paren) else node
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def _is_constant(node: exp.Expression) -> bool:
    return isinstance(_strip(node), exp.Literal | exp.Boolean | exp.Null)


def _literal_int(node: exp.Expression) -> int | None:
    node = _strip(node)
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return int(node.this)
    return None


def _same_name(node: exp.Expression, name: str) -> bool:
    node = _strip(node)
    return isinstance(node, exp.Column) and node.name.lower() == name


def _literal_value(node: exp.Expression) -> str | None:
    node = _strip(node)
    return node.sql(dialect=DIALECT) if _is_constant(node) else None


def _aggregates(node: exp.Expression) -> bool:
    return any(isinstance(n, exp.AggFunc) for n in _outside(node))


_RANDOM = {"rand", "random", "uuid", "gen_random_uuid", "nextval", "setseed"}


def _deterministic(node: exp.Expression) -> bool:
    """Whether the expression's value is a function of the columns it reads (not random, not
    a window, not one of the rows a set-returning function gives)."""
    if _set_returning(node) is not None:
        return False
    for n in _outside(node):
        if isinstance(n, exp.Window):
            return False
        if isinstance(n, exp.Func):
            name = n.name if isinstance(n, exp.Anonymous) else type(n).__name__
            if name.lower() in _RANDOM:
                return False
    return True


# Set-returning functions: in a select list each can give several rows per row. sqlglot
# parses most into these classes (unnest, explode, posexplode, inline, stack, range and
# generate_series, which in some dialects return a list instead: unknown is never unsafe);
# the rest stay anonymous functions, known by name.
_SET_RETURNING = (exp.UDTF, exp.GenerateSeries)
_SET_RETURNING_NAMES = frozenset({
    "explode", "explode_outer", "posexplode", "posexplode_outer", "inline", "inline_outer",
    "stack", "unnest", "flatten", "range", "generate_series", "generate_subscripts",
    "json_each", "json_each_text", "jsonb_each", "jsonb_each_text", "json_array_elements",
    "json_array_elements_text", "jsonb_array_elements", "jsonb_array_elements_text",
    "json_object_keys", "jsonb_object_keys", "json_populate_recordset",
    "jsonb_populate_recordset", "json_to_recordset", "jsonb_to_recordset", "jsonb_path_query",
    "regexp_matches", "regexp_split_to_table", "string_to_table",
})  # fmt: skip


def _set_returning(node: exp.Expression) -> exp.Expression | None:
    """The first set-returning function an expression calls, outside subqueries and windows.

    >>> _set_returning(sqlglot.parse_one("1 + unnest(tags)", read="duckdb")).sql()
    'EXPLODE(tags)'
    >>> _set_returning(sqlglot.parse_one("'a' in unnest(tags)", read="bigquery")) is None
    True
    """
    for n in _outside(node):
        if isinstance(n, exp.Unnest) and isinstance(n.parent, exp.In):
            continue  # x in unnest(array): a membership test
        if isinstance(n, _SET_RETURNING):
            return n
        if isinstance(n, exp.Anonymous) and n.name.lower() in _SET_RETURNING_NAMES:
            return n
    return None


def _sql(node: exp.Expression) -> str:
    return node.sql(dialect=DIALECT, normalize_functions="lower")


def _output_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Alias):
        return node.alias.lower()
    if isinstance(node, exp.Column):
        return node.name.lower()
    return _sql(node).lower()


class _Cte:
    """A CTE, read on first use (a CTE nothing reads reports nothing)."""

    def __init__(self, infer: _Infer, query: exp.Expression, env: dict, name: str):
        self.infer, self.query, self.env, self.name = infer, query, env, name
        self.shape: _Shape | None = None

    def get(self) -> _Shape:
        if self.shape is None:
            self.shape = _unknown(self.name, f"CTE {self.name} reads itself")
            self.shape = self.infer.query(self.query, self.env, self.name)
        return self.shape


class _Infer:
    """Infers the grain of one query; `lookup` gives the shape of a table it reads."""

    def __init__(self, model: str, lookup: Callable[[exp.Table], _Shape], dialect: str = DIALECT):
        self.model = model
        self.lookup = lookup
        self.dialect = dialect  # the SQL's: reasons name its functions as it spells them
        self.sums: list[InflatedSum] = []

    def shown(self, node: exp.Expression) -> str:
        """An expression as the SQL's dialect writes it, cut at 80 characters."""
        try:
            text = node.sql(dialect=self.dialect, normalize_functions="lower")
        except SqlglotError:
            text = _sql(node)
        return text if len(text) <= 80 else text[:77] + "..."

    def query(self, q: exp.Expression, env: dict, label: str) -> _Shape:
        with_ = _arg(q, "with")
        if with_ is not None:
            if with_.args.get("recursive"):
                return _unknown(label, "a recursive CTE")
            env = dict(env)
            for cte in with_.expressions:
                name = cte.alias.lower()
                env[name] = _Cte(self, cte.this, dict(env), name)
        if isinstance(q, exp.Subquery):
            return self.query(q.this, env, label)
        if isinstance(q, exp.Select):
            return self.select(q, env, label)
        if isinstance(q, exp.SetOperation):
            return self.setop(q, env, label)
        if isinstance(q, exp.Pivot):
            kind = "an UNPIVOT" if q.args.get("unpivot") else "a PIVOT"
            return _unknown(label, f"{kind} statement, whose grain is not inferred")
        return _unknown(label, f"cannot read a {q.key} statement")

    def relation(self, node: exp.Expression, env: dict) -> tuple[str, _Shape]:
        pivots = node.args.get("pivots") if isinstance(node, exp.Table | exp.Subquery) else None
        if pivots:
            named = [p.alias for p in pivots if p.alias]
            alias = (named[-1] if named else node.alias or node.name or "pivot").lower()
            kind = "an UNPIVOT" if any(p.args.get("unpivot") for p in pivots) else "a PIVOT"
            shown = node.name if isinstance(node, exp.Table) and node.name else "a subquery"
            return alias, _unknown(alias, f"{kind} of {shown}, whose grain is not inferred")
        if isinstance(node, exp.Subquery):
            alias = node.alias.lower() or "subquery"
            return alias, self.query(node.this, env, alias)
        if isinstance(node, exp.Table):
            if isinstance(node.this, exp.Func):
                alias = node.alias.lower() or type(node.this).__name__.lower()
                return alias, self.lookup(node)
            name = node.name.lower()
            alias = node.alias.lower() or name
            if not node.args.get("db") and name in env:
                return alias, env[name].get()
            return alias, self.lookup(node)
        alias = node.alias.lower() if hasattr(node, "alias") and node.alias else node.key
        return alias, _unknown(alias, f"reads {_sql(node)[:60]}, whose grain is not known")

    def select(self, q: exp.Select, env: dict, label: str) -> _Shape:
        scope = _Scope(self.model)
        source = _arg(q, "from")
        where = _conjuncts(q.args["where"].this) if q.args.get("where") else []
        joins = q.args.get("joins") or []
        origin = label
        if source is None:
            scope.one_row()
        else:
            alias, shape = self.relation(source.this, env)
            scope.start(alias, shape)
            if not joins and not q.args.get("group") and not q.args.get("distinct"):
                origin = shape.label
        for join in joins:
            if join.kind in ("SEMI", "ANTI"):
                continue
            alias, shape = self.relation(join.this, env)
            on, using = join.args.get("on"), join.args.get("using")
            method = (join.method or "").upper()
            if method == "NATURAL":
                left = [scope.shapes[a].columns for a in scope.shapes]
                if shape.columns is None or any(c is None for c in left):
                    shape = _unknown(shape.label, "a natural join on columns that are not known")
                else:
                    common = [c for c in shape.columns if any(c in cols for cols in left)]
                    using = [exp.to_identifier(c) for c in common]
            elif method == "POSITIONAL":
                shape = _unknown(shape.label, "a positional join")
            if using:
                left = [a for a in scope.shapes if a != alias]
                conjuncts = []
                for ident in using:
                    name = ident.name.lower()
                    side = scope.resolve_name(name, left) if left else None
                    if side is not None:
                        conjuncts.append(exp.column(name, side[0]).eq(exp.column(name, alias)))
                condition = f"using ({', '.join(i.name for i in using)})"
            elif on is not None:
                conjuncts, condition = _conjuncts(on), _sql(on)
            elif join.kind != "CROSS":  # a comma join: WHERE says how
                conjuncts, condition = where, "where " + " and ".join(_sql(c) for c in where)
            else:
                conjuncts, condition = [], "cross join"
            side = (join.side or "").upper()
            scope.join(alias, shape, conjuncts, condition, side, at_most_one=method == "ASOF")
        for lateral in q.args.get("laterals") or []:  # Spark's lateral view explode(...)
            alias = lateral.alias.lower() or "lateral"
            columns = tuple(c.lower() for c in lateral.alias_column_names)
            scope._take(alias, _Shape(alias, columns=columns or None))
            scope.multiply(f"lateral view {self.shown(lateral.this)} can give several rows per row")
        scope.where(where)
        outputs, stars = self.expand(q, scope)
        qualify = q.args.get("qualify")
        if qualify is not None:
            self.qualify(_conjuncts(qualify.this), scope)
        group = self.group(q, scope, outputs, stars)
        if group is not None:
            self.check_sums(outputs, scope, group)
            scope.collapse(group)
            if _subtotals(q):
                scope.keys, scope.unknown = [], "group by rollup, cube or grouping sets"
        # A set-returning function in the select list runs after grouping, windows and
        # qualify, and before DISTINCT (ON), which alone still leaves a key.
        srf = next((f for e in q.expressions if (f := _set_returning(e)) is not None), None)
        if srf is not None and (q.args.get("distinct") is None or q.args.get("group")):
            scope.multiply(f"{self.shown(srf)} in the select list can give several rows per row")
        shape = self.project(scope, outputs, stars, group, origin)
        if srf is not None:  # row numbers were given before the rows multiplied
            shape = replace(shape, row_numbers={})
        return shape

    def expand(self, q: exp.Select, scope: _Scope) -> tuple[list, list]:
        """The output columns as (name, expression or attribute), stars expanded where the
        columns are known; the aliases whose unknown columns a star passes through."""
        outputs: list = []
        stars: list[str] = []
        for item in q.expressions:
            star = item if isinstance(item, exp.Star) else None
            aliases = list(scope.shapes)
            if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
                star, aliases = item.this, [item.table.lower()]
            if star is None:
                outputs.append((_output_name(item), item))
                continue
            skip = {c.name.lower() for c in (_arg(star, "except") or [])}
            for alias in aliases:
                shape = scope.shapes.get(alias)
                if shape is None:
                    continue
                if shape.columns is None:
                    stars.append(alias)
                    continue
                for column in shape.columns:
                    if column not in skip:
                        outputs.append((column, (alias, column)))
        return outputs, stars

    def qualify(self, conjuncts: list, scope: _Scope) -> None:
        """`qualify row_number() over (partition by k ...) = 1` leaves one row per k."""
        for c in conjuncts:
            if not isinstance(c, exp.EQ | exp.LTE) or _literal_int(c.expression) != 1:
                continue
            window = c.this
            if isinstance(window, exp.Window) and isinstance(window.this, exp.RowNumber):
                attrs = [scope.attrs_of(p) for p in window.args.get("partition_by") or []]
                if all(a is not None and len(a) == 1 for a in attrs):
                    scope.collapse(tuple(a.pop() for a in attrs), keep_keys=True)

    def _group_item(self, node: exp.Expression, q: exp.Select, scope: _Scope) -> exp.Expression:
        """A GROUP BY item as an expression: ordinals and output aliases resolved."""
        position = _literal_int(node)
        if position is not None and 0 < position <= len(q.expressions):
            return q.expressions[position - 1].unalias()
        if isinstance(node, exp.Column) and not node.table and scope.resolve(node) is None:
            for item in q.expressions:
                if isinstance(item, exp.Alias) and item.alias.lower() == node.name.lower():
                    return item.unalias()
        return node

    def _attr(self, node: exp.Expression, scope: _Scope) -> Attr:
        """An attribute for an expression: its column, or a new one it determines."""
        core = _strip(node)
        if isinstance(core, exp.Column) and (attr := scope.resolve(core)):
            return attr
        attr = (_EXPR, _sql(core))
        attrs = scope.attrs_of(core)
        if attrs is not None and _deterministic(core):
            scope.fds.append((frozenset(attrs), frozenset({attr})))
        return attr

    def group(
        self, q: exp.Select, scope: _Scope, outputs: list, stars: list
    ) -> tuple[Attr, ...] | None:
        """The attributes the rows are grouped by (GROUP BY, DISTINCT, an aggregate alone)."""
        group = q.args.get("group")
        distinct = q.args.get("distinct")
        if group is not None:
            if group.args.get("all"):
                items = [e.unalias() for e in q.expressions if not _aggregates(e)]
            else:
                items = [self._group_item(g, q, scope) for g in group.expressions]
        elif distinct is not None:
            on = distinct.args.get("on")
            if on is not None:
                items = list(on.expressions) if isinstance(on, exp.Tuple) else [on]
            else:
                attrs = [e if isinstance(e, tuple) else self._attr(e, scope) for _, e in outputs]
                return tuple(dict.fromkeys(attrs + [(a, "*") for a in stars]))
        elif any(_aggregates(e) for e in q.expressions):
            items = []
        else:
            return None
        return tuple(dict.fromkeys(self._attr(i, scope) for i in items))

    def check_sums(self, outputs: list, scope: _Scope, group: tuple[Attr, ...]) -> None:
        """Report sums of values a fan-out repeated within a group."""
        for name, node in outputs:
            if isinstance(node, tuple):
                continue
            for total in _outside(node):
                if not isinstance(total, exp.Sum) or isinstance(total.this, exp.Distinct):
                    continue  # sum(distinct x) is not inflated by copies
                for column in total.find_all(exp.Column):
                    attr = scope.resolve(column)
                    r = scope.repeat_of(attr) if attr else None
                    if r is None:
                        continue
                    base = set(group) | set(r.rowkey or ())
                    if r.multiplier is not None and _covers(scope.closure(base), r.multiplier):
                        continue
                    found = InflatedSum(self.model, _sql(total), name, r.fanout)
                    if found not in self.sums:
                        self.sums.append(found)
                    break

    def project(
        self, scope: _Scope, outputs: list, stars: list, group: tuple | None, origin: str
    ) -> _Shape:
        fds = list(scope.fds)
        out: list[Attr] = []
        renames: dict[Attr, Attr] = {}
        reads: dict[Attr, set] = {}
        row_numbers: dict[str, list] = {}
        constants: dict[str, str] = {}

        def constant(attr: Attr) -> str | None:
            shape = scope.shapes.get(attr[0])
            return shape.constants.get(attr[1]) if shape is not None else None

        def link(o: Attr, attr: Attr) -> None:
            fds.extend([(frozenset({o}), frozenset({attr})), (frozenset({attr}), frozenset({o}))])
            renames.setdefault(attr, o)

        group_sql = {a[1]: a for a in group or () if a[0] == _EXPR}
        for name, node in outputs:
            o = (_OUT, name)
            if o in out:
                continue  # a repeated name: the first one wins
            out.append(o)
            if isinstance(node, tuple):
                link(o, node)
                reads[o] = {node}
                if (value := constant(node)) is not None:
                    constants[name] = value
                continue
            core = _strip(node)
            if isinstance(core, exp.Cast) and _same_name(core.this, name):
                core = _strip(core.this)  # cast(d as date) as d: d was a date already
            attr = scope.resolve(core) if isinstance(core, exp.Column) else None
            if attr is None and _sql(core) in group_sql:
                attr = group_sql[_sql(core)]
            if attr is not None:
                link(o, attr)
                reads[o] = {attr}
                if (value := constant(attr)) is not None:
                    constants[name] = value
                continue
            if (value := _literal_value(core)) is not None:
                constants[name] = value
            attrs = scope.attrs_of(core)
            reads[o] = attrs or set()
            if group is not None and _set_returning(core) is None:
                fds.append((frozenset(group), frozenset({o})))
            if isinstance(core, exp.Window) and isinstance(core.this, exp.RowNumber):
                parts = [scope.attrs_of(p) for p in core.args.get("partition_by") or []]
                if all(p is not None and len(p) == 1 for p in parts):
                    row_numbers[name] = [p.pop() for p in parts]
            elif attrs is not None and not _aggregates(core) and _deterministic(core):
                fds.append((frozenset(attrs), frozenset({o})))
        # columns a star passes through without knowing them: the ones anything mentions
        mentioned = set()
        for key in scope.keys:
            mentioned |= set(key)
        for lhs, rhs in scope.fds:
            mentioned |= lhs | rhs
        for r in scope.repeated.values():
            mentioned |= set(r.multiplier or ()) | set(r.rowkey or ())
        for _, m in scope.fans:
            mentioned |= set(m or ())
        for attr in sorted(a for a in mentioned if a[0] in stars and a[1] != "*"):
            o = (_OUT, attr[1])
            if o not in out:
                out.append(o)
                link(o, attr)
                reads[o] = {attr}

        closures = {o: _closure({o}, fds) for o in out}
        everything = _closure(out, fds)

        def names(attrs: Iterable[Attr] | None) -> tuple[str, ...] | None:
            """Output names that determine each attribute, or None if one is not selected."""
            if attrs is None:
                return None
            found = []
            for a in attrs:
                o = renames.get(a) or next((o for o in out if _has(closures[o], a)), None)
                if o is None:
                    return None
                found.append(o[1])
            return tuple(dict.fromkeys(found))

        keys: list[tuple[str, ...]] = []
        missing: list[Attr] = []
        for key in scope.keys:
            if not _covers(everything, key):
                missing = missing or [a for a in key if not _has(everything, a)]
                continue
            chosen = list(out)
            for o in reversed(out):
                trial = [x for x in chosen if x != o]
                if _covers(_closure(trial, fds), key):
                    chosen = trial
            found = tuple(o[1] for o in chosen)
            if found not in keys:
                keys.append(found)
        keys = [k for k in keys if not any(set(j) < set(k) for j in keys)]
        unknown = None
        if not keys:
            if scope.unknown:
                unknown = scope.unknown
            elif missing:
                shown = ", ".join(_show(a) for a in missing)
                unknown = f"no set of selected columns is unique: {shown} " + (
                    "is not selected" if len(missing) == 1 else "are not selected"
                )
            else:
                unknown = "no known grain"

        out_fds: list[FD] = []
        determinants = [(o,) for o in out]
        for lhs, _ in scope.fds:
            determinants.append(tuple(lhs))
        determinants += [tuple(k) for k in scope.keys]
        for lhs in determinants:
            mapped = names(lhs) if all(a in renames or a[0] == _OUT for a in lhs) else None
            if not mapped:
                continue
            known = _closure({(_OUT, n) for n in mapped}, fds)
            rhs = frozenset(o[1] for o in out if _has(known, o) and o[1] not in mapped)
            if rhs and (frozenset(mapped), rhs) not in out_fds:
                out_fds.append((frozenset(mapped), rhs))

        repeated: dict[str, _Repeat] = {}
        for o in out:
            for attr in sorted(reads.get(o, ())):
                r = scope.repeat_of(attr)
                if r is not None:
                    repeated[o[1]] = _Repeat(names(r.multiplier), names(r.rowkey), r.fanout)
                    break
        for alias in stars:
            r = scope.repeated.get((alias, "*"))
            if r is not None:
                repeated["*"] = _Repeat(names(r.multiplier), names(r.rowkey), r.fanout)
        return _Shape(
            label=origin,
            columns=None if stars else tuple(o[1] for o in out),
            keys=tuple(keys),
            fds=tuple(out_fds),
            repeated=repeated,
            fans=tuple((f, names(m)) for f, m in scope.fans),
            unknown=unknown,
            row_numbers={n: cols for n, p in row_numbers.items() if (cols := names(p)) is not None},
            constants=constants,
        )

    def setop(self, q: exp.SetOperation, env: dict, label: str) -> _Shape:
        branches: list[exp.Expression] = []

        def flatten(node: exp.Expression) -> None:
            if type(node) is type(q) and not _arg(node, "with"):
                flatten(node.this)
                flatten(node.expression)
            else:
                branches.append(node)

        flatten(q.this)
        flatten(q.expression)
        shapes = [self.query(b, env, label) for b in branches]
        fans = tuple(fan for s in shapes for fan in s.fans)
        distinct = bool(q.args.get("distinct"))
        if not isinstance(q, exp.Union):  # except, intersect: a subset of the first branch
            first = shapes[0]
            keys = first.keys
            if distinct and first.columns and first.columns not in keys:
                keys = (*keys, first.columns)
            return _Shape(
                label,
                first.columns,
                keys,
                first.fds,
                first.repeated,
                first.fans,
                first.unknown if not keys else None,
            )
        if any(s.columns is None for s in shapes):
            return _Shape(
                label, fans=fans, unknown="a union of relations whose columns are unknown"
            )
        columns = shapes[0].columns
        width = len(columns)
        if any(len(s.columns) != width for s in shapes):
            return _Shape(label, fans=fans, unknown="a union of branches of different widths")
        values = [[s.constants.get(c) for c in s.columns] for s in shapes]
        tags = [
            p
            for p in range(width)
            if len({v[p] for v in values} - {None}) == len(branches)
            and all(v[p] is not None for v in values)
        ]
        keys: list[tuple[str, ...]] = []
        for key in shapes[0].keys:
            positions = {shapes[0].columns.index(c) for c in key} | set(tags)
            if tags and all(
                any({s.columns.index(c) for c in k} <= positions for k in s.keys)
                for s in shapes[1:]
            ):
                keys.append(tuple(columns[p] for p in sorted(positions)))
        if distinct and columns not in keys:
            keys.append(columns)
        repeated: dict[str, _Repeat] = {}
        for s in shapes:
            for p, c in enumerate(s.columns):
                r = s.repeated.get(c) or s.repeated.get("*")
                if r is not None and columns[p] not in repeated:
                    repeated[columns[p]] = _Repeat(None, None, r.fanout)
        unknown = None
        if not keys:
            unknown = (
                "a union all whose branches no constant column tells apart"
                if all(s.keys for s in shapes)
                else next(s.unknown for s in shapes if not s.keys)
            )
        return _Shape(
            label, columns, tuple(keys), (), repeated, tuple((f, None) for f, _ in fans), unknown
        )


def _grain(shape: _Shape, infer: _Infer) -> Grain:
    keys, reason = shape.keys, shape.unknown
    if shape.columns is not None:  # never claim a key that is not an output column
        keys = tuple(k for k in keys if set(k) <= set(shape.columns))
        if shape.keys and not keys:
            reason = f"its key {_cols(shape.keys[0])} is not among its output columns"
    return Grain(
        key=keys[0] if keys else None,
        keys=keys,
        reason=reason if not keys else None,
        fanouts=tuple(dict.fromkeys(f for f, _ in shape.fans)),
        sums=tuple(infer.sums),
    )


def _parse(sql: str, dialect: str = DIALECT) -> exp.Expression:
    try:
        return sqlglot.parse_one(sql, read=dialect)
    except SqlglotError as exc:
        errors = getattr(exc, "errors", None) or [{}]
        where = f" at line {errors[0]['line']}" if errors[0].get("line") else ""
        what = errors[0].get("description") or str(exc).splitlines()[0]
        what = re.sub(r"<Token token_type: [^,]*, text: ([^,]*),[^>]*>", r"'\1'", what)
        raise _Unreadable(f"cannot parse its SQL{where}: {what}") from None


class _Unreadable(Exception):
    """The SQL cannot be read; the message says why."""


def infer_grain(
    sql: str,
    grains: Mapping[str, Sequence[Sequence[str]] | None],
    *,
    name: str = "query",
    dialect: str = DIALECT,
) -> Grain:
    """The grain a query gives, when each table it reads (by name) has the given grains.

    A table missing from `grains`, or mapped to None or [], has no known grain.

    >>> g = infer_grain("select order_id, sum(qty) as qty from items group by 1", {})
    >>> g.key
    ('order_id',)
    >>> infer_grain("select * from orders", {"orders": [["order_id"]]}).key
    ('order_id',)
    >>> print(infer_grain("select * from orders", {}).reason)
    orders has no known grain
    """
    known = {k.lower(): v for k, v in grains.items()}

    def lookup(table: exp.Table) -> _Shape:
        label = table.name.lower()
        keys = tuple(tuple(c.lower() for c in g) for g in known.get(label) or ())
        return _Shape(label, keys=keys, unknown=None if keys else f"{label} has no known grain")

    infer = _Infer(name, lookup, dialect)
    try:
        shape = infer.query(_parse(sql, dialect), {}, name)
    except _Unreadable as exc:
        return Grain(None, reason=str(exc))
    return _grain(shape, infer)


# ---------------------------------------------------------------------------- the manifest's models

_REF = re.compile(r"""\{\{\s*ref\(\s*(?:['"][^'"]+['"]\s*,\s*)?['"]([^'"]+)['"]\s*\)\s*\}\}""")
_SOURCE = re.compile(r"""\{\{\s*source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)\s*\}\}""")
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_FILE_SUFFIXES = (".csv", ".parquet", ".json", ".ndjson", ".jsonl", ".gz", ".zst")


class _Predictor:
    """Infers every model's grain in dependency order, each from its parents' grains."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.results: dict[str, tuple[_Shape, Grain]] = {}
        self.relations: list[tuple[tuple[str, ...], str]] = []
        self.functions: dict[str, str] = {}
        self.files: dict[str, list[str]] = {}
        for node in graph.nodes.values():
            if node.resource_type not in ("model", "seed", "snapshot", "source"):
                continue
            if node.resource_type == "source":
                self.files.setdefault(node.name.lower(), []).append(node.unique_id)
            if not node.relation_name:
                continue
            try:
                sql = f"select * from {node.relation_name}"
                table = sqlglot.parse_one(sql, read=graph.dialect)
                table = table.find(exp.Table)
            except SqlglotError:
                continue
            if table is None:
                continue
            if isinstance(table.this, exp.Func):
                self.functions[_sql(table.this)] = node.unique_id
            else:
                parts = tuple(p.name.lower() for p in table.parts)
                self.relations.append((parts, node.unique_id))

    def find(self, table: exp.Table, refs: Mapping[str, str]) -> str | None:
        """The unique id of the node a table reference reads, if it can be told."""
        if isinstance(table.this, exp.Func):
            if _sql(table.this) in self.functions:
                return self.functions[_sql(table.this)]
            path = next((a.name for a in table.this.find_all(exp.Literal) if a.is_string), "")
            return self._file(path)
        name = table.name
        if name in refs:
            return refs[name]
        if "/" in name or name.lower().endswith(_FILE_SUFFIXES):
            return self._file(name)
        parts = tuple(p.name.lower() for p in table.parts)
        found = {uid for rel, uid in self.relations if rel[-len(parts) :] == parts}
        return found.pop() if len(found) == 1 else None

    def _file(self, path: str) -> str | None:
        stem = PurePosixPath(path).name.lower()
        while PurePosixPath(stem).suffix in _FILE_SUFFIXES:
            stem = stem[: -len(PurePosixPath(stem).suffix)]
        found = self.files.get(stem, [])
        return found[0] if len(found) == 1 else None

    def shape_of(self, uid: str) -> _Shape:
        """A node's rows as a model reading it sees them: a model's inferred grain (or the
        one it states, if none can be inferred); what a source, seed or snapshot states."""
        node = self.graph.nodes[uid]
        stated = tuple(node.grains)
        if node.resource_type != "model":
            return _Shape(
                node.label,
                keys=stated,
                unknown=None if stated else f"{node.label} has no declared or tested grain",
            )
        shape, _ = self.infer(node)
        # its own fan-outs are reported on it; its readers see its rows (and repeated values)
        shape = replace(shape, label=node.label, fans=())
        if shape.keys or not stated:
            reason = shape.unknown and f"the grain of {node.label} is unknown ({shape.unknown})"
            return replace(shape, unknown=reason)
        return replace(shape, keys=stated, unknown=None)  # what it states, if nothing better

    def infer(self, node: Node) -> tuple[_Shape, Grain]:
        if node.unique_id in self.results:
            return self.results[node.unique_id]
        cycle = _unknown(node.label, f"{node.label} depends on itself")
        self.results[node.unique_id] = (cycle, Grain(None, reason=cycle.unknown))
        refs: dict[str, str] = {}
        infer = _Infer(node.label, lambda t: self._lookup(t, refs), self.graph.dialect)
        try:
            shape = infer.query(_parse(self._sql(node, refs), self.graph.dialect), {}, node.label)
        except _Unreadable as exc:
            shape = _unknown(node.label, str(exc))
        result = (shape, _grain(shape, infer))
        self.results[node.unique_id] = result
        return result

    def _lookup(self, table: exp.Table, refs: Mapping[str, str]) -> _Shape:
        uid = self.find(table, refs)
        if uid is None:
            shown = _sql(table.this if isinstance(table.this, exp.Func) else table)
            return _unknown(shown, f"reads {shown[:80]}, which is not a node of the manifest")
        return self.shape_of(uid)

    def _sql(self, node: Node, refs: dict[str, str]) -> str:
        """The model's compiled SQL or, if there is none, its raw SQL with ref() and source()
        replaced by placeholders (`refs` maps them to unique ids)."""
        if node.language != "sql":
            raise _Unreadable(f"a {node.language} model")
        if node.compiled_sql:
            return node.compiled_sql
        parents = [self.graph.nodes[p] for p in node.parents]

        def placeholder(found: list[Node], shown: str) -> str:
            if len(found) != 1:
                raise _Unreadable(f"cannot tell which node {shown} is")
            name = f"__fanout_node_{len(refs)}"
            refs[name] = found[0].unique_id
            return name

        def ref(m: re.Match) -> str:
            return placeholder(
                [p for p in parents if p.name == m[1] and p.resource_type != "source"],
                f"ref('{m[1]}')",
            )

        def source(m: re.Match) -> str:
            return placeholder(
                [p for p in parents if p.source_name == m[1] and p.name == m[2]],
                f"source('{m[1]}', '{m[2]}')",
            )

        sql = _JINJA_COMMENT.sub("", node.raw_sql or "")
        sql = _SOURCE.sub(source, _REF.sub(ref, sql))
        if "{{" in sql or "{%" in sql:
            raise _Unreadable("no compiled SQL in the manifest and Jinja beyond ref() and source()")
        return sql

    def prediction(self, node: Node) -> Prediction:
        shape, grain = self.infer(node)
        declared = node.grains
        holds = [shape.unique(d) for d in declared]
        intended = bool(declared) and bool(grain.fanouts) and all(holds)
        if grain.fanouts and not intended:
            status = "fan-out"
        elif grain.key is not None and declared and not all(holds):
            status = "mismatch"
        elif grain.sums:
            status = "sum-over-fan-out"
        elif grain.key is None:
            status = "unknown"
        else:
            status = "ok"
        return Prediction(
            node.label,
            status,
            grain.key,
            grain.reason,
            declared,
            grain.fanouts,
            grain.sums,
            intended,
        )


def predict(graph: Graph, models: Iterable[str] | None = None) -> tuple[Prediction, ...]:
    """The inferred grain of each model (or of the named ones), by model name."""
    predictor = _Predictor(graph)
    wanted = None if models is None else [graph.node(m) for m in models]
    return tuple(predictor.prediction(n) for n in (graph.models if wanted is None else wanted))


def check(graph: Graph) -> tuple[Finding, ...]:
    """Every lint finding and every finding of the grain inference, by model and rule."""
    found = list(lint(graph))
    for p in predict(graph):
        found += p.findings()
    return _sorted_findings(found)


# ---------------------------------------------------------------------------- blast radius


@dataclass(frozen=True)
class Impact:
    """A node and everything downstream of it, as a tree (a node reached twice appears twice)."""

    name: str
    resource_type: str
    unique_id: str
    exposure_type: str | None = None
    owner: str | None = None
    children: tuple[Impact, ...] = ()

    def walk(self) -> Iterator[Impact]:
        """This node and its descendants, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def reached(self, resource_type: str | None = None) -> tuple[str, ...]:
        """The names of the descendants (of one resource type), each once, sorted."""
        return tuple(
            sorted(
                {
                    n.name
                    for n in self.walk()
                    if n is not self and resource_type in (None, n.resource_type)
                }
            )
        )


_TREE_ORDER = {"model": 0, "snapshot": 1, "seed": 2, "test": 3, "exposure": 4, "source": 5}


def downstream(graph: Graph, name: str) -> Impact:
    """Every model, test and exposure downstream of a node, as a tree rooted at it."""
    root = graph.node(name)

    def grow(node: Node, path: tuple[str, ...]) -> Impact:
        children = sorted(
            (c for c in graph.children(node) if c.unique_id not in path),
            key=lambda c: (_TREE_ORDER.get(c.resource_type, 9), c.label),
        )
        return Impact(
            node.label,
            node.resource_type,
            node.unique_id,
            node.exposure_type,
            node.owner,
            tuple(grow(c, (*path, c.unique_id)) for c in children),
        )

    return grow(root, (root.unique_id,))


def render_tree(impact: Impact) -> str:
    """A tree as indented text, one node a line.

    >>> kpis = Impact("kpis", "exposure", "exposure.p.kpis", "dashboard", "Finance")
    >>> print(render_tree(Impact("stg", "model", "model.p.stg", children=(
    ...     Impact("fct", "model", "model.p.fct", children=(kpis,)),))))
    stg (model)
    └── fct (model)
        └── kpis (dashboard, owner Finance)
    """

    def describe(n: Impact) -> str:
        if n.resource_type == "exposure":
            kind = n.exposure_type or "exposure"
            return f"{n.name} ({kind}, owner {n.owner})" if n.owner else f"{n.name} ({kind})"
        return f"{n.name} ({n.resource_type})"

    lines = [describe(impact)]

    def add(node: Impact, prefix: str) -> None:
        for i, child in enumerate(node.children):
            last = i == len(node.children) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{describe(child)}")
            add(child, prefix + ("    " if last else "│   "))

    add(impact, "")
    return "\n".join(lines)
