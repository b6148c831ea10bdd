"""The lint rules: small functions of the graph, collected in `RULES`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from fanout.lineage.manifest import RAW_TYPES, Graph, Node, _by_label

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
