"""What a notebook records for the report and the tests to read back: its figures (with each
one's kind) and its claims, each under a MIME type of our own in the cell's output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["CLAIM_MIME", "FINDINGS_MIME", "KINDS_MIME", "Claim", "jsonable", "kind"]


FINDINGS_MIME = "application/vnd.fanout.findings+json"


CLAIM_MIME = "application/vnd.fanout.claim+json"


KINDS_MIME = "application/vnd.fanout.kinds+json"


@dataclass(frozen=True)
class Claim:
    """Words computed from this run's figures, shown as Markdown.

    Notebooks display a claim as they would a Markdown cell; the report and the tests find it
    by its name (under `CLAIM_MIME`) and check its words against the recorded figures.
    """

    name: str
    text: str

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/markdown": self.text, CLAIM_MIME: {"name": self.name, "text": self.text}}

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def kind(value: Any) -> str:
    """What a recorded figure is, so that it can be shown as such: money (exact decimals),
    count, number, flag, time, text, list, mapping or none."""
    if value is None:
        return "none"
    if isinstance(value, Decimal):
        return "money"
    if isinstance(value, bool):
        return "flag"
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, int):
        return "count"
    if isinstance(value, float):
        return "number"
    if hasattr(value, "isoformat"):
        return "time"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list | tuple):
        return "list"
    return "text"
