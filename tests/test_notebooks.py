"""Every notebook executed with papermill, at the defaults and at two other parameter sets,
its recorded findings compared with figures computed independently from the raw files."""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from fanout.errors import NotebookError
from fanout.incident import postmortem, story, workbook
from fanout.incident.data.dataset import dataset_dir
from fanout.incident.notebook import FINDINGS_MIME
from fanout.incident.params import PARAMETERS, Params
from fanout.incident.report import claims, findings
from fanout.incident.workbook import execute, notebook_paths

from .conftest import read_raw

pytestmark = pytest.mark.notebooks

PARAMETER_SETS = {
    "default": {},
    # another seed, fewer items per order, later dates; finance notices three days later
    "three-days-later": {
        "seed": 11,
        "start_date": "2026-09-01",
        "days": 21,
        "orders_per_day": 25,
        "mean_items_per_order": 1.8,
        "pr_deployed_at": "2026-09-15T10:00:00",
        "detected_at": "2026-09-18T10:00:00",
        "fix_deployed_at": "2026-09-18T11:35:00",
    },
    # small baskets: the inflation stays under 1.5x, too small for the anomaly detector
    "small-baskets": {"mean_items_per_order": 1.2},
    # many items per order, a short history, other dates and window
    "big-baskets": {
        "seed": 3,
        "days": 30,
        "orders_per_day": 15,
        "mean_items_per_order": 4.0,
        "pr_deployed_at": "2026-08-25T09:30:00",
        "detected_at": "2026-08-25T11:00:00",
        "fix_deployed_at": "2026-08-25T13:00:00",
    },
}


