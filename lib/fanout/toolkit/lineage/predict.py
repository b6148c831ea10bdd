"""Every model's grain inferred from its parents' grains, in dependency order."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import PurePosixPath

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from fanout.toolkit.lineage.grains import Found, assumed, implied
from fanout.toolkit.lineage.infer import _grain, _Infer
from fanout.toolkit.lineage.manifest import Graph, Node
from fanout.toolkit.lineage.results import Grain, Prediction, _cols
from fanout.toolkit.lineage.rules import Finding, _sorted_findings, lint
from fanout.toolkit.lineage.scope import _Shape, _unknown
from fanout.toolkit.lineage.sql import _parse, _sql, _Unreadable

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
        self.relations: dict[str, list[tuple[tuple[str, ...], str]]] = {}  # by last part
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
                self.relations.setdefault(parts[-1], []).append((parts, node.unique_id))
        self.trees: dict[str, exp.Expression | _Unreadable] = {}
        self.found = self._grains()  # grains the project does not state, labelled

    def parse(self, sql: str) -> exp.Expression:
        """A model's SQL parsed once (inference and the implied grains read the same tree)."""
        if sql not in self.trees:
            try:
                self.trees[sql] = _parse(sql, self.graph.dialect)
            except _Unreadable as exc:
                self.trees[sql] = exc
        tree = self.trees[sql]
        if isinstance(tree, _Unreadable):
            raise tree
        return tree

    def _grains(self) -> dict[str, Found]:
        found: dict[str, Found] = {}
        for node in self.graph.nodes.values():
            if node.resource_type in ("source", "seed") and not node.grains:
                guess = assumed(node)
                if guess is not None:
                    found[node.unique_id] = guess
        found.update(implied(self.graph, self.find, self.parse))
        found.update(self.graph.measured)
        return found

    def stated(self, node: Node) -> tuple[tuple[tuple[str, ...], ...], bool]:
        """A node's grains, and whether they are grains (not an assumption): the ones the
        project states, else measured on data, implied by tests downstream, or assumed by
        naming convention."""
        if node.grains:
            return node.grains, True
        found = self.found.get(node.unique_id)
        if found is None:
            return (), False
        return found.keys, found.how != "assumed"

    def find(
        self, table: exp.Table, refs: Mapping[str, str], parents: Iterable[str] = ()
    ) -> str | None:
        """The unique id of the node a table reference reads, if it can be told: among
        several nodes at one relation (a seed and a source of the same table), the one
        the model depends on."""
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
        candidates = self.relations.get(parts[-1], ())
        found = {uid for rel, uid in candidates if rel[-len(parts) :] == parts}
        if len(found) > 1:
            found &= set(parents)
        return found.pop() if len(found) == 1 else None

    def _file(self, path: str) -> str | None:
        stem = PurePosixPath(path).name.lower()
        while PurePosixPath(stem).suffix in _FILE_SUFFIXES:
            stem = stem[: -len(PurePosixPath(stem).suffix)]
        found = self.files.get(stem, [])
        return found[0] if len(found) == 1 else None

    def shape_of(self, uid: str) -> _Shape:
        """A node's rows as a model reading it sees them: what a source, seed or snapshot
        states; a model's inferred grain with the grains it states (unless its SQL fans out
        past them: then its readers see the repeated rows)."""
        node = self.graph.nodes[uid]
        stated, firm = self.stated(node)
        if node.resource_type != "model":
            return _Shape(
                node.label,
                keys=stated,
                unknown=None if stated else f"{node.label} has no declared or tested grain",
                stated=frozenset(stated if firm else ()),
            )
        shape, _ = self.infer(node)
        fanned = bool(shape.fans) and not all(shape.unique(d) for d in stated)
        # its own fan-outs are reported on it; its readers see its rows (and repeated values)
        shape = replace(shape, label=node.label, fans=(), doubts=())
        if fanned or not stated:
            reason = shape.unknown and _upstream_reason(node.label, shape.unknown)
            return replace(shape, unknown=reason)
        stated = tuple(k for k in stated if not shape.contradicts(k))  # the SQL says finer
        keys = stated + tuple(k for k in shape.keys if k not in stated)
        firmly = set(stated) if firm else set()
        return replace(shape, keys=keys, stated=shape.stated | firmly, unknown=None)

    def infer(self, node: Node) -> tuple[_Shape, Grain]:
        if node.unique_id in self.results:
            return self.results[node.unique_id]
        cycle = _unknown(node.label, f"{node.label} depends on itself")
        self.results[node.unique_id] = (cycle, Grain(None, reason=cycle.unknown))
        refs: dict[str, str] = {}
        infer = _Infer(
            node.label, lambda t: self._lookup(t, refs, node.parents), self.graph.dialect
        )
        try:
            shape = infer.query(self.parse(self._sql(node, refs)), {}, node.label)
            result = (shape, _grain(shape, infer))
        except _Unreadable as exc:
            shape = _unknown(node.label, str(exc))
            result = (shape, _grain(shape, infer))
        except RecursionError:  # an expression nested thousands deep
            shape = _unknown(node.label, "its SQL is nested too deeply to read")
            result = (shape, Grain(None, reason=shape.unknown))
        self.results[node.unique_id] = result
        return result

    def warm(self, nodes: Iterable[Node]) -> None:
        """Infer every model `nodes` read, parents first: inferring a model then finds its
        parents' results ready, and never recurses up a chain of any length."""
        for node in self.graph.ancestors(nodes, ("model",)):
            if node.unique_id not in self.results:
                self.infer(node)

    def _lookup(self, table: exp.Table, refs: Mapping[str, str], parents: Iterable[str]) -> _Shape:
        uid = self.find(table, refs, parents)
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

    @staticmethod
    def inherited(shape: _Shape, declared: tuple) -> tuple | None:
        """(grain, fan-out) when every column of a declared grain carries values a fan-out
        upstream repeated: the rows it passes on are not one per grain."""
        for d in declared:
            marks = [shape.repeated.get(c) or shape.repeated.get("*") for c in d]
            repeats = all(
                m is not None and (m.multiplier is None or not set(m.multiplier) <= set(d))
                for m in marks
            )
            if repeats and not shape.unique(d):
                return d, marks[0].fanout
        return None

    def prediction(self, node: Node) -> Prediction:
        shape, grain = self.infer(node)
        declared = node.grains
        holds = [shape.unique(d) for d in declared]
        intended = bool(declared) and bool(grain.fanouts) and all(holds)
        reason = grain.reason
        inherited = self.inherited(shape, declared)
        if grain.fanouts and not intended:
            status = "fan-out"
        elif inherited is not None:
            status = "inherited-fan-out"
            reason = (
                f"its declared grain {_cols(inherited[0])} repeats once per row of the fan-out "
                f"in {inherited[1].model} (join on {inherited[1].join})"
            )
        elif grain.key is not None and any(
            shape.contradicts(d) for d in declared if not _tested(node, d)
        ):  # a tested grain is checked by its test: only an untested one can be contradicted
            status = "mismatch"
        elif grain.sums:
            status = "sum-over-fan-out"
        elif grain.key is None:
            status = "unknown"
        elif not all(holds):  # its key may be coarser than the one its SQL shows
            status = "unknown"
            unsure = " or ".join(_cols(d) for d, h in zip(declared, holds, strict=True) if not h)
            reason = (
                f"cannot tell whether its declared grain {unsure} holds: its SQL gives one row "
                f"per {_cols(grain.key)}, a key that may list dependent columns"
            )
        else:
            status = "ok"
        return Prediction(
            node.label,
            status,
            grain.key,
            reason,
            declared,
            grain.fanouts,
            grain.sums,
            intended,
            grain.doubts,
        )


