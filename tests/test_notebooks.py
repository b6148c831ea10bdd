"""Every notebook executed with papermill, at the defaults and at two other parameter sets,
its recorded findings compared with figures computed independently from the raw files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from fanout.errors import NotebookError
from fanout.generate import dataset_dir
from fanout.notebook import FINDINGS_MIME
from fanout.params import PARAMETERS, Params
from fanout.report import findings
from fanout.workbook import execute, notebook_paths

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
    # many items per order, a short history
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


@pytest.fixture(scope="session", params=list(PARAMETER_SETS))
def run(request, tmp_path_factory):
    """All notebooks executed once per parameter set; returns (params, raw facts, outputs)."""
    build = tmp_path_factory.mktemp(f"nb-{request.param}")
    values = {**PARAMETER_SETS[request.param], "build_dir": str(build)}
    params = Params.from_mapping(values)
    facts = read_raw(dataset_dir(params))
    outputs = {}
    for nb in notebook_paths():
        outputs[nb.stem] = execute(nb, build / "executed" / nb.name, values).path
    return params, facts, outputs


def test_every_notebook_has_a_findings_check():
    assert {nb.stem for nb in notebook_paths()} <= set(CHECKS)


@pytest.mark.parametrize("name", sorted(nb.stem for nb in notebook_paths()))
def test_notebook_findings_match_the_raw_data(run, name):
    params, facts, outputs = run
    CHECKS[name](findings(outputs[name]), facts, params)


def check_01(found, facts, params):
    assert found["raw_orders_rows"] == found["raw_orders_distinct_order_ids"] == facts.orders
    assert found["raw_order_items_rows"] == facts.items
    assert found["raw_order_items_distinct_order_item_ids"] == facts.items
    assert found["raw_order_items_distinct_order_ids"] == len(facts.items_per_order)
    assert found["orders_without_items"] == len(facts.order_ids - set(facts.items_per_order))
    assert found["amount_mismatches"] == 0
    assert found["mean_items_per_order"] == pytest.approx(facts.items / facts.orders, abs=1e-4)
    assert found["revenue_weighted_items_per_order"] == pytest.approx(
        float(facts.weighted_items), abs=1e-4
    )
    assert found["finance_days"] == params.days
    assert Decimal(found["finance_total_revenue"]) == sum(facts.finance.values())
    assert Decimal(found["orders_total_amount"]) == facts.total_amount
    assert found["days_finance_differs_from_orders"] == 0


CHECKS = {"01-load-the-raw-data": check_01}


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
    assert "cell 3 (from fanout import notebook)" in str(err.value)  # the first after parameters
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
