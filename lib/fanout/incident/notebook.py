"""What every notebook does: read its parameters, show code and claims, record its findings."""

from __future__ import annotations

import html
import os
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from IPython import get_ipython
from IPython.display import display
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

from fanout.incident import resources, story, timeline
from fanout.incident.params import PARAMETERS, Params
from fanout.incident.paths import project_root
from fanout.incident.recorded import CLAIM_MIME, FINDINGS_MIME, KINDS_MIME, Claim, jsonable, kind

__all__ = [
    "CLAIM_MIME",
    "FINDINGS_MIME",
    "KINDS_MIME",
    "Claim",
    "Code",
    "kind",
    "parameters",
    "record",
    "recorded",
]

# Names IPython puts in a notebook's namespace by itself.
_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def parameters(namespace: Mapping[str, Any]) -> Params:
    """Validated parameters from a notebook's globals (its parameters cell plus what papermill
    injected). A name that is not a parameter is reported as unknown.

    >>> parameters({"days": 120, "seed": 1}).days
    120
    >>> parameters({"dayz": 3})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fanout.errors.ParameterError: unknown parameter 'dayz'; known: seed, start_date, days, ...
    """
    names = {f.name for f in PARAMETERS}
    values = {
        name: value
        for name, value in namespace.items()
        if name in names
        or not (
            name.startswith("_")
            or name in _IPYTHON_NAMES
            or isinstance(value, types.ModuleType)
            or callable(value)
        )
    }

    params = Params.from_mapping(values)  # names that are not parameters are reported there
    timeline.require(params)
    _memory_share(params)
    _display_options()
    _show_parameters(params)
    return params


def _memory_share(params: Params) -> None:
    """Run on its own (not by `fanout workbook`, which shares its budget out), a notebook takes
    the budget for itself and one other process."""

    if not os.environ.get(resources.MEMORY_ENV):
        resources.share(params, 1, params.build_path(project_root())).export()


def _display_options() -> None:
    """pandas shows whole cell texts (no "..."), and no more rows than a page holds."""
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.width", 200)


def _show_parameters(params: Params) -> None:
    """The run's parameters as a small table, those that differ from the defaults marked."""
    if get_ipython() is None:
        return

    defaults = Params(build_dir=params.build_dir, data_dir=params.data_dir).to_dict()
    rows = []
    for name, value in params.to_dict().items():
        if name in ("build_dir", "data_dir", "memory_budget_gb") and not value:
            continue
        shown, default = _readable(value), _readable(defaults[name])
        mark = "" if value == defaults[name] or name == "build_dir" else f" (default: {default})"
        rows.append(f"| `{name}` | {shown}{mark} |")
    changed = sum("(default:" in r for r in rows)
    lead = (
        "This run uses the default parameters."
        if not changed
        else f"This run changes {changed} parameter{'s' if changed != 1 else ''} from the defaults."
    )
    table = "| parameter | value |\n|---|---|\n" + "\n".join(
        r for r in rows if not r.startswith("| `build_dir`")
    )
    display(Claim("parameters", f"{lead}\n\n{table}"))


def _readable(value: Any) -> str:
    """A parameter's value as a reader writes it (timestamps without the ISO "T")."""
    if isinstance(value, str) and len(value) == 19 and value[10] == "T":
        return value[:16].replace("T", " ") + ("" if value.endswith(":00") else value[16:])
    return str(value)


@dataclass(frozen=True)
class Code:
    """A piece of code (a diff, SQL, YAML) shown in monospace, highlighted, in every viewer:
    HTML with inline styles (JupyterLab, GitHub, the report), a fenced block as text."""

    text: str
    language: str = "text"

    def _repr_html_(self) -> str:
        formatter = HtmlFormatter(noclasses=True, nowrap=False, style="default")
        body = highlight(self.text, get_lexer_by_name(self.language), formatter)
        return (
            '<div class="fanout-code" style="font-family: monospace; font-size: 12px; '
            'overflow-x: auto; white-space: pre;">' + body + "</div>"
        )

    def _repr_markdown_(self) -> str:
        return f"```{self.language}\n{self.text.rstrip()}\n```"

    def __repr__(self) -> str:
        return self.text


# Everything this kernel recorded so far, for the claims that read several figures.
_RECORDED: dict[str, Any] = {}
_KINDS: dict[str, str] = {}


def record(**figures: Any) -> dict[str, Any]:
    """Record key figures in the notebook's output, where `fanout.incident.report.findings`
    reads them; returns every figure recorded so far in this kernel, as recorded (JSON-ready).

    Shows them to the reader as a table, formatted (money with two decimals and its unit);
    stores them as JSON under a MIME type of our own (decimals kept exact, as strings) with
    each figure's kind beside it.
    """

    plain = {name: jsonable(value) for name, value in figures.items()}
    kinds = {name: kind(value) for name, value in figures.items()}
    _RECORDED.update(plain)
    _KINDS.update(kinds)
    display({FINDINGS_MIME: plain, KINDS_MIME: kinds, **_table(plain, kinds)}, raw=True)
    return dict(_RECORDED)


def recorded() -> dict[str, Any]:
    """Every figure this kernel recorded, shown as one table (the notebook's findings)."""

    display(_table(_RECORDED, _KINDS), raw=True)
    return dict(_RECORDED)


def _table(plain: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, str]:
    shown = {name: story.show(plain[name], kinds.get(name)) for name in plain}
    width = max((len(n) for n in plain), default=0)
    html = "".join(
        f"<tr><td><code>{_escape(name)}</code></td><td>{_escape(shown[name])}</td></tr>"
        for name in plain
    )
    return {
        "text/html": f'<table class="fanout-findings">{html}</table>',
        "text/plain": "\n".join(f"{name:<{width}}  {shown[name]}" for name in plain),
    }


def _escape(text: str) -> str:
    return html.escape(text)
