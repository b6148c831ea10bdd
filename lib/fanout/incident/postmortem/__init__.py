"""The original postmortem (`data/incident/WT-05-postmortem.md`), read section by section
(`document`), and each of its claims paired with the evidence this run computed.

The document's words are kept as they are; the evidence beside them comes from the
notebooks' recorded findings (`fanout.incident.report.findings`), worded by
`fanout.incident.story`. Every evidence function takes the findings of all notebooks, keyed
by their number ("01" ... "06"), and returns Markdown plus the notebook section that
computes it (`evidence`): the summary, timeline, what happened and root cause (`summary`),
the action items (`actions`), the lessons (`lessons`) and the decisions (`decisions`).
"""

from fanout.incident.postmortem.actions import ACTIONS, Action
from fanout.incident.postmortem.decisions import DECISIONS, Decision
from fanout.incident.postmortem.document import Original, original
from fanout.incident.postmortem.evidence import All, Evidence, Missing, evidence
from fanout.incident.postmortem.lessons import BULLETS, form_factor
from fanout.incident.postmortem.summary import HAPPENED, ROOT_CAUSE, SUMMARY, timeline_rows

__all__ = [
    "ACTIONS",
    "BULLETS",
    "DECISIONS",
    "HAPPENED",
    "ROOT_CAUSE",
    "SUMMARY",
    "Action",
    "All",
    "Decision",
    "Evidence",
    "Missing",
    "Original",
    "evidence",
    "form_factor",
    "original",
    "timeline_rows",
]
