"""The exercises and their self-check results: each `Check` passed, failed (with a hint) or
not answered yet, gathered in a `Result` that a notebook shows and `fanout grade` reads back.

>>> Result("find", (Check("a", "pass"), Check("b", "todo", "not answered yet"))).status
'failed'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanout.incident.report import outputs

__all__ = ["EXERCISES", "RESULT_MIME", "SOLUTION_FILES", "SYMPTOM", "Check", "Result", "results"]


RESULT_MIME = "application/vnd.fanout.training+json"


# (notebook stem, exercise id, title)
EXERCISES = (
    ("1-find-the-broken-model", "find", "find the broken model"),
    ("2-write-the-grain-test", "test", "write the grain test"),
    ("3-fix-the-fan-out", "fix", "fix the fan-out"),
)


# The files of the warehouse's fix that solve exercises 2 and 3 (the trainer's answers).
SOLUTION_FILES = (
    "tests/assert_stg_orders_grain.sql",
    "models/staging/stg_orders.sql",
    "models/staging/stg_order_items.sql",
    "models/marts/fct_orders.sql",
)


SYMPTOM = "fct_revenue_daily"


@dataclass(frozen=True)
class Check:
    """One self-check: passed, failed (with a hint) or not answered yet."""

    name: str
    state: str  # "pass", "fail" or "todo"
    detail: str = ""
    hint: str = ""

    @property
    def passed(self) -> bool:
        return self.state == "pass"


@dataclass(frozen=True)
class Result:
    """An exercise's self-check: what is right, and the first thing that is not."""

    exercise: str
    checks: tuple[Check, ...]

    @property
    def status(self) -> str:
        """passed, not answered (nothing answered yet) or failed."""
        if all(c.passed for c in self.checks):
            return "passed"
        if all(c.state == "todo" for c in self.checks):
            return "not answered"
        return "failed"

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if not c.passed), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "status": self.status,
            "checks": [dataclasses.asdict(c) for c in self.checks],
        }

    def text(self) -> str:
        title = next(t for _, e, t in EXERCISES if e == self.exercise)
        lines = [f"Exercise {_number(self.exercise)} · {title}: {self.status.upper()}"]
        mark = {"pass": "ok  ", "fail": "FAIL", "todo": "TODO"}
        for c in self.checks:
            lines.append(f"  {mark[c.state]}  {c.name}" + (f": {c.detail}" if c.detail else ""))
            if c.hint:
                lines.append(f"        hint: {c.hint}")
        return "\n".join(lines)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {RESULT_MIME: self.to_dict(), "text/plain": self.text()}

    def __repr__(self) -> str:
        return self.text()


def _number(exercise: str) -> int:
    return next(i for i, (_, e, _) in enumerate(EXERCISES, 1) if e == exercise)


def results(notebook: str | Path) -> list[dict[str, Any]]:
    """The self-check results an executed notebook shows, in order."""

    return outputs(notebook, RESULT_MIME)
