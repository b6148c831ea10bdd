"""The library's shape, read from its source with `ast`: three wings whose imports point one
way (the incident and the training use the toolkit, never the reverse), no import cycles, and
imports at the top of each module."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import fanout

LIB = Path(fanout.__file__).parent
# shared by every wing; they import no wing
SHARED = {"fanout", "fanout.errors", "fanout.bounded"}
# third-party imports that may stay inside a function, because they are slow to import and
# most commands never need them; each such line says why in a trailing comment
LAZY = {
    "dbt",
    "dbt_common",
    "papermill",
    "nbclient",
    "nbconvert",
    "jupyter_server_mathjax",
    "duckdb",
}
# the command line: one module per wing; each command imports the library it runs when it
# runs (`fanout lint` must not load DuckDB, pandas or matplotlib)
CLI = {"fanout.cli", "fanout.cli.common", "fanout.cli.incident", "fanout.cli.checks"}
CLI |= {"fanout.cli.toolkit", "fanout.cli.training"}
LAZY_MODULES = {*CLI, "fanout.__main__"}


def _name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(LIB.rglob("*.py"))}


def _target(module: str, name: str | None) -> str | None:
    """The library module an import statement loads (`from fanout.x import y`: the module
    `fanout.x.y` when there is one, else `fanout.x`); None outside the library."""
    if name and f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    return module if module in MODULES else None


def _imports(module: str) -> list[tuple[ast.stmt, str, bool]]:
    """Every import statement of `module`: (statement, what it imports, inside a function)."""
    tree = ast.parse(MODULES[module].read_text())
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((child, a.name, inner) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*up, base] if base else up)
                found.extend((child, f"{base}:{a.name}", inner) for a in child.names)
            visit(child, inner)

    visit(tree, False)
    return found


def _edges(module: str) -> set[str]:
    out = set()
    for _, imported, _ in _imports(module):
        base, _, name = imported.partition(":")
        target = _target(base, name or None)
        if target and target != module:
            out.add(target)
    return out


GRAPH = {m: _edges(m) for m in MODULES}


WINGS = ("toolkit", "incident", "training")


def _wing(module: str) -> str:
    """`toolkit`, `incident` or `training`; `shared`; else the module's own name (the CLI)."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in WINGS:
        return parts[1]
    return "shared" if module in SHARED else module


def _crossing(source_wing: str, forbidden: set[str]) -> list[str]:
    return sorted(
        f"{m} imports {t}"
        for m, targets in GRAPH.items()
        if _wing(m) == source_wing
        for t in targets
        if _wing(t) in forbidden
    )


def test_every_module_belongs_to_a_wing_or_is_shared():
    stray = [m for m in MODULES if _wing(m) not in {*WINGS, "shared", *LAZY_MODULES}]
    assert stray == []


def test_the_toolkit_imports_neither_the_incident_nor_the_training():
    assert _crossing("toolkit", {"incident", "training"}) == []


def test_the_incident_does_not_import_the_training():
    assert _crossing("incident", {"training"}) == []


def test_the_shared_modules_import_no_wing():
    assert _crossing("shared", set(WINGS)) == []


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in `graph` (its modules in order), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                return [*path[path.index(t) :], t]
            if t not in state and (found := visit(t)):
                return found
        state[m] = 2
        path.pop()
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_library_has_no_import_cycles_even_through_imports_inside_functions():
    # a package imports its __init__ first: an edge to a package's __init__ that imports
    # nothing back is no cycle, and every __init__ here imports only downwards
    assert _cycle(GRAPH) is None


def _top_level(imported: str) -> str:
    return imported.partition(":")[0].split(".")[0]


@pytest.mark.parametrize("module", sorted(set(MODULES) - LAZY_MODULES))
def test_imports_are_at_the_top_but_for_slow_third_party_ones_each_with_its_reason(module):
    lines = MODULES[module].read_text().splitlines()
    wrong, previous_end, group_start = [], -1, 0
    for stmt, imported, local in _imports(module):
        if not local:
            continue
        top = _top_level(imported)
        if top not in LAZY or top in sys.stdlib_module_names:
            wrong.append(f"line {stmt.lineno}: {imported} inside a function")
            continue
        # the reason: a comment on the statement, or on the line above its group of imports
        if stmt.lineno > previous_end + 1:
            group_start = stmt.lineno
        said = lines[group_start - 2 : stmt.end_lineno]
        if not any("#" in line for line in said):
            wrong.append(f"line {stmt.lineno}: {imported} is lazy without a reason")
        previous_end = stmt.end_lineno
    assert wrong == []


def test_every_module_holds_under_600_lines():
    long = {m: n for m, path in MODULES.items() if (n := len(path.read_text().splitlines())) >= 600}
    assert long == {}


def test_each_wings_commands_import_no_other_wings_commands():
    """The toolkit's commands import no incident or training command (the incident's raw
    data and dashboards reach them only through `fanout.cli.common` and the library)."""
    wings = {"fanout.cli.toolkit", "fanout.cli.checks"}, {"fanout.cli.incident"}
    toolkit, incident = wings
    assert not any(GRAPH[m] & (incident | {"fanout.cli.training"}) for m in toolkit)
    assert not any(GRAPH[m] & (toolkit | {"fanout.cli.training"}) for m in incident)
    assert "fanout.cli" not in set().union(*(GRAPH[m] for m in CLI - {"fanout.cli"}))
