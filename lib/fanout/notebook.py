"""What every notebook does first: read its parameters, and record its findings."""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fanout.params import PARAMETERS, Params

__all__ = ["FINDINGS_MIME", "parameters", "record"]

FINDINGS_MIME = "application/vnd.fanout.findings+json"
# Names IPython puts in a notebook's namespace by itself.
_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


def parameters(namespace: Mapping[str, Any]) -> Params:
    """Validated parameters from a notebook's globals (its parameters cell plus what papermill
    injected). A name that is not a parameter is reported as unknown.

    >>> parameters({"days": 3, "seed": 1}).days
    3
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
    from fanout import timeline

    params = Params.from_mapping(values)  # names that are not parameters are reported there
    timeline.check(params)
    return params


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record(**figures: Any) -> None:
    """Record key figures in the notebook's output, where `fanout.report.findings` reads them.

    Shows them as a table to the reader; stores them as JSON under a MIME type of our own.
    Decimals are kept exact, as strings.
    """
    from IPython.display import display

    plain = {name: _plain(value) for name, value in figures.items()}
    width = max(len(n) for n in plain)
    text = "\n".join(f"{name:<{width}}  {json.dumps(value)}" for name, value in plain.items())
    display({FINDINGS_MIME: plain, "text/plain": text}, raw=True)
