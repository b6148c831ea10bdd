"""Read back what notebooks recorded, for tests and for the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fanout.errors import DataError
from fanout.notebook import FINDINGS_MIME

__all__ = ["findings"]


def findings(notebook: str | Path) -> dict[str, Any]:
    """Every figure an executed notebook recorded with `fanout.notebook.record`, by name."""
    path = Path(notebook)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read notebook {path}: {exc}") from None
    found: dict[str, Any] = {}
    for cell in doc.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if FINDINGS_MIME in data:
                found.update(data[FINDINGS_MIME])
    return found


def _html(notebook: Path) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_filename(str(notebook))
    return body


def write_report(executed, out_dir: str | Path) -> Path:
    """Render each executed notebook to HTML and write an index page; returns the index."""
    import html

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for ran in executed:
        page = out_dir / f"{ran.name}.html"
        tmp = page.with_name(f".{page.name}.tmp")
        tmp.write_text(_html(ran.path))
        tmp.replace(page)
        figures = findings(ran.path)
        listing = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
            for k, v in figures.items()
        )
        rows.append(
            f'<h2><a href="{page.name}">{html.escape(ran.name)}</a></h2><table>{listing}</table>'
        )
    index = out_dir / "index.html"
    tmp = index.with_name(".index.html.tmp")
    tmp.write_text(
        "<!doctype html><meta charset='utf-8'><title>Incident WT-05: the fan-out bug</title>"
        "<h1>Incident WT-05: the fan-out bug</h1>" + "".join(rows)
    )
    tmp.replace(index)
    return index
