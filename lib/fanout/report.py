"""Read back what notebooks recorded, for tests and for the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fanout.errors import DataError
from fanout.notebook import FINDINGS_MIME

__all__ = ["findings", "outputs"]


def outputs(notebook: str | Path, mime: str) -> list[Any]:
    """The data of every output of type `mime` in an executed notebook, in order."""
    path = Path(notebook)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read notebook {path}: {exc}") from None
    return [
        output["data"][mime]
        for cell in doc.get("cells", [])
        for output in cell.get("outputs", [])
        if mime in output.get("data", {})
    ]


def findings(notebook: str | Path) -> dict[str, Any]:
    """Every figure an executed notebook recorded with `fanout.notebook.record`, by name."""
    found: dict[str, Any] = {}
    for figures in outputs(notebook, FINDINGS_MIME):
        found.update(figures)
    return found


_TOGGLE = """
<style>
  body:not(.show-code) .jp-CodeCell .jp-Cell-inputWrapper { display: none; }
  #fanout-toggle { position: fixed; top: 0.6em; right: 0.8em; z-index: 10; padding: 0.3em 0.8em;
                   font: 14px sans-serif; cursor: pointer; }
  #fanout-back { position: fixed; top: 0.6em; left: 0.8em; z-index: 10; font: 14px sans-serif; }
</style>
<a id="fanout-back" href="index.html">&larr; summary</a>
<button id="fanout-toggle" onclick="document.body.classList.toggle('show-code');
  this.textContent = document.body.classList.contains('show-code') ? 'Hide code' : 'Show code';"
>Show code</button>
"""


def _html(notebook: Path) -> str:
    """A notebook as a standalone HTML page, its code hidden until the reader asks for it."""
    import logging

    from nbconvert import HTMLExporter

    logging.getLogger("traitlets").setLevel(logging.ERROR)  # per-image alt-text notices
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_filename(str(notebook))
    return body.replace("</body>", _TOGGLE + "</body>", 1)


# The executive summary: (label, notebook, finding, how to show it).
SUMMARY = (
    (
        "Revenue shown on the dashboard",
        "02-reproduce-the-inflated-revenue",
        "dashboard_total",
        "money",
    ),
    (
        "Revenue in the finance system",
        "02-reproduce-the-inflated-revenue",
        "finance_total",
        "money",
    ),
    ("Overstated by", "02-reproduce-the-inflated-revenue", "overstatement", "money"),
    (
        "Inflation factor (dashboard / finance)",
        "02-reproduce-the-inflated-revenue",
        "inflation_ratio",
        "factor",
    ),
    (
        "stg_orders rows vs distinct orders",
        "02-reproduce-the-inflated-revenue",
        ("stg_orders_rows", "stg_orders_distinct_orders"),
        "pair",
    ),
    ("Dashboards affected", "03-walk-the-timeline", "dashboards_affected", "plain"),
    ("Marts affected", "03-walk-the-timeline", "marts_affected", "plain"),
    ("Time to detect", "03-walk-the-timeline", "time_to_detect_minutes", "minutes"),
    ("Time from detection to fix", "03-walk-the-timeline", "time_to_fix_minutes", "minutes"),
    (
        "Largest daily difference after the fix",
        "04-verify-the-fix",
        "max_daily_difference",
        "money",
    ),
    (
        "dbt tests passing after the fix",
        "04-verify-the-fix",
        ("dbt_tests_passed", "dbt_tests_total"),
        "of",
    ),
    (
        "First build a row-count monitor would have flagged",
        "05-chart-row-count-trends",
        "first_inflated_build",
        "plain",
    ),
)


def _show(value, how: str) -> str:
    if how == "money":
        return f"{float(value):,.2f}"
    if how == "factor":
        return f"{float(value):.3f}x"
    if how == "minutes":
        hours, minutes = divmod(int(value), 60)
        return f"{int(value)} min" + (f" ({hours} h {minutes:02d})" if hours else "")
    if how == "pair":
        return f"{value[0]:,} rows for {value[1]:,} orders"
    if how == "of":
        return f"{value[0]} of {value[1]}"
    return str(value).replace("T", " ")


def _summary_rows(found: dict[str, dict]) -> list[tuple[str, str, str]]:
    rows = []
    for label, name, key, how in SUMMARY:
        figures = found.get(name, {})
        keys = key if isinstance(key, tuple) else (key,)
        if not all(k in figures for k in keys):
            continue
        value = tuple(figures[k] for k in keys) if isinstance(key, tuple) else figures[key]
        rows.append((label, _show(value, how), name))
    return rows


def write_report(executed, out_dir: str | Path, title: str = "Incident WT-05: the fan-out bug"):
    """Render each executed notebook to HTML and write the summary page; returns its path."""
    import html

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    found = {}
    sections = []
    for ran in executed:
        page = out_dir / f"{ran.name}.html"
        _write(page, _html(ran.path))
        found[ran.name] = findings(ran.path)
        listing = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(json.dumps(v))}</td></tr>"
            for k, v in found[ran.name].items()
        )
        sections.append(
            f'<h3><a href="{page.name}">{html.escape(ran.name)}</a></h3>'
            f"<table class='figures'>{listing}</table>"
        )
    summary = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td>"
        f'<td><a href="{name}.html">{html.escape(name)}</a></td></tr>'
        for label, value, name in _summary_rows(found)
    )
    index = out_dir / "index.html"
    _write(
        index,
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
 body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; }}
 table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
 th, td {{ text-align: left; padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; }}
 table.figures td:first-child {{ font-family: monospace; }}
 .lead {{ font-size: 1.1em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="lead">A dbt staging model, <code>stg_orders</code>, joined <code>raw_order_items</code>.
Orders have several line items, so one row per order became one row per line item and every
revenue figure downstream was overstated. Every figure below was computed by a notebook on
real data; follow a link to see how.</p>
<h2>Executive summary</h2>
<table>{summary}</table>
<h2>The notebooks and their recorded figures</h2>
{"".join(sections)}
</body></html>
""",
    )
    return index


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
