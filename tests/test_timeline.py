"""The incident's timeline is the postmortem's, its measures follow the parameters, and an
incident that cannot happen in the data is refused before any work."""

from __future__ import annotations

import datetime as dt

import pytest

from fanout.errors import NotebookError, ParameterError
from fanout.incident import postmortem, timeline
from fanout.incident.params import Params
from fanout.incident.workbook import execute, notebook_paths

from .conftest import ROOT, run_cli

SHARED = ROOT.parent / "shared" / "incident" / "WT-05-postmortem.md"


def test_the_timeline_is_the_postmortems_seven_steps_word_for_word():
    steps = timeline.events(Params())
    assert [e.minutes_from_detection for e in steps] == [0, 15, 45, 60, 80, 95, 110]
    assert [(e.label, e.event) for e in steps] == postmortem.original().timeline
    assert steps[0].event == (
        "Finance analyst notices revenue dashboard shows $X, finance system shows $X/3"
    )
    assert [e.actor for e in steps] == ["Finance analyst"] * 2 + ["Data team"] * 5


@pytest.mark.skipif(
    not SHARED.exists(), reason="the shared incident folder is not beside this clone"
)
def test_the_repository_holds_the_original_postmortem_unchanged():
    assert (ROOT / "data" / "incident" / "WT-05-postmortem.md").read_bytes() == SHARED.read_bytes()


def test_every_part_of_the_postmortem_is_read_and_has_its_evidence():
    doc = postmortem.original()
    assert doc.sections == [
        "Incident Summary",
        "Timeline",
        "What Happened",
        "Root Cause",
        "Changes Made",
        "What Went Well",
        "What Could Be Better",
        "Agent Perspective",
    ]
    assert [name for name, _ in doc.summary] == list(postmortem.SUMMARY)
    assert len(doc.what_happened) == len(postmortem.HAPPENED) == 3
    assert [item for _, item in doc.changes] == list(postmortem.ACTIONS)
    assert {h for h, _ in doc.changes} == {
        "Immediate (in this fix)",
        "Process (this sprint)",
        "Tooling (next quarter)",
    }
    assert set(doc.went_well + doc.could_be_better + doc.agent_caught) == set(postmortem.BULLETS)
    assert doc.agent_judgment == list(postmortem.DECISIONS)
    assert doc.form_factor.startswith("This is a great agent-copilot scenario.")


def test_the_measures_at_the_defaults_are_the_postmortems():
    spans = timeline.spans(Params())
    assert spans["time_to_detect"].minutes == 120  # "~2 hours"
    assert spans["time_to_root_cause"].minutes == 80
    assert spans["time_to_fix"].minutes == 30  # "~30 min once root cause identified"
    assert spans["root_cause_to_deploy"].minutes == 15  # the fix deployed at T+95
    assert (spans["time_to_fix"].start_label, spans["time_to_fix"].end_label) == ("T+80", "T+110")
    assert spans["incident"].minutes == 230


def test_the_measures_follow_the_parameters():
    later = Params.from_mapping(
        detected_at="2026-10-28T16:05:00", fix_deployed_at="2026-10-28T18:20:00"
    )
    spans = timeline.spans(later)
    assert spans["time_to_fix"].minutes == 70  # T+80 to T+150
    assert spans["root_cause_to_deploy"].minutes == 55
    days_later = Params.from_mapping(
        detected_at="2026-10-31T09:00:00", fix_deployed_at="2026-10-31T10:35:00"
    )
    assert timeline.spans(days_later)["time_to_detect"].minutes == 3 * 24 * 60 - 5 * 60 - 5
    assert [e.label for e in timeline.events(days_later)][-1] == "T+110"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"days": 30},
            "the incident ends after the data: verification at fix_deployed_at + 15 min "
            "(2026-10-28 17:55:00) is after the last day of orders (2026-08-30",
        ),
        (
            {"start_date": "2026-10-28", "days": 5},
            "pr_deployed_at (2026-10-28 14:05:00) comes before the first daily build "
            "(2026-10-29 06:00:00",
        ),
        (
            {"fix_deployed_at": "2026-10-28T17:00:00"},
            "fix_deployed_at (2026-10-28 17:00:00) comes before step 5 of the timeline (T+80",
        ),
    ],
)
def test_an_impossible_incident_is_refused_in_one_sentence(values, message):
    with pytest.raises(ParameterError) as err:
        timeline.require(Params.from_mapping(values))
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_the_command_line_refuses_an_incident_outside_the_data_before_any_work(capsys, tmp_path):
    build = tmp_path / "build"
    code, _out, err = run_cli(capsys, "workbook", "--days", "30", "--build-dir", build)
    assert code == 2
    assert err.strip().endswith("move pr_deployed_at, detected_at and fix_deployed_at into the "
                                "data or set more days")  # fmt: skip
    assert len(err.strip().splitlines()) == 1
    assert not build.exists()


def test_a_notebook_refuses_an_incident_outside_the_data_in_its_first_cell(tmp_path):
    walk = next(nb for nb in notebook_paths() if nb.name.startswith("03-"))
    with pytest.raises(NotebookError) as err:
        execute(walk, tmp_path / walk.name, {"days": 30, "build_dir": str(tmp_path)})
    message = str(err.value)
    assert message.startswith(
        '03-walk-the-timeline.ipynb, in section "Parameters", the cell starting '
        "`from fanout.incident import notebook`: ParameterError: the incident ends after the data"
    )
    assert not (tmp_path / walk.name).exists()
    assert not (tmp_path / "data").exists()  # refused before generating anything


def test_the_last_step_may_end_on_the_last_day_of_data():
    params = Params.from_mapping(
        start_date="2026-10-01", days=28, fix_deployed_at="2026-10-28T23:40:00"
    )
    timeline.require(params)  # 23:55 on the last day: inside
    assert timeline.data_window(params)[1] == dt.datetime(2026, 10, 29)