def _shared_folder(tmp_path_factory) -> Path:
    """A folder every xdist worker of this session sees (each worker's basetemp is a sibling)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "workbook-runs"


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    """The workbook run once per parameter set and session, by whichever worker needs it first
    (`fanout.incident.workbook.run`: the builds once, the notebooks, the report):
    `executed(name)` returns (params, raw facts, executed notebook paths).

    Workers share the runs: a worker that needs a set another worker is running runs a set
    nobody has claimed yet, then waits for its own."""
    shared = _shared_folder(tmp_path_factory)
    shared.mkdir(parents=True, exist_ok=True)
    loaded = {}

    def done_file(name: str) -> Path:
        return shared / name / "done.json"

    def run_if_free(name: str, wait: bool) -> bool:
        with (shared / f"{name}.lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return False
            if not done_file(name).exists():
                values = {**PARAMETER_SETS[name], "build_dir": str(shared / name)}
                ran = workbook.run(Params.from_mapping(values), jobs=1, say=lambda _: None)
                done = {e.name: str(e.path) for e in ran.executed}
                done_file(name).write_text(json.dumps({"outputs": done, "report": str(ran.report)}))
            return True

    def run(name):
        if name not in loaded:
            if not done_file(name).exists() and not run_if_free(name, wait=False):
                for other in PARAMETER_SETS:
                    if other != name and not done_file(other).exists():
                        run_if_free(other, wait=False)
                run_if_free(name, wait=True)
            params = Params.from_mapping({**PARAMETER_SETS[name], "build_dir": str(shared / name)})
            done = json.loads(done_file(name).read_text())
            outputs = {stem: Path(path) for stem, path in done["outputs"].items()}
            loaded[name] = (params, read_raw(dataset_dir(params)), outputs, Path(done["report"]))
        return loaded[name][:3]

    run.report = lambda name: (run(name), loaded[name][3])[1]
    return run


def test_every_notebook_has_a_findings_check():
    assert {nb.stem for nb in notebook_paths()} <= set(CHECKS)


# Grouped by parameter set for xdist (loadgroup); the `executed` fixture shares each set's run
# between workers in any case, so every set runs once per session.
CASES = [
    pytest.param(name, nb.stem, marks=pytest.mark.xdist_group(name), id=f"{name}-{nb.stem[:2]}")
    for name in PARAMETER_SETS
    for nb in notebook_paths()
]


@pytest.mark.parametrize(("parameter_set", "name"), CASES)
def test_notebook_findings_match_the_raw_data(executed, parameter_set, name):
    params, facts, outputs = executed(parameter_set)
    CHECKS[name](findings(outputs[name]), facts, params)


def check_01(found, facts, params):
    assert found["raw_orders_rows"] == found["raw_orders_distinct_order_ids"] == facts.orders
    assert found["raw_order_items_rows"] == facts.items
    assert found["raw_order_items_distinct_order_item_ids"] == facts.items
    assert found["raw_order_items_distinct_order_ids"] == len(facts.items_per_order)
    assert found["orders_without_items"] == len(facts.order_ids - set(facts.items_per_order))
    assert found["amount_mismatches"] == 0
    assert found["mean_items_per_order"] == pytest.approx(facts.items / facts.orders, abs=1e-6)
    assert found["revenue_weighted_items_per_order"] == pytest.approx(
        float(facts.weighted_items), abs=1e-6
    )
    assert found["finance_days"] == params.days
    assert Decimal(found["finance_total_revenue"]) == sum(facts.finance.values())
    assert Decimal(found["orders_total_amount"]) == facts.total_amount
    assert found["days_finance_differs_from_orders"] == 0


def check_02(found, facts, params):
    assert Decimal(found["dashboard_total"]) == facts.fanned_amount
    assert Decimal(found["finance_total"]) == facts.total_amount
    assert Decimal(found["overstatement"]) == facts.fanned_amount - facts.total_amount
    assert found["inflation_ratio"] == pytest.approx(float(facts.weighted_items), abs=1e-6)
    assert found["revenue_weighted_items_per_order"] == found["inflation_ratio"]
    assert found["mean_items_per_order"] == pytest.approx(facts.items / facts.orders, abs=1e-6)
    assert found["inflation_is_weighted_items"] is True
    assert found["stg_orders_rows"] == facts.items
    assert found["stg_orders_distinct_orders"] == facts.orders
    assert found["baseline_stg_orders_rows"] == facts.orders
    assert found["days"] == params.days
    multi_item_days = {facts.order_date[o] for o, n in facts.items_per_order.items() if n > 1}
    assert found["days_overstated"] == len(multi_item_days)
    assert found["enrichment_dbt_build_passed"] is True


def _shown_before(facts, at):
    """(fanned-out revenue, true revenue) of the orders placed before `at`, per day."""
    shown, true = {}, {}
    for o, t in facts.ordered_at.items():
        if t < at:
            day = t.date()
            shown[day] = shown.get(day, Decimal(0)) + facts.amount[o] * facts.items_per_order[o]
            true[day] = true.get(day, Decimal(0)) + facts.amount[o]
    return shown, true


def check_03(found, facts, params):
    detect = params.detected_at - params.pr_deployed_at
    fix = params.fix_deployed_at - params.detected_at
    assert found["time_to_detect_minutes"] == detect.total_seconds() / 60
    assert found["time_to_root_cause_minutes"] == 80
    # the postmortem's "time to fix": from the root cause (T+80) to verified (fix + 15 min)
    assert found["time_to_fix_minutes"] == fix.total_seconds() / 60 + 15 - 80
    assert found["root_cause_to_fix_deploy_minutes"] == fix.total_seconds() / 60 - 80
    assert found["incident_minutes"] == (detect + fix).total_seconds() / 60 + 15
    assert [row[0] for row in found["timeline"]] == [
        "T+0", "T+15", "T+45", "T+60", "T+80", f"T+{round(fix.total_seconds() / 60)}",
        f"T+{round(fix.total_seconds() / 60) + 15}",
    ]  # fmt: skip
    live = max(b for b in _expected_builds(params) if b <= params.detected_at)
    assert found["last_build_before_detection"] == live.isoformat()
    day = live.date() - dt.timedelta(days=1)
    shown, _ = _shown_before(facts, live)
    assert Decimal(found["dashboard_at_detection"]) == shown[day]
    assert Decimal(found["finance_at_detection"]) == facts.finance[day]
    assert found["dashboard_ratio_at_detection"] == pytest.approx(
        float(shown[day] / facts.finance[day]), abs=1e-6
    )
    ping = max(
        b for b in _expected_builds(params) if b <= params.detected_at + dt.timedelta(minutes=15)
    )
    shown, _ = _shown_before(facts, ping)
    complete = [d for d in shown if d < ping.date()]
    assert Decimal(found["dashboard_total_at_ping"]) == sum(shown[d] for d in complete)
    assert Decimal(found["finance_total_at_ping"]) == sum(facts.finance[d] for d in complete)
    assert found["deploys_in_day_before_detection"] == int(detect <= dt.timedelta(hours=24))
    assert found["last_deploy_before_detection"] == 482
    assert found["marts_affected"] == 2
    assert found["dashboards_affected"] == 3
    assert found["dashboards"] == ["executive_kpis", "orders_overview", "revenue_dashboard"]
    assert found["grain_query_rows"] == facts.items
    assert found["grain_query_orders"] == facts.orders
    assert found["verification_days_disagreeing"] == 0


def check_04(found, facts, params):
    assert found["max_daily_difference"] == "0.00"
    assert found["days_reconciled"] == params.days
    assert found["days_disagreeing"] == 0
    assert found["dbt_tests_passed"] == found["dbt_tests_total"] == 13
    assert found["grain_tests_passed"] == found["grain_tests_total"] == 5
    multi = [o for o, n in facts.items_per_order.items() if n > 1]
    assert found["grain_tests_failing_on_enrichment"] == (2 if multi else 0)
    assert found["grain_test_failing_rows_on_enrichment"] == len(multi)
    assert found["fct_orders_rows"] == found["fct_orders_distinct_orders"] == facts.orders
    assert found["fct_orders_items_total_mismatches"] == 0
    assert found["fct_revenue_daily_file_identical"] is True
    assert found["fct_revenue_daily_sql_identical"] is True
    assert Decimal(found["revenue_after_fix"]) == facts.total_amount
    assert Decimal(found["finance_total"]) == sum(facts.finance.values())
    assert found["dashboard_figures_now_true"] is True
    # the restatement: what the last build before the fix showed, against the truth
    last = max(b for b in _expected_builds(params) if b < params.fix_deployed_at)
    assert found["last_incident_build"] == last.isoformat()
    shown, true = _shown_before(facts, last)
    assert Decimal(found["shown_total_during_incident"]) == sum(shown.values())
    assert Decimal(found["true_total_during_incident"]) == sum(true.values())
    assert found["restated_days"] == sum(shown[d] != true[d] for d in shown)
    assert [(r[0], Decimal(r[1]), Decimal(r[2])) for r in found["restatement"]] == [
        (d.isoformat(), shown[d], true[d]) for d in sorted(shown)
    ]
    revenue = {(r[0], r[1]): (r[3], r[4]) for r in found["restatement_dashboards"]}
    assert revenue[("revenue_dashboard", "revenue")] == (
        float(round(sum(shown.values()), 2)),
        float(round(sum(true.values()), 2)),
    )
    placed = sum(1 for t in facts.ordered_at.values() if t < last)
    assert revenue[("orders_overview", "orders")] == (placed, placed)


def _expected_builds(params):
    start = dt.datetime.combine(params.start_date, dt.time(6))
    scheduled = [start + dt.timedelta(days=k) for k in range(1, params.days + 1)]
    return sorted({*scheduled, params.pr_deployed_at, params.fix_deployed_at})


def check_05(found, facts, params):
    builds = _expected_builds(params)
    inflated = [b for b in builds if params.pr_deployed_at <= b < params.fix_deployed_at]
    previous = max(b for b in builds if b < params.pr_deployed_at)
    orders_at_pr, items_at_pr = facts.before(params.pr_deployed_at)
    orders_before, _ = facts.before(previous)
    assert found["history_builds"] == len(builds)
    assert found["scheduled_builds"] == params.days
    assert found["inflated_builds"] == len(inflated)
    assert found["first_inflated_build"] == params.pr_deployed_at.isoformat()
    assert found["last_inflated_build"] == max(inflated).isoformat()
    assert found["first_inflated_revision"] == "enrichment"
    assert found["stg_orders_rows_before_pr"] == facts.before(previous)[0]
    assert found["derived_revenue_matches_real_build"] is True
    assert found["stg_orders_rows_at_first_inflated_build"] == items_at_pr
    assert found["stg_orders_keys_at_first_inflated_build"] == orders_at_pr
    assert found["stg_orders_rows_per_key_at_first_inflated_build"] == pytest.approx(
        items_at_pr / orders_at_pr, abs=1e-6
    )
    assert found["stg_orders_row_jump_at_first_inflated_build"] == pytest.approx(
        items_at_pr / orders_before, abs=1e-6
    )
    assert found["marts_rows_per_key_max"] == 1.0
    assert found["derivation_matches_real_build"] is True


def check_06(found, facts, params):
    multi_item_days = {facts.order_date[o] for o, n in facts.items_per_order.items() if n > 1}
    assert found["grain_checks_failing"] == [["enrichment", "stg_orders"]]
    assert found["lint_findings"] == {"baseline": 3, "enrichment": 7, "fix": 0}
    assert found["predicted_fanouts"] == {"baseline": [], "enrichment": ["stg_orders"], "fix": []}
    assert found["sum_over_fanout"]["enrichment"] == ["fct_orders", "fct_revenue_daily"]
    assert found["blast_radius_models"] == ["fct_orders", "fct_revenue_daily"]
    assert found["blast_radius_exposures"] == [
        "executive_kpis",
        "orders_overview",
        "revenue_dashboard",
    ]
    last = max(b for b in _expected_builds(params) if b < params.fix_deployed_at)
    shown, true = _shown_before(facts, last)
    assert Decimal(found["overstated_by"]) == sum(shown.values()) - sum(true.values())
    assert found["blast_last_incident_build"] == last.isoformat()
    assert found["reconciliation_days_disagreeing"] == {
        "baseline": 0,
        "enrichment": len(multi_item_days),
        "fix": 0,
    }
    inflated = {
        b for b in _expected_builds(params) if params.pr_deployed_at <= b < params.fix_deployed_at
    }
    flagged = {dt.datetime.fromisoformat(a) for a in found["anomalies_flagged"]}
    assert flagged <= inflated  # no false alarm in the normal history
    if params == Params(build_dir=params.build_dir):
        assert flagged == {params.pr_deployed_at}
    assert (found["root_cause"], found["root_cause_pr"]) == ("stg_orders", 482)
    stages = found["guards_caught"]
    minutes = found["guard_minutes_after_deploy"]
    assert (
        stages["grain test in CI"]
        == stages["lineage lint on the PR"]
        == ("in CI: the PR would not have merged")
    )
    assert stages["row-count monitor (rows vs distinct keys)"] == "before finance"
    assert minutes["row-count monitor (rows vs distinct keys)"] == 0
    detect = round((params.detected_at - params.pr_deployed_at).total_seconds() / 60)
    assert minutes["the finance analyst (what happened)"] == detect
    runs = [
        dt.datetime.combine(params.pr_deployed_at.date() + dt.timedelta(days=k), dt.time(7))
        for k in range(0, params.days + 2)
    ]
    job = next((r for r in runs if params.pr_deployed_at <= r < params.fix_deployed_at), None)
    if job is None:
        assert stages["daily reconciliation job"] == "would not have caught it before the fix"
    else:
        assert (
            minutes["daily reconciliation job"]
            == (job - params.pr_deployed_at).seconds // 60
            + (job - params.pr_deployed_at).days * 1440
        )
        assert stages["daily reconciliation job"] == (
            "before finance" if job < params.detected_at else "after finance"
        )
    assert 0 < found["investigate_seconds"] < 30


CHECKS = {
    "01-load-the-raw-data": check_01,
    "02-reproduce-the-inflated-revenue": check_02,
    "03-walk-the-timeline": check_03,
    "04-verify-the-fix": check_04,
    "05-chart-row-count-trends": check_05,
    "06-prevent-the-next-fan-out": check_06,
}


# ---------------------------------------------------------------- words follow the figures


def words_01(said, found, facts, params):
    weighted, mean = float(facts.weighted_items), facts.items / facts.orders
    text = said["items-per-order"]
    assert f"{mean:.2f} line items on average; weighted by revenue, {weighted:.2f}" in text
    assert ("more than the plain mean" in text) == (round(weighted, 4) > round(mean, 4))
    assert f"overstate revenue {weighted:.2f} times" in text
    assert "agrees with the sum of order amounts on all" in said["finance-matches-orders"]


def words_02(said, found, facts, params):
    ratio = float(facts.weighted_items)
    assert story.relative(ratio, "finance") in said["reproduced"]
    assert story.money(facts.fanned_amount) in said["reproduced"]
    assert story.relative(ratio, "finance") in said["in-short"]
    slow = said["slower-query"]
    assert f"reads {facts.items / facts.orders:.2f} times as many rows" in slow
    low, high = found["query_time_ratio_low"], found["query_time_ratio_high"]
    assert f"95% interval {low:.2f}x to {high:.2f}x" in slow
    # "slower" only when the whole interval lies above 1; "within the noise" when it holds 1
    assert ("slower, beyond the noise" in slow) == (low > 1)
    assert ("within the noise" in slow) == (low <= 1 <= high)


def words_03(said, found, facts, params):
    detect = round((params.detected_at - params.pr_deployed_at).total_seconds() / 60)
    assert f"| Time to detect | ~2 hours | {story.duration(detect)}: from" in said["measures"]
    fix = round((params.fix_deployed_at - params.detected_at).total_seconds() / 60) + 15 - 80
    assert (
        f"| Time to fix | ~30 min once root cause identified | {story.duration(fix)}:"
        in (said["measures"])
    )
    assert f"Finance noticed {story.duration(detect)} after the deploy" in said["in-short"]
    assert (
        story.relative(found["dashboard_ratio_at_detection"], "finance's figure")
        in (said["detection"])
    )
    recent = said["recent-deploys"]
    assert recent.startswith("No deploy in the 24 hours") == (detect > 24 * 60)
    assert (story.duration(detect) + " before") in recent
    assert said["verification"].endswith("The verification queries pass.")


def words_04(said, found, facts, params):
    last = max(b for b in _expected_builds(params) if b < params.fix_deployed_at)
    shown, true = _shown_before(facts, last)
    text = said["restatement-days"]
    assert f"({story.when(last.isoformat())}) showed {story.count(len(shown), 'day')}" in text
    assert (
        f"{story.money(sum(shown.values()))} in total, against {story.money(sum(true.values()))}"
        in text
    )
    assert story.relative(float(sum(shown.values()) / sum(true.values())), "the truth") in text
    assert said["grain-tests-on-pr"].startswith("Both grain tests on `stg_orders` fail")


def words_05(said, found, facts, params):
    runtime = said["runtime"]
    at, low, high = (
        found["query_ms_at_first_inflated_build"],
        found["query_ms_week_before_low"],
        found["query_ms_week_before_high"],
    )
    assert ("inside the range of the week before" in runtime) == (low <= at <= high)
    assert ("above every build of the week before" in runtime) == (at > high)
    _orders, items_at_pr = facts.before(params.pr_deployed_at)
    previous = max(b for b in _expected_builds(params) if b < params.pr_deployed_at)
    jump = items_at_pr / facts.before(previous)[0]
    assert f"to {items_at_pr:,} ({story.times(jump)})" in said["row-counts"]


def words_06(said, found, facts, params):
    during = [
        a for a in found["anomalies_flagged"]
        if params.pr_deployed_at <= dt.datetime.fromisoformat(a) < params.fix_deployed_at
    ]  # fmt: skip
    anomalies = said["anomalies"]
    assert anomalies.startswith("It flags nothing while the PR is live") == (not during)
    stage = found["guards_caught"]["revenue anomaly detection"]
    sentence = next(t for t in said["replay"].split(". ") if "revenue anomaly detection" in t)
    expected = {
        "before finance": "would have caught it before finance",
        "would not have caught it before the fix": "would not have caught it before the fix",
    }
    assert expected.get(stage, "only after finance") in sentence
    live = max(b for b in _expected_builds(params) if b <= params.detected_at)
    day = live.date() - dt.timedelta(days=1)
    shown, _ = _shown_before(facts, live)
    ratio = float(shown[day] / facts.finance[day])
    assert found["guard_evidence"]["the finance analyst (what happened)"] == (
        f"the dashboard shows {story.relative(ratio, story.FINANCE_FIGURE)} for {day}"
    )


WORDS = {
    "01-load-the-raw-data": words_01,
    "02-reproduce-the-inflated-revenue": words_02,
    "03-walk-the-timeline": words_03,
    "04-verify-the-fix": words_04,
    "05-chart-row-count-trends": words_05,
    "06-prevent-the-next-fan-out": words_06,
}

# Words that were true only at the defaults: no notebook may say them at other parameters
# (the postmortem's own "~3x", quoted as such, is allowed).
DEFAULTS_ONLY = (
    "about three times",
    "threefold",
    "two hours",
    "about 2.5",
    "about 3 ",
    "3x finance",
)


@pytest.mark.parametrize(("parameter_set", "name"), CASES)
def test_notebook_words_follow_its_figures(executed, parameter_set, name):
    """Every claim a notebook renders is computed from this run's figures, and flips with
    them: checked against values computed independently from the raw files."""
    params, facts, outputs = executed(parameter_set)
    said = claims(outputs[name])
    assert "in-short" in said
    WORDS[name](said, findings(outputs[name]), facts, params)
    if parameter_set != "default":
        cells = json.loads(outputs[name].read_text())["cells"]
        markdown = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        for text in [markdown, *said.values()]:
            for phrase in DEFAULTS_ONLY:
                assert phrase not in text.lower(), (name, phrase)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"days": 0}, "ParameterError: days must be at least 1, got 0"),
        ({"dayz": 3}, "ParameterError: unknown parameter 'dayz'"),
        ({"days": "ninety"}, "ParameterError: days must be a whole number"),
        (
            {"fix_deployed_at": "2026-10-28T12:00:00"},
            "ParameterError: fix_deployed_at (2026-10-28 12:00:00) must be after",
        ),
    ],
)
def test_a_bad_parameter_fails_the_first_cell_with_one_sentence(tmp_path, values, message):
    first = notebook_paths()[0]
    with pytest.raises(NotebookError) as err:
        execute(first, tmp_path / first.name, {**values, "build_dir": str(tmp_path)})
    assert message in str(err.value)
    # the first cell after the parameters, named by its section and its first line
    cell = "`from fanout.incident import notebook`"
    assert f'in section "Parameters", the cell starting {cell}' in str(err.value)
    assert "\n" not in str(err.value)
    assert not (tmp_path / first.name).exists()


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_follows_the_skeleton(path: Path):
    doc = json.loads(path.read_text())
    cells = doc["cells"]
    assert cells[0]["cell_type"] == "markdown" and cells[0]["source"][0].startswith("# ")
    tagged = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    namespace: dict = {}
    exec("".join(tagged[0]["source"]), namespace)
    defaults = {f.name: f.default for f in PARAMETERS}
    declared = {k: v for k, v in namespace.items() if not k.startswith("__")}
    assert declared.keys() == defaults.keys()
    assert Params.from_mapping(declared) == Params()
    assert any("NBVAL_CHECK_OUTPUT" in "".join(c["source"]) for c in cells)
    recorded = [
        o for c in cells for o in c.get("outputs", []) if FINDINGS_MIME in o.get("data", {})
    ]
    assert recorded, "committed without the outputs of the default run"


EXTERNAL = re.compile(
    r"""<(?:script|img|iframe|source)[^>]*\ssrc=["']?(?:https?:)?//"""
    r"""|<link[^>]*\shref=["']?(?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:url\()?["']?(?:https?:)?//""",
    re.I,
)


