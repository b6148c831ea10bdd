"""The report's own pages: the front page (the postmortem re-told with this run's evidence),
the recorded figures, and the restatement for finance as CSV.

Everything here is rendered from the notebooks' recorded findings; the words come from
`fanout.incident.story` and `fanout.incident.postmortem`, so they hold at any parameters.
Nothing is loaded from outside the report folder.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal

import mistune

from fanout.incident import postmortem, story
from fanout.incident.notebook import _readable
from fanout.incident.params import Params
from fanout.incident.postmortem import All, Evidence
from fanout.incident.story import money, when

__all__ = ["figures_page", "index_page", "restatement_csvs"]

HORIZONS = {
    "Immediate (in this fix)": "this fix",
    "Process (this sprint)": "this sprint",
    "Tooling (next quarter)": "next quarter",
}

CSS = """
 body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f;
        max-width: 72em; margin: 2em auto; padding: 0 1.2em; }
 h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 2px solid #ddd; }
 .kicker { color: #666; margin: 0; text-transform: uppercase; letter-spacing: 0.05em;
           font-size: 0.8em; }
 table { border-collapse: collapse; margin: 0.6em 0 1.2em; width: 100%; }
 th, td { text-align: left; vertical-align: top; padding: 0.35em 0.7em;
          border-bottom: 1px solid #e3e3e3; }
 thead th { background: #f5f5f7; }
 td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
 .original { color: #555; border-left: 3px solid #c9c9c9; padding-left: 0.8em; margin: 0.8em 0; }
 .original p { margin: 0.3em 0; }
 .evidence { background: #f3f8f3; border-left: 3px solid #55A868; padding: 0.4em 0.8em;
             margin: 0.3em 0 1em; }
 .evidence p { margin: 0; }
 .source { font-size: 0.85em; white-space: nowrap; }
 code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em;
        background: #f2f2f2; padding: 0 0.2em; border-radius: 3px; }
 .run { display: grid; grid-template-columns: repeat(auto-fill, minmax(16em, 1fr));
        gap: 0.2em 1.5em; background: #fafafa; border: 1px solid #e3e3e3; padding: 0.6em 1em;
        font-size: 0.9em; }
 .run .changed { font-weight: bold; color: #a23; }
 nav.toc { margin: 1em 0; font-size: 0.95em; } nav.toc a { margin-right: 1em; }
 figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
 figcaption { color: #555; font-size: 0.9em; }
 .decision { border: 1px solid #e3e3e3; border-radius: 4px; padding: 0.2em 1em 0.6em;
             margin: 1em 0; }
 .decision h4 { margin: 0.6em 0 0.3em; }
 .decision dl { margin: 0; } .decision dt { font-weight: bold; margin-top: 0.4em; }
 .decision dd { margin: 0 0 0 1em; }
 table.timeline td:nth-child(2) { white-space: nowrap; }
 table.actions td:nth-child(1) { width: 26%; } table.actions td:nth-child(2) { width: 8%; }
 table.actions td:nth-child(3) { width: 26%; } table.actions td:nth-child(4) { width: 40%; }
 table.actions code { word-break: break-all; }
 details summary { cursor: pointer; color: #245; }
 @media print { details { display: block; } }
"""


def _md(text: str) -> str:
    """Inline Markdown (code, bold, links) as HTML, without the surrounding paragraph."""

    rendered = mistune.html(text).strip()
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        rendered = rendered[3:-4]
    return rendered


def _link(e: Evidence, links: Mapping[str, tuple[str, Mapping[str, str]]]) -> str:
    if not e.notebook or e.notebook not in links:
        return ""
    page, ids = links[e.notebook]
    anchor = ids.get(e.section, "")
    label = f"notebook {e.notebook}" + (f", section {e.section}" if e.section else "")
    href = page + (f"#{anchor}" if anchor else "")
    return f'<a class="source" href="{html.escape(href)}">{label}</a>'


def _evidence(e: Evidence, links) -> str:
    link = _link(e, links)
    return f"{_md(e.text)}" + (f" <span class='source'>({link})</span>" if link else "")


def _evidence_box(e: Evidence, links) -> str:
    return f'<div class="evidence">{_evidence(e, links)}</div>'


def _table(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: set[int] = frozenset(),
    css: str = "",
) -> str:
    cells = "".join(
        f"<th{' class=num' if i in numeric else ''}>{h}</th>" for i, h in enumerate(head)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i in numeric else ''}>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _run_box(params, found: All) -> str:
    if params is None:
        return ""

    defaults = Params(build_dir=params.build_dir, data_dir=params.data_dir).to_dict()
    items = []
    changed = 0
    for name, value in params.to_dict().items():
        if name == "build_dir" or (name in ("data_dir", "memory_budget_gb") and not value):
            continue
        differs = value != defaults[name]
        changed += differs

        shown = _readable(value)
        cls = ' class="changed"' if differs else ""
        items.append(f"<div{cls}><code>{html.escape(name)}</code> {html.escape(shown)}</div>")
    f1 = found.get("01", {})
    size = ""
    if "raw_orders_rows" in f1:
        size = (
            f"{f1['raw_orders_rows']:,} orders, {f1['raw_order_items_rows']:,} line items, "
            f"{story.count(f1['finance_days'], 'day')} of data. "
        )
    lead = (
        "This run uses the default parameters: the incident as it happened."
        if not changed
        else f"This run changes {story.count(changed, 'parameter')} from the defaults "
        "(in red): every figure below is this run's, not the incident's."
    )
    return (
        f"<p>{html.escape(lead)} {html.escape(size)}Money in US dollars ($), to the cent.</p>"
        f'<div class="run">{"".join(items)}</div>'
    )


def _original(text: str) -> str:
    return f'<div class="original">{mistune.html(text)}</div>'


def _figure(name: str, charts: Sequence[str], caption: str) -> str:
    if name not in charts:
        return ""
    return (
        f'<figure><img src="figures/{name}.png" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _summary(doc, found, links) -> str:
    rows = []
    for name, detail in doc.summary:
        make = postmortem.SUMMARY.get(name)
        got = postmortem.evidence(make, found) if make else Evidence("", "", "")
        rows.append((f"<b>{html.escape(name)}</b>", _md(detail), _evidence(got, links)))
    return _table(("", "The postmortem", "At this run"), rows)


def _timeline(doc, found, links, charts) -> str:
    try:
        steps = postmortem.timeline_rows(found)
    except postmortem.Missing as missing:
        return f"<p>Not computed in this run: notebook {missing} did not run.</p>"
    rows = [
        (html.escape(label), html.escape(at), _md(event), _evidence(e, links))
        for label, at, event, e in steps
    ]
    out = _table(("Time", "At", "The postmortem", "What the workbook finds"), rows, css="timeline")
    f3 = found["03"]
    measures = story.measures(f3).text
    out += _markdown_table(measures)
    return out + _figure(
        "timeline",
        charts,
        "The incident on a time axis (notebook 03): from the PR's deploy "
        "to the verified fix, and the postmortem's seven steps.",
    )


def _markdown_table(text: str) -> str:
    return mistune.create_markdown(plugins=["table"])(text)


def _paired(blocks, makers, found, links) -> str:
    out = []
    for i, block in enumerate(blocks):
        out.append(_original(block))
        if i < len(makers):
            out.append(_evidence_box(postmortem.evidence(makers[i], found), links))
    return "".join(out)


def _actions(doc, found, links) -> str:
    rows = []
    for horizon, item in doc.changes:
        action = postmortem.ACTIONS.get(item)
        if action is None:
            rows.append((_md(item), HORIZONS.get(horizon, horizon), "", ""))
            continue
        e = postmortem.evidence(action.evidence, found)
        rows.append(
            (_md(item), HORIZONS.get(horizon, horizon), _md(action.where), _evidence(e, links))
        )
    return _table(
        ("Action item", "Horizon", "Where in this repository", "Evidence that it works"),
        rows,
        css="actions",
    )


def _bullets(items, found, links) -> str:
    rows = []
    for item in items:
        make = postmortem.BULLETS.get(item)
        e = postmortem.evidence(make, found) if make else Evidence("", "", "")
        rows.append((_md(item), _evidence(e, links)))
    return _table(("The postmortem", "At this run"), rows)


def _decisions(doc, found, links) -> str:
    out = []
    for question in doc.agent_judgment:
        d = postmortem.DECISIONS.get(question)
        if d is None:
            out.append(f'<div class="decision"><h4>{_md(question)}</h4></div>')
            continue
        e = postmortem.evidence(d.evidence, found)
        out.append(
            f'<div class="decision"><h4>{_md(question)}</h4><dl>'
            f"<dt>Options</dt><dd>{_md(d.options)}</dd>"
            f"<dt>Evidence</dt><dd>{_evidence(e, links)}</dd>"
            f"<dt>Decided</dt><dd>{_md(d.decided)}</dd></dl></div>"
        )
    return "".join(out) + _restatement(found)


def _restatement(found: All) -> str:
    f4 = found.get("04")
    if not f4 or "restatement" not in f4:
        return ""
    rows = []
    for dashboard, figure, unit, shown, true in f4["restatement_dashboards"]:
        fmt = (
            (lambda v: money(v, sign=True))
            if unit == "currency"
            else (lambda v: f"{float(v):,.0f}")
        )
        ratio = float(shown) / float(true) if float(true) else float("nan")
        rows.append(
            (f"<code>{html.escape(dashboard)}</code>", html.escape(figure), fmt(shown), fmt(true),
             html.escape(story.relative(ratio, "the truth")))
        )  # fmt: skip
    out = "<h4>The restatement, per dashboard</h4>" + _table(
        ("Dashboard", "Figure", "Shown before the fix", "True", "Shown"), rows, {2, 3}
    )
    days = []
    for day, shown, true, complete in f4["restatement"]:
        diff = Decimal(str(shown)) - Decimal(str(true))
        days.append(
            (when(day) + ("" if complete else " (day in progress)"), money(shown, sign=True),
             money(true, sign=True), money(diff, sign=True))
        )  # fmt: skip
    out += (
        f"<details><summary>The restatement, per day: {story.count(len(days), 'day')} "
        f'(also in <a href="restatement.csv">restatement.csv</a>)</summary>'
        + _table(("Revenue date", "Shown", "True", "Overstated by"), days, {1, 2, 3})
        + "</details>"
    )
    return out


def index_page(found: All, links, charts: Sequence[str], pages, params=None) -> str:
    """The front page: every section of the original postmortem, in its order, each claim
    with this run's evidence and a link to the notebook section that computes it."""
    doc = postmortem.original()
    sections = {
        "Incident Summary": lambda: _summary(doc, found, links),
        "Timeline": lambda: _timeline(doc, found, links, charts),
        "What Happened": lambda: (
            _paired(doc.what_happened, postmortem.HAPPENED, found, links)
            + _figure(
                "at-the-ping",
                charts,
                "What the dashboard showed at the ping (T+15), day by day, "
                "against finance's books (notebook 03).",
            )
            + _figure(
                "row-counts",
                charts,
                "Rows and distinct keys per model at every build around the "
                "incident, and the runtime (notebook 05).",
            )
        ),
        "Root Cause": lambda: (
            "".join(_original(b) for b in doc.root_cause)
            + "".join(
                _evidence_box(postmortem.evidence(m, found), links) for m in postmortem.ROOT_CAUSE
            )
        ),
        "Changes Made": lambda: _actions(doc, found, links),
        "What Went Well": lambda: _bullets(doc.went_well, found, links),
        "What Could Be Better": lambda: _bullets(doc.could_be_better, found, links),
        "Agent Perspective": lambda: (
            "<h3>What an agent could have caught</h3>"
            + _bullets(doc.agent_caught, found, links)
            + "<h3>What needed human judgment</h3>"
            + _decisions(doc, found, links)
            + "<h3>Form factor implication</h3>"
            + _original(doc.form_factor)
            + _evidence_box(postmortem.evidence(postmortem.form_factor, found), links)
        ),
    }
    ids = {name: name.lower().replace(" ", "-") for name in doc.sections}
    toc = " ".join(f'<a href="#{ids[n]}">{html.escape(n)}</a>' for n in doc.sections)
    body = "".join(
        f'<section id="{ids[name]}"><h2>{html.escape(name)}</h2>{sections[name]()}</section>'
        for name in doc.sections
        if name in sections
    )
    notebooks = "".join(
        f'<li><a href="{page}">{html.escape(name)}</a></li>' for _, name, page in pages
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(doc.title)}</title><style>{CSS}</style></head><body>
<header>
<p class="kicker">Incident WT-05 · the executable postmortem</p>
<h1>{html.escape(doc.title)}</h1>
<p>The original postmortem, section by section, in its own words (grey). Beside each claim, in
green, what this run of the workbook computed for it, with a link to the notebook section that
computes it.</p>
{_run_box(params, found)}
<nav class="toc">{toc} · <a href="figures.html">Recorded figures</a>
· <a href="restatement.csv">restatement.csv</a></nav>
</header>
{body}
<section id="notebooks"><h2>The notebooks</h2><ul>{notebooks}
<li><a href="figures.html">Every figure the notebooks recorded</a></li></ul></section>
</body></html>
"""


def figures_page(found: All, kinds: Mapping[str, Mapping[str, str]], pages) -> str:
    """Every recorded figure, by notebook, formatted by its kind (money with its unit)."""
    parts = []
    for number, name, page in pages:
        rows = [
            (
                f"<code>{html.escape(k)}</code>",
                html.escape(story.show(v, kinds.get(number, {}).get(k))),
            )
            for k, v in found.get(number, {}).items()
            if k not in ("restatement", "timeline")
        ]
        parts.append(
            f'<h2><a href="{page}">{html.escape(name)}</a></h2>' + _table(("Figure", "Value"), rows)
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Recorded figures</title>
<style>{CSS}</style></head><body>
<p><a href="index.html">&larr; the postmortem</a></p>
<h1>Recorded figures</h1>
<p>Every figure the notebooks recorded in this run (<code>fanout.incident.notebook.record</code>);
the tests read the same values back and check them against the raw data. Money in US dollars
(USD), to the cent. The restatement per day is in <a href="restatement.csv">restatement.csv</a>.</p>
{"".join(parts)}
</body></html>
"""


def restatement_csvs(found: All) -> dict[str, str]:
    """The restatement for finance: per day, and per dashboard figure (empty when notebook 04
    did not run)."""
    f4 = found.get("04")
    if not f4 or "restatement" not in f4:
        return {}
    days = io.StringIO()
    w = csv.writer(days, lineterminator="\n")
    w.writerow(
        ["revenue_date", "shown_on_dashboard", "true_revenue", "overstated_by", "complete_day"]
    )
    for day, shown, true, complete in f4["restatement"]:
        diff = Decimal(str(shown)) - Decimal(str(true))
        w.writerow([day, shown, true, f"{diff:.2f}", str(bool(complete)).lower()])
    dashboards = io.StringIO()
    w = csv.writer(dashboards, lineterminator="\n")
    w.writerow(["dashboard", "figure", "unit", "shown_before_the_fix", "true"])
    for row in f4["restatement_dashboards"]:
        w.writerow(row)
    return {"restatement.csv": days.getvalue(), "restatement-dashboards.csv": dashboards.getvalue()}