_NESTED = re.compile(r"the grain of (.+?) is unknown \((.*)\)", re.S)
REASON_CHARS = 600  # a reason longer than this keeps its start and its end


def _upstream_reason(label: str, reason: str) -> str:
    """Why a model's grain is unknown, for the models reading it: said once, traced to the
    first model whose grain is unknown, never nested once per model of a chain (the text
    would grow with the square of the chain's length).

    >>> r = _upstream_reason("m0", "raw.e has no declared or tested grain")
    >>> r = _upstream_reason("m1", r)
    >>> _upstream_reason("m2", r)
    'the grain of m2 is unknown (traced to m0: raw.e has no declared or tested grain)'
    """
    nested = _NESTED.fullmatch(reason)
    if nested is not None:
        source, inner = nested.groups()
        reason = inner if inner.startswith("traced to ") else f"traced to {source}: {inner}"
    if len(reason) > REASON_CHARS:  # a join's reason quoting another's: keep both ends
        half = REASON_CHARS // 2
        reason = f"{reason[:half]} ... {reason[-half:]}"
    return f"the grain of {label} is unknown ({reason})"


def _tested(node: Node, grain: tuple[str, ...]) -> bool:
    return any(set(grain) == set(t) for t in node.tested_grains)


_PREDICTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _predictor(graph: Graph) -> _Predictor:
    """One predictor per graph: its inferences are reused by every later question."""
    if graph not in _PREDICTORS:
        _PREDICTORS[graph] = _Predictor(graph)
    return _PREDICTORS[graph]


def found_grains(graph: Graph) -> dict[str, Found]:
    """The grains the prediction uses where the project states none (measured, implied by
    tests downstream, assumed by naming), by unique id."""
    return dict(_predictor(graph).found)


def predict(graph: Graph, models: Iterable[str] | None = None) -> tuple[Prediction, ...]:
    """The inferred grain of each model (or of the named ones), by model name."""
    predictor = _predictor(graph)
    wanted = graph.models if models is None else [graph.node(m) for m in models]
    predictor.warm(wanted)
    return tuple(predictor.prediction(n) for n in wanted)


def check(graph: Graph, predictions: Iterable[Prediction] | None = None) -> tuple[Finding, ...]:
    """Every lint finding and every finding of the grain inference (of `predictions`, if
    given: `predict(graph)`'s), by model and rule; silenced and excluded models left out."""
    found = list(lint(graph))
    by_label = {m.label: m for m in graph.models}
    for p in predict(graph) if predictions is None else predictions:
        node = by_label.get(p.model)
        found += [f for f in p.findings() if node is None or not graph.silenced(node, f.rule)]
    return _sorted_findings(found)