def test_the_offline_check_sees_an_external_reference():
    for page in (
        '<script src="https://cdn.example/x.js"></script>',
        "<link rel=stylesheet href=//fonts.example/f.css>",
        "<style>@font-face { src: url('https://x/f.woff') }</style>",
        '<img src="http://x/a.png">',
    ):
        assert EXTERNAL.search(page), page
    assert not EXTERNAL.search('<a href="https://github.com/x">a link to read</a>')
    assert not EXTERNAL.search('<script src="mathjax/MathJax.js"></script>')


def _report(executed, name):
    """The report `make workbook` wrote for this parameter set."""
    params, facts, _outputs = executed(name)
    return params, facts, executed.report(name)


@pytest.mark.parametrize(
    "parameter_set",
    [
        pytest.param("default", marks=pytest.mark.xdist_group("default")),
        pytest.param("three-days-later", marks=pytest.mark.xdist_group("three-days-later")),
    ],
)
def test_the_report_is_the_postmortem_with_this_runs_evidence_and_reads_offline(
    executed, tmp_path, parameter_set
):
    params, facts, index = _report(executed, parameter_set)
    folder = index.parent
    page = index.read_text()
    # every section of the original, in its order
    positions = [page.index(f"<h2>{h}</h2>") for h in postmortem.original().sections]
    assert positions == sorted(positions)
    detect = round((params.detected_at - params.pr_deployed_at).total_seconds() / 60)
    assert f"{story.duration(detect)} from PR #482's deploy" in page
    changed = sum(
        v != Params().to_dict()[k] for k, v in params.to_dict().items() if k != "build_dir"
    )
    lead = "uses the default parameters" if not changed else f"changes {changed} parameters"
    assert lead in page
    for word in ("NaN", "null", "None", "[Math Processing Error]"):
        assert word not in page
    # the restatement for finance, beside the report
    last = max(b for b in _expected_builds(params) if b < params.fix_deployed_at)
    shown, true = _shown_before(facts, last)
    rows = list(csv.DictReader((folder / "restatement.csv").open()))
    restated = [
        (r["revenue_date"], Decimal(r["shown_on_dashboard"]), Decimal(r["true_revenue"]))
        for r in rows
    ]
    assert restated == [(d.isoformat(), shown[d], true[d]) for d in sorted(shown)]
    assert (folder / "restatement-dashboards.csv").read_text().count("\n") == 7
    # recorded figures formatted: money with two decimals and its unit
    figures = (folder / "figures.html").read_text()
    assert f"{story.money(facts.total_amount)}" in figures
    # nothing from outside the report folder; math from the copy beside it
    for html in sorted(folder.glob("*.html")):
        text = html.read_text()
        assert not EXTERNAL.search(text), f"{html.name} loads {EXTERNAL.search(text).group(0)}"
        if html.name[:2].isdigit():
            assert '<script src="mathjax/MathJax.js?config=' in text
            assert "body:not(.show-code) .jp-CodeCell .jp-Cell-inputWrapper" in text
            assert 'id="fanout-toggle"' in text
            assert "data:image/png;base64" in text, f"{html.name} lost its charts"
    assert (folder / "mathjax" / "MathJax.js").is_file()
    assert (folder / "mathjax" / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()
    for chart in ("timeline", "at-the-ping", "row-counts"):
        assert f'src="figures/{chart}.png"' in page
        assert (folder / "figures" / f"{chart}.png").stat().st_size > 10_000


@pytest.mark.xdist_group("default")
def test_no_section_is_empty_when_the_code_is_hidden(executed):
    """Under every heading a reader of the report (code hidden) finds words or an output."""
    _params, _facts, outputs = executed("default")
    for name, path in outputs.items():
        cells = json.loads(path.read_text())["cells"]
        heading, shown = None, True
        for cell in [*cells, {"cell_type": "markdown", "source": ["# end"]}]:
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown":
                lines = [ln for ln in text.splitlines() if ln.strip()]
                if lines and lines[-1].startswith("#"):
                    assert shown, f"{name}: {heading!r} shows nothing when the code is hidden"
                    heading, shown = lines[-1], len(lines) > 1
                else:
                    shown = shown or bool(lines)
            else:
                shown = shown or bool(cell.get("outputs"))


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_no_notebook_pulls_a_whole_table_into_pandas(path: Path):
    """Aggregate in DuckDB: every query a notebook turns into a DataFrame groups, filters to
    one key or limits, so the same notebook runs at 10 million orders (params/10m.yaml)."""
    import re

    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code":
            continue
        for whole in ("read_parquet", "read_csv", "fetchdf", "fetch_df", ".arrow()", ".pl()"):
            assert whole not in source, f"{path.name}: {whole}"
        frames = re.findall(r"(?:sql|execute)\((.*?)\)\.df\(\)", source, re.S)
        assert len(frames) == source.count(".df()"), f"{path.name}: a .df() not on a query"
        for query in frames:
            assert re.search(r"group by|limit \d|where \w+ = ", query, re.I), query


def test_the_runner_makes_the_extras_before_the_notebooks_that_read_them():
    """workbook.EXTRAS_NEEDED lists, for each notebook, exactly the extras it reads: the fix's
    tests on the PR's tables (`run_tests`, or the guards' replay), the history's counts
    (`history.counts`, or the replay) and the rebuild at the PR's deploy (`rebuild_at`); the
    runner makes them before the notebooks that read them start, and not for the others."""
    from fanout.incident.workbook import EXTRAS_NEEDED

    calls = {
        "tests": ("run_tests(", "guards.replay("),
        "counts": ("history.counts(", "guards.replay("),
        "rebuild": ("rebuild_at(",),
    }
    found = {}
    for path in notebook_paths():
        code = "".join(
            "".join(c["source"])
            for c in json.loads(path.read_text())["cells"]
            if c["cell_type"] == "code"
        )
        steps = {step for step, names in calls.items() if any(n in code for n in names)}
        if steps:
            found[path.name[:3]] = steps
    assert found == {k: set(v) for k, v in EXTRAS_NEEDED.items()}
    assert found  # the scan found them
