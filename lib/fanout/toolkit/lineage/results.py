"""What the grain inference returns: fan-outs, inflated sums, grains and predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fanout.toolkit.lineage.rules import Finding

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
    doubts: tuple[str, ...] = ()  # joins that may fan out: what cannot be told, and why


@dataclass(frozen=True)
class Prediction:
    """A model's inferred grain against the grains it declares and tests."""

    model: str
    status: str  # fan-out, inherited-fan-out, mismatch, sum-over-fan-out, unknown or ok
    grain: tuple[str, ...] | None
    reason: str | None
    declared: tuple[tuple[str, ...], ...]
    fanouts: tuple[FanOut, ...] = ()
    sums: tuple[InflatedSum, ...] = ()
    intended: bool = False  # the fan-outs give the declared grain: a deliberate change
    doubts: tuple[str, ...] = ()  # joins that may fan out: what cannot be told, and why
    grain_source: str | None = None  # where the inputs' grains came from, when not stated

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
                    "error",
                )
            )
        if self.status == "inherited-fan-out":
            found.append(
                Finding(
                    self.model,
                    "inherited-fan-out",
                    (),
                    self.reason or "",
                    "fix the fan-out upstream, or aggregate to the declared grain",
                    "error",
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
                    "error",
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
                    "error",
                )
            )
        return tuple(found)


def _cols(columns: Sequence[str] | None) -> str:
    """A column list as text.

    >>> _cols(("order_id", "line_number")), _cols(())
    ('(order_id, line_number)', '()')
    """
    return f"({', '.join(columns or ())})"
