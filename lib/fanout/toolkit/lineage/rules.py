"""The lint rules: small functions of the graph, collected in `RULES`.

Each rule of `RULES` gives the findings dbt-project-evaluator's rule of the same concern
gives on the same project (it is checked against the evaluator's own integration tests):

| rule ids | dbt-project-evaluator |
|---|---|
| staging-joins-sources, model-joins-sources | fct_multiple_sources_joined |
| staging-reads-staging | fct_staging_dependent_on_staging |
| staging-reads-mart | fct_staging_dependent_on_marts_or_intermediate |
| source-read-by-many | fct_source_fanout |
| mart-reads-source, intermediate-reads-source | fct_marts_or_intermediate_dependent_on_source |
| missing-grain | fct_missing_primary_key_tests |

`STRICT_RULES` are stricter than the evaluator, each under its own name, and run only when
asked (`Settings.strict`, `fanout lint --strict`): staging-reads-model (a staging model
reading a model of no layer: a staging model reads sources, or base models).

A model's layer is the evaluator's model type: its name's prefix (`stg_`, `int_`, `fct_`
or `dim_`, `base_`), else the innermost folder named for a layer, else none. Seeds are
models to both tools unless the settings count them as sources; excluded nodes (settings,
`meta: {fanout: ...}`) are left out, as parents too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from fanout.toolkit.lineage.manifest import Graph, Node, _by_label

# ---------------------------------------------------------------------------- lint rules


@dataclass(frozen=True)
class Finding:
    """One thing a rule or the grain inference found wrong with one model (or source)."""

    model: str
    rule: str
    parents: tuple[str, ...]  # the nodes the finding is about: sources read, models joined
    message: str
    suggestion: str
    # error: a join changes a declared or tested grain (the grain inference's findings);
    # warning: a convention the lint rules check
    severity: str = "warning"


_LAYER_PREFIXES = (
    ("stg_", "staging"),
    ("int_", "intermediate"),
    ("fct_", "mart"),
    ("dim_", "mart"),
    ("base_", "base"),
)
_LAYER_FOLDERS = {
    "staging": "staging",
    "intermediate": "intermediate",
    "marts": "mart",
    "mart": "mart",
    "base": "base",
}


def layer(node: Node) -> str | None:
    """A model's layer by its name prefix or, failing that, its innermost layer folder; None
    if neither says.

    >>> layer(Node("model.shop.stg_orders", "stg_orders", "model"))
    'staging'
    >>> layer(Node("model.shop.orders", "orders", "model", folders=("marts", "finance")))
    'mart'
    >>> layer(Node("model.shop.x", "x", "model", folders=("marts", "intermediate")))
    'intermediate'
    >>> layer(Node("source.shop.raw.orders", "orders", "source")) is None
    True
    """
    if node.resource_type != "model":
        return None
    for prefix, name in _LAYER_PREFIXES:
        if node.name.startswith(prefix):
            return name
    for folder in reversed(node.folders):
        if folder in _LAYER_FOLDERS:
            return _LAYER_FOLDERS[folder]
    return None


def _included(graph: Graph, rule: str) -> Iterator[Node]:
    """The models a rule looks at, by label."""
    return (m for m in graph.models if not graph.silenced(m, rule))


def _raw_parents(graph: Graph, node: Node) -> tuple[Node, ...]:
    return tuple(
        p
        for p in graph.parents(node)
        if p.resource_type in graph.raw_types and not graph.excluded(p)
    )


def _model_parents(graph: Graph, node: Node) -> tuple[Node, ...]:
    return tuple(
        p
        for p in graph.parents(node)
        if p.resource_type in ("model", "snapshot") and not graph.excluded(p)
    )


def _labels(nodes: Iterable[Node]) -> tuple[str, ...]:
    return tuple(sorted(n.label for n in nodes))


def staging_joins_sources(graph: Graph) -> Iterator[Finding]:
    """A model reads more than one source table: `staging-joins-sources` for a staging
    model (the incident's bug), `model-joins-sources` for any other."""
    for model in graph.models:
        rule = "staging-joins-sources" if layer(model) == "staging" else "model-joins-sources"
        raw = _labels(_raw_parents(graph, model))
        if len(raw) > 1 and not graph.silenced(model, rule):
            kind = "staging model" if rule == "staging-joins-sources" else "model"
            yield Finding(
                model.label,
                rule,
                raw,
                f"{kind} reads {len(raw)} source tables: {', '.join(raw)}",
                "keep one source table per staging model; join in an intermediate model or a mart",
            )


def staging_reads_staging(graph: Graph) -> Iterator[Finding]:
    """A staging model reads another staging model."""
    yield from _staging_reads(graph, "staging-reads-staging", ("staging",))


def staging_reads_mart(graph: Graph) -> Iterator[Finding]:
    """A staging model reads a mart or an intermediate model: data flows the wrong way."""
    yield from _staging_reads(graph, "staging-reads-mart", ("mart", "intermediate"))


def staging_reads_model(graph: Graph) -> Iterator[Finding]:
    """Stricter than the evaluator: a staging model reads a model of no layer (a staging
    model reads sources, or base models)."""
    yield from _staging_reads(graph, "staging-reads-model", (None,))


def _staging_reads(graph: Graph, rule: str, layers: tuple[str | None, ...]) -> Iterator[Finding]:
    for model in _included(graph, rule):
        if layer(model) != "staging":
            continue
        read = [p for p in _model_parents(graph, model) if layer(p) in layers]
        models = _labels(read)
        if models:
            yield Finding(
                model.label,
                rule,
                models,
                f"staging model reads {'models' if len(models) > 1 else 'model'} "
                f"{', '.join(models)}",
                "read the source table, or move this model to intermediate/ and rename it",
            )


SHOWN = 3  # names a message or a suggestion lists at most; `parents` has them all


def _some(labels: Sequence[str]) -> str:
    """Up to SHOWN names, else their count: a finding's text stays short on any project.

    >>> _some(["a", "b"]), _some(["a", "b", "c", "d"])
    ('a, b', '4 models')
    """
    return ", ".join(labels) if len(labels) <= SHOWN else f"{len(labels):,} models"


def source_read_by_many(graph: Graph) -> Iterator[Finding]:
    """A source table is read by more than one model (one finding, on the source). The
    finding lists the readers once (`parents`); its message gives their count. Linear in
    the project's edges."""
    for raw in sorted(graph.nodes.values(), key=_by_label):
        if raw.resource_type not in graph.raw_types or graph.silenced(raw, "source-read-by-many"):
            continue
        readers = sorted(
            (
                c
                for c in graph.children(raw)
                if c.resource_type == "model" and not graph.excluded(c)
            ),
            key=_by_label,
        )
        if len(readers) < 2:
            continue
        # the way in: the one staging model that reads this source table and nothing else
        owners = [r for r in readers if layer(r) == "staging" and r.parents == (raw.unique_id,)]
        owner = owners[0] if len(owners) == 1 else None
        labels = [r.label for r in readers]
        others = [r.label for r in readers if r is not owner]
        listed = f": {_some(labels)}" if len(labels) <= SHOWN else ""
        yield Finding(
            raw.label,
            "source-read-by-many",
            tuple(labels),
            f"read by {len(readers):,} models{listed}",
            f"read {owner.label} instead in "
            + (_some(others) if len(others) <= SHOWN else f"the {len(others):,} other models")
            if owner
            else f"give {raw.label} one staging model and read that",
        )


def mart_reads_source(graph: Graph) -> Iterator[Finding]:
    """A mart (`mart-reads-source`) or an intermediate model (`intermediate-reads-source`)
    reads a source table directly instead of its staging model."""
    for model in graph.models:
        kind = layer(model)
        if kind not in ("mart", "intermediate"):
            continue
        rule = f"{kind}-reads-source"
        raw = _labels(_raw_parents(graph, model))
        if raw and not graph.silenced(model, rule):
            yield Finding(
                model.label,
                rule,
                raw,
                f"{'mart' if kind == 'mart' else 'intermediate model'} reads source "
                f"{'tables' if len(raw) > 1 else 'table'} {', '.join(raw)}",
                "read the staging model of each source table instead",
            )


def missing_grain(graph: Graph) -> Iterator[Finding]:
    """A model has no tested primary key: `unique` and `not_null` on one column (`unique`
    alone with `Settings.unique_alone`), a combination test (`grain`,
    `unique_combination_of_columns`) or a primary-key constraint."""
    for model in _included(graph, "missing-grain"):
        keys = model.tested_grains if graph.settings.unique_alone else model.primary_keys
        if keys:
            continue
        declared = model.declared_grain
        yield Finding(
            model.label,
            "missing-grain",
            (),
            f"declares grain {_cols(declared)} but no test checks it"
            if declared
            else "no declared or tested grain",
            "test it (a grain or unique_combination_of_columns test, or unique and not_null)"
            if declared
            else "declare it (config: {meta: {grain: [...]}}) and test it (a grain test, or "
            "unique and not_null)",
        )


def _cols(columns: Sequence[str] | None) -> str:
    return f"({', '.join(columns or ())})"


RULES: tuple[Callable[[Graph], Iterable[Finding]], ...] = (
    staging_joins_sources,
    staging_reads_staging,
    staging_reads_mart,
    source_read_by_many,
    mart_reads_source,
    missing_grain,
)
STRICT_RULES: tuple[Callable[[Graph], Iterable[Finding]], ...] = (staging_reads_model,)


def _sorted_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (f.model, f.rule, f.parents, f.message)))


def lint(
    graph: Graph, rules: Sequence[Callable[[Graph], Iterable[Finding]]] | None = None
) -> tuple[Finding, ...]:
    """Every finding of the given rules (by default `RULES`, and `STRICT_RULES` if the
    settings ask for them), by model and rule."""
    if rules is None:
        rules = RULES + (STRICT_RULES if graph.settings.strict else ())
    return _sorted_findings(f for rule in rules for f in rule(graph))
