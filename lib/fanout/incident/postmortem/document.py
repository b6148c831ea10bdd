"""The original postmortem (`data/incident/WT-05-postmortem.md`), read section by section,
its words unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field

from fanout.incident.paths import project_root

__all__ = ["DOCUMENT", "Original", "original"]

DOCUMENT = "WT-05-postmortem.md"


@dataclass
class Original:
    """The postmortem's parts, its words unchanged."""

    title: str
    summary: list[tuple[str, str]] = field(default_factory=list)  # (field, detail)
    timeline: list[tuple[str, str]] = field(default_factory=list)  # (time, event)
    what_happened: list[str] = field(default_factory=list)  # paragraphs
    root_cause: list[str] = field(default_factory=list)  # paragraphs and bullets, Markdown
    changes: list[tuple[str, str]] = field(default_factory=list)  # (horizon, item)
    went_well: list[str] = field(default_factory=list)
    could_be_better: list[str] = field(default_factory=list)
    agent_caught: list[str] = field(default_factory=list)
    agent_judgment: list[str] = field(default_factory=list)
    form_factor: str = ""
    sections: list[str] = field(default_factory=list)  # the "## " headings, in order


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _blocks(lines: list[str]) -> list[str]:
    """Paragraphs and list items of a section body, each as one Markdown string."""
    out, current = [], []
    for line in lines:
        if not line.strip() or line.strip() == "---":
            if current:
                out.append(" ".join(current))
                current = []
        elif line.lstrip().startswith("- "):
            if current:
                out.append(" ".join(current))
            current = [line.strip()]
        else:
            current.append(line.strip())
    if current:
        out.append(" ".join(current))
    return out


def original(text: str | None = None) -> Original:
    """Parse the postmortem; `text` defaults to the repository's copy."""
    if text is None:
        text = (project_root() / "data" / "incident" / DOCUMENT).read_text()
    title = next(line[2:].strip() for line in text.splitlines() if line.startswith("# "))
    doc = Original(title)
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            doc.sections.append(current)
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    for line in sections["Incident Summary"]:
        cells = _cells(line)
        if line.startswith("|") and len(cells) == 2 and cells[0].startswith("**"):
            doc.summary.append((cells[0].strip("*"), cells[1]))
    for line in sections["Timeline"]:
        cells = _cells(line)
        if line.startswith("| T+"):
            doc.timeline.append((cells[0], cells[1]))
    doc.what_happened = _blocks(sections["What Happened"])
    doc.root_cause = _blocks(sections["Root Cause"])
    horizon = ""
    for line in sections["Changes Made"]:
        if line.startswith("### "):
            horizon = line[4:].strip()
        elif line.startswith("- [ ] "):
            doc.changes.append((horizon, line[6:].strip()))
    doc.went_well = [b[2:] for b in _blocks(sections["What Went Well"]) if b.startswith("- ")]
    doc.could_be_better = [
        b[2:] for b in _blocks(sections["What Could Be Better"]) if b.startswith("- ")
    ]
    part = None
    for block in _blocks(sections["Agent Perspective"]):
        if block.startswith("**What an agent could have caught"):
            part = doc.agent_caught
        elif block.startswith("**What needed human judgment"):
            part = doc.agent_judgment
        elif block.startswith("**Form factor implication"):
            part = None
            doc.form_factor = block.split("**", 2)[2].strip()
        elif block.startswith("- ") and part is not None:
            part.append(block[2:])
        elif part is None:
            doc.form_factor = f"{doc.form_factor} {block}".strip()
    return doc
