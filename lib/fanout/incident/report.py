"""Read back what notebooks recorded, for tests and for the report."""

from __future__ import annotations

import base64
import json
import logging
import re
import shutil
import threading
from pathlib import Path
from typing import Any

from fanout.errors import DataError
from fanout.incident import frontpage
from fanout.incident.notebook import CLAIM_MIME, FINDINGS_MIME, KINDS_MIME

__all__ = ["anchors", "claims", "figures_of", "findings", "kinds", "outputs", "write_report"]


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
    """Every figure an executed notebook recorded with `notebook.record`, by name."""
    found: dict[str, Any] = {}
    for figures in outputs(notebook, FINDINGS_MIME):
        found.update(figures)
    return found


TEMPLATES = Path(__file__).parents[1] / "templates"  # lib/fanout/templates (package data)
FIGURE_TAG = "report-figure:"  # a cell tagged report-figure:NAME gives the front page a chart
# The parts of MathJax 2.7 (jupyter-server-mathjax) that TeX input with MathML output loads.
MATHJAX_PARTS = (
    "MathJax.js",
    "config/TeX-AMS-MML_HTMLorMML-full.js",
    "extensions",
    "jax/input",
    "jax/element",
)


def kinds(notebook: str | Path) -> dict[str, str]:
    """Each recorded figure's kind (money, count, ...), by name."""

    found: dict[str, str] = {}
    for k in outputs(notebook, KINDS_MIME):
        found.update(k)
    return found


def claims(notebook: str | Path) -> dict[str, str]:
    """The words an executed notebook computed (`fanout.incident.story`), by claim name; a
    name shown twice keeps its last text."""

    return {c["name"]: c["text"] for c in outputs(notebook, CLAIM_MIME)}


def figures_of(notebook: str | Path) -> dict[str, bytes]:
    """The charts of the cells tagged `report-figure:NAME`, as PNG bytes by NAME."""

    doc = json.loads(Path(notebook).read_text())
    out = {}
    for cell in doc.get("cells", []):
        for tag in cell.get("metadata", {}).get("tags", []):
            if not tag.startswith(FIGURE_TAG):
                continue
            png = next(
                (
                    o["data"]["image/png"]
                    for o in cell.get("outputs", [])
                    if "image/png" in o.get("data", {})
                ),
                None,
            )
            if png is not None:
                out[tag[len(FIGURE_TAG) :]] = base64.b64decode("".join(png))
    return out


_EXPORTERS = threading.local()  # one per thread: each compiles the templates once


def render_page(notebook: Path) -> str:
    """A notebook as a standalone HTML page that loads nothing from outside the report folder,
    its code hidden until the reader asks for it (templates/fanout). Safe to call from
    several threads at once (the runner renders each page as its notebook finishes)."""
    exporter = getattr(_EXPORTERS, "exporter", None)
    if exporter is None:
        exporter = _EXPORTERS.exporter = _exporter()
    body, _ = exporter.from_filename(str(notebook))
    return body


def _exporter():
    from nbconvert import HTMLExporter  # lazy: seconds to import; only the report needs it

    logging.getLogger("traitlets").setLevel(logging.ERROR)  # per-image alt-text notices
    exporter = HTMLExporter(template_name="fanout", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def anchors(page: str) -> dict[str, str]:
    """The ids of a rendered notebook's sections, by section number ("3") and "" for its top."""

    found = {}
    for level, ident in re.findall(r'<h([12])[^>]*\sid="([^"]+)"', page):
        if level == "1" and "" not in found:
            found[""] = ident
        number = re.match(r"(\d+)\.-", ident)
        if level == "2" and number:
            found.setdefault(number.group(1), ident)
    return found


def _copy_mathjax(out_dir: Path) -> None:
    import jupyter_server_mathjax  # lazy: seconds to import; only the report needs it

    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = out_dir / "mathjax"
    for part in MATHJAX_PARTS:
        source = static / part
        if source.is_dir():
            shutil.copytree(
                source, target / part, dirs_exist_ok=True, ignore=shutil.ignore_patterns("a11y")
            )
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / part)


def write_report(executed, out_dir: str | Path, params=None, rendered=None) -> Path:
    """Render each executed notebook to HTML (unless `rendered`, by notebook name, holds its
    page already), then the front page (the postmortem re-told with this run's evidence),
    the recorded figures and the restatement for finance; returns the front page's path.
    Everything a page needs is inside `out_dir`."""

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    found, kinds_of, links, charts, pages = {}, {}, {}, {}, []
    for ran in executed:
        page = out_dir / f"{ran.name}.html"
        html = (rendered or {}).get(ran.name) or render_page(ran.path)
        _write(page, html)
        number = ran.name[:2]
        found[number] = findings(ran.path)
        kinds_of[number] = kinds(ran.path)
        links[number] = (page.name, anchors(html))
        charts.update(figures_of(ran.path))
        pages.append((number, ran.name, page.name))
    _copy_mathjax(out_dir)
    if charts:
        (out_dir / "figures").mkdir(exist_ok=True)
        for name, png in charts.items():
            _write_bytes(out_dir / "figures" / f"{name}.png", png)
    for name, text in frontpage.restatement_csvs(found).items():
        _write(out_dir / name, text)
    _write(out_dir / "figures.html", frontpage.figures_page(found, kinds_of, pages))
    index = out_dir / "index.html"
    _write(index, frontpage.index_page(found, links, sorted(charts), pages, params))
    return index


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
