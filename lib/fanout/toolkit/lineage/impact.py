"""Blast radius: everything downstream of a node, as a tree.

Every walk here keeps its own stack (no recursion): a chain of any length is fine. A node
reached along several paths is expanded once, where it is first reached in depth-first
order; later it appears again without its children (`expanded=False`), so the tree grows
with the number of edges, never with the number of paths (a lattice of diamonds has
exponentially many).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fanout.toolkit.lineage.manifest import Graph, Node

# ---------------------------------------------------------------------------- blast radius


@dataclass(frozen=True)
class Impact:
    """A node and everything downstream of it, as a tree (a node reached twice appears twice;
    its children only under the first)."""

    name: str
    resource_type: str
    unique_id: str
    exposure_type: str | None = None
    owner: str | None = None
    children: tuple[Impact, ...] = ()
    expanded: bool = True  # False: reached again, its children shown where first reached

    def walk(self) -> Iterator[Impact]:
        """This node and its descendants, depth first."""
        stack: list[Impact] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

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

    def rows(self) -> list[dict[str, Any]]:
        """The tree as flat rows, depth first: each node with its depth and its parent's
        unique id (JSON of any depth; nested JSON would be as deep as the tree)."""
        out: list[dict[str, Any]] = []
        stack: list[tuple[Impact, int, str | None]] = [(self, 0, None)]
        while stack:
            node, depth, parent = stack.pop()
            out.append(
                {
                    "name": node.name,
                    "resource_type": node.resource_type,
                    "unique_id": node.unique_id,
                    "exposure_type": node.exposure_type,
                    "owner": node.owner,
                    "depth": depth,
                    "parent": parent,
                    "expanded": node.expanded,
                }
            )
            stack.extend((c, depth + 1, node.unique_id) for c in reversed(node.children))
        return out


_TREE_ORDER = {"model": 0, "snapshot": 1, "seed": 2, "test": 3, "exposure": 4, "source": 5}


def downstream(graph: Graph, name: str) -> Impact:
    """Every model, test and exposure downstream of a node, as a tree rooted at it."""
    root = graph.node(name)

    def ordered(node: Node) -> list[Node]:
        return sorted(
            graph.children(node), key=lambda c: (_TREE_ORDER.get(c.resource_type, 9), c.label)
        )

    # Depth first, in the tree's order: the first time a node is reached it is expanded.
    # Built children first (post-order), as a frozen tree must be: each frame holds a node,
    # the children it has yet to visit, and the subtrees of those it has.
    expanded = {root.unique_id}
    frames: list[tuple[Node, Iterator[Node], list[Impact]]] = [(root, iter(ordered(root)), [])]
    while True:
        node, pending, done = frames[-1]
        child = next(pending, None)
        if child is None:
            frames.pop()
            tree = _impact(node, tuple(done))
            if not frames:
                return tree
            frames[-1][2].append(tree)
        elif child.unique_id in expanded or not child.children:
            again = child.unique_id in expanded and bool(child.children)
            frames[-1][2].append(_impact(child, (), expanded=not again))
        else:
            expanded.add(child.unique_id)
            frames.append((child, iter(ordered(child)), []))


def _impact(node: Node, children: tuple[Impact, ...], expanded: bool = True) -> Impact:
    return Impact(
        node.label,
        node.resource_type,
        node.unique_id,
        node.exposure_type,
        node.owner,
        children,
        expanded,
    )


INDENT_SHOWN = 24  # levels of indentation drawn; deeper lines show their depth instead


def render_tree(impact: Impact) -> str:
    """A tree as indented text, one node a line. A node reached again is marked `(see
    above)` instead of repeating its subtree; below INDENT_SHOWN levels, a line starts with
    its depth instead of ever more indentation (the text stays linear in the tree's size).

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
            text = f"{n.name} ({kind}, owner {n.owner})" if n.owner else f"{n.name} ({kind})"
        else:
            text = f"{n.name} ({n.resource_type})"
        return text if n.expanded else f"{text} (see above)"

    lines = [describe(impact)]
    # (node, depth, prefix): the prefix is a linked list of segments, newest first, so that
    # a child's prefix costs one cell, not a copy of its parent's
    Prefix = tuple[str, "Prefix"] | None
    stack: list[tuple[Impact, int, Prefix]] = []

    def push(node: Impact, depth: int, prefix: Prefix) -> None:
        for i, child in enumerate(reversed(node.children)):
            stack.append((child, depth + 1, (("last" if i == 0 else "mid"), prefix)))

    push(impact, 0, None)
    while stack:
        node, depth, prefix = stack.pop()
        segments: list[str] = []
        cell = prefix
        while cell is not None and len(segments) < INDENT_SHOWN:
            segments.append(cell[0])
            cell = cell[1]
        segments.reverse()
        drawn = "".join(("    " if s == "last" else "│   ") for s in segments[:-1]) + (
            "└── " if segments[-1] == "last" else "├── "
        )
        head = f"[depth {depth}] ... " if depth > INDENT_SHOWN else ""
        lines.append(f"{head}{drawn}{describe(node)}")
        push(node, depth, prefix)
    return "\n".join(lines)
