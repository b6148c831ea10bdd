"""Words computed from figures: every number and every comparison a notebook or the report
states comes from here, from this run's findings, so that it holds at any parameters.

Each claim function takes the figures as recorded (`fanout.incident.notebook.record` returns
them, and `fanout.incident.report.findings` reads them back) and returns a `Claim`: Markdown
that notebooks display and the tests check against the figures. The formatting helpers are the
one place that decides how money, ratios and durations read.

>>> money("1147498.87")
'1,147,498.87 USD'
>>> relative(3.1206, "finance's figure")
"3.12 times finance's figure"
>>> relative(1.37, "finance's figure")
"37% above finance's figure"
>>> duration(4015)
'2 days 18 h 55 min'
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from fanout.incident.recorded import Claim, kind

__all__ = [
    "CURRENCY",
    "FINANCE_FIGURE",
    "Claim",
    "Found",
    "all_of",
    "code_names",
    "count",
    "duration",
    "each_the",
    "joined",
    "minus",
    "money",
    "ratio_of",
    "relative",
    "show",
    "times",
    "weighting",
    "when",
]

# The shop books in US dollars, as the postmortem's "$X". Notebook outputs write the code
# (a "$" there would be read as the start of a formula by JupyterLab and MathJax); the
# report's own pages use the sign.
CURRENCY = "USD"

Found = Mapping[str, Any]
FINANCE_FIGURE = "finance's figure"


def money(value: Any, *, sign: bool = False) -> str:
    """An amount with two decimals and its unit.

    >>> money("-12.5"), money(Decimal("0.00")), money(367717.9, sign=True)
    ('-12.50 USD', '0.00 USD', '$367,717.90')
    """
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    text = f"{abs(amount):,.2f}"
    minus = "-" if amount < 0 else ""
    return f"{minus}${text}" if sign else f"{minus}{text} {CURRENCY}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and its noun, in the singular or the plural.

    >>> count(1, "day"), count(90, "day"), count(3243, "order_id", "order_ids")
    ('1 day', '90 days', '3,243 order_ids')
    """
    word = noun if n == 1 else (plural or f"{noun}s")
    return f"{n:,} {word}"


def times(ratio: float) -> str:
    """A ratio as a factor.

    >>> times(3.1206), times(1)
    ('3.12x', '1.00x')
    """
    return f"{float(ratio):.2f}x"


def relative(ratio: float, other: str) -> str:
    """How a figure compares with `other`, given figure / other.

    >>> relative(1.0, "finance"), relative(0.6, "finance"), relative(1.004, "finance")
    ('equal to finance', '40% below finance', '0.4% above finance')
    """
    ratio = float(ratio)
    if math.isclose(ratio, 1.0, abs_tol=1e-9):
        return f"equal to {other}"
    if ratio >= 1.995:
        return f"{ratio:.2f} times {other}"
    pct = abs(ratio - 1) * 100
    amount = f"{pct:.0f}%" if pct >= 1 else f"{pct:.1f}%"
    return f"{amount} {'above' if ratio > 1 else 'below'} {other}"


def duration(minutes: int) -> str:
    """A span of minutes as a reader says it.

    >>> duration(95), duration(120), duration(4320)
    ('95 min', '2 h 00 min', '3 days')
    """
    minutes = int(minutes)
    if abs(minutes) < 120:
        return f"{minutes} min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if not days:
        return f"{hours} h {mins:02d} min"
    parts = [count(days, "day")]
    if hours or mins:
        parts.append(f"{hours} h")
    if mins:
        parts.append(f"{mins} min")
    return " ".join(parts)


def when(value: Any) -> str:
    """A recorded time as a reader reads it (seconds only when there are some).

    >>> when("2026-10-28T14:05:00"), when("2026-10-27")
    ('2026-10-28 14:05', '2026-10-27')
    """
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M" + (":%S" if value.second else ""))
    return value.isoformat()


def _guess(value: Any) -> str:
    if isinstance(value, str):
        try:
            when(value)
        except ValueError:
            return "text"
        return "time"
    return kind(value)


def show(value: Any, kind: str | None = None) -> str:
    """A recorded figure formatted for a reader, by its kind (see `fanout.incident.notebook.kind`).

    >>> show("779780.97", "money"), show(4157, "count"), show(True, "flag"), show(None)
    ('779,780.97 USD', '4,157', 'yes', 'none')
    >>> show({"baseline": 0, "fix": 2}, "mapping"), show([], "list")
    ('baseline: 0; fix: 2', 'none')
    """
    kind = kind or _guess(value)
    if value is None or kind == "none":
        return "none"
    if kind == "money":
        return money(value)
    if kind == "flag":
        return "yes" if value else "no"
    if kind in ("count", "number"):
        return f"{value:,}"
    if kind == "time":
        return when(value)
    if kind == "mapping":
        return "; ".join(f"{k}: {show(v)}" for k, v in value.items()) or "none"
    if kind == "list":
        items = [" / ".join(show(v) for v in x) if isinstance(x, list) else show(x) for x in value]
        return ", ".join(items) or "none"
    return str(value)


def joined(items: Sequence[str]) -> str:
    """
    >>> joined(["a"]), joined(["a", "b"]), joined(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')
    """
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def all_of(part: int, whole: int, noun: str, plural: str | None = None) -> str:
    """
    >>> all_of(2, 2, "test"), all_of(1, 1, "test"), all_of(5, 5, "test"), all_of(1, 3, "test")
    ('Both tests', 'The test', 'All 5 tests', '1 of the 3 tests')
    """
    many = plural or f"{noun}s"
    if part == whole:
        return {1: f"The {noun}", 2: f"Both {many}"}.get(whole, f"All {whole:,} {many}")
    return f"{part:,} of the {count(whole, noun, plural)}"


def each_the(names: Sequence[str]) -> str:
    """
    >>> each_the(["grain test", "lint"])
    'the grain test and the lint'
    """
    return joined([f"the {n}" for n in names])


def code_names(names: Sequence[str]) -> str:
    return joined([f"`{n}`" for n in names])


def minus(a: Any, b: Any) -> Decimal:
    return Decimal(str(a)) - Decimal(str(b))


def ratio_of(a: Any, b: Any) -> float:
    b = Decimal(str(b))
    return float(Decimal(str(a)) / b) if b else math.nan


def weighting(mean: float, weighted: float) -> str:
    if math.isclose(weighted, mean, abs_tol=5e-5):
        return "the same as the plain mean"
    if weighted > mean:
        return "more than the plain mean, because orders with more items have larger amounts"
    return "less than the plain mean: here orders with more items have smaller amounts"
