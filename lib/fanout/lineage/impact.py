"""Blast radius: everything downstream of a node, as a tree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fanout.lineage.manifest import Graph, Node

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
