"""What this run found for one claim of the postmortem (`Evidence`), and the helpers that
read the notebooks' findings for it: a figure whose notebook did not run is said so."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["All", "Evidence", "Missing", "evidence"]

All = Mapping[str, Mapping[str, Any]]  # findings by notebook number


@dataclass(frozen=True)
class Evidence:
    """What this run found for one claim: Markdown, and where it is computed."""

    text: str
    notebook: str  # "03"
    section: str  # the section number in that notebook ("3"), or "" for its top


def _get(found: All, notebook: str, name: str) -> Any:
    try:
        return found[notebook][name]
    except KeyError:
        raise Missing(notebook) from None


class Missing(Exception):
    """A figure whose notebook did not run (fanout workbook --only)."""


def evidence(make: Callable[[All], Evidence], found: All) -> Evidence:
    """`make(found)`, or a note naming the notebook that did not run."""
    try:
        return make(found)
    except Missing as missing:
        return Evidence(f"not computed in this run: notebook {missing} did not run", "", "")


def _f(found: All, notebook: str) -> Mapping[str, Any]:
    if notebook not in found:
        raise Missing(notebook)
    return found[notebook]


def _caught(stage: str) -> str:
    """A guard's stage in the replay (`fanout.incident.guards.Guard.stage`) as a verb phrase."""
    return {
        "in CI: the PR would not have merged": "would have stopped the PR in CI",
        "before finance": "would have caught it before finance",
        "with finance": "would have caught it when finance did",
        "after finance": "would have caught it only after finance",
        "would not have caught it before the fix": "would not have caught it before the fix",
    }.get(stage, stage)


def _ratio(a: Any, b: Any) -> float:
    return float(Decimal(str(a)) / Decimal(str(b))) if Decimal(str(b)) else float("nan")
