"""Training sessions: a seat per trainee (own data, own project), the exercises' self-checks
and their hints on real builds, and `fanout grade` over seats that submitted right and wrong
answers. Expected answers are compared with figures read straight from each seat's CSV files.

Everything expensive shares one session folder and runs in one xdist group: the library's
self-checks and the grader build into the same folders and reuse each other's builds."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from fanout.cli import main
from fanout.training import exercises
from fanout.training.exercises import EXERCISES, HINTS, Seat

from .conftest import ROOT, read_raw
from .conftest import run_cli as _run

pytestmark = pytest.mark.xdist_group("training")
# The wrong answers' tests build their own variants: a group of their own (with its own
# copy of the session) can run beside the correct seats and the grader on another worker.
HINT_GROUP = pytest.mark.xdist_group("training-hints")

N_SEATS = 4
CORRECT = ("seat-01", "seat-02", "seat-03")
WRONG = "seat-04"


def _tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` by relative path, with its content's digest."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("training") / "session"
    assert main(["training", "prepare", "--seats", str(N_SEATS), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def sheet(session_dir) -> dict[str, dict[str, str]]:
    with (session_dir / "trainer-sheet.csv").open(newline="") as fh:
        return {row["folder"]: row for row in csv.DictReader(fh)}


def _seat(session_dir: Path, folder: str, project: Path | None = None) -> Seat:
    """A seat as the grader sees it: the seat's data and project, builds under graded/."""
    seat = session_dir / folder
    build = session_dir / "graded" / folder / "build"
    return Seat(seat / "data", project or seat / "project", build)


def _factor(sheet, folder: str) -> float:
    return float(sheet[folder]["inflation_factor_answer"])


WRONG_GRAIN_TEST = """\
-- one row per customer?
select customer_id, count(*) as n_rows
from {{ ref('stg_orders') }}
group by customer_id
having count(*) > 1
"""


@pytest.fixture(scope="session")
def submitted(session_dir, sheet, tmp_path_factory) -> Path:
    """A copy of the session where seats 1-3 submit the solution and seat 4 typical wrong
    answers: the symptom's mart named as the broken model, a grain test on a column that
    repeats, a `distinct` on stg_orders."""
    session_dir = shutil.copytree(session_dir, tmp_path_factory.mktemp("submitted") / "session")
    for folder in CORRECT:
        seat = session_dir / folder
        exercises.fill_answers(
            seat / "1-find-the-broken-model.ipynb",
            BROKEN_MODEL="stg_orders",
            GRAIN=["order_id"],
            INFLATION_FACTOR=_factor(sheet, folder),
        )
        exercises.apply_solution(seat / "project")
    seat = session_dir / WRONG
    exercises.fill_answers(
        seat / "1-find-the-broken-model.ipynb",
        BROKEN_MODEL="fct_revenue_daily",
        GRAIN="order_id",
        INFLATION_FACTOR=_factor(sheet, WRONG),
    )
    (seat / "project" / "tests" / "assert_stg_orders_grain.sql").write_text(WRONG_GRAIN_TEST)
    _distinct_on_stg_orders(seat / "project")
    return session_dir


def _distinct_on_stg_orders(project: Path) -> None:
    path = project / "models" / "staging" / "stg_orders.sql"
    path.write_text(
        path.read_text().replace("select * from renamed", "select distinct *\nfrom renamed")
    )


# ---------------------------------------------------------------------------- preparing seats


def test_prepare_gives_each_seat_its_data_project_and_notebooks(session_dir):
    session = json.loads((session_dir / "training.json").read_text())
    assert [s["folder"] for s in session["seats"]] == [f"seat-{i:02d}" for i in range(1, 5)]
    seat = session_dir / "seat-01"
    names = sorted(p.name for p in seat.iterdir())
    assert names == [
        "1-find-the-broken-model.ipynb",
        "2-write-the-grain-test.ipynb",
        "3-fix-the-fan-out.ipynb",
        "README.md",
        "data",
        "project",
    ]
    assert (seat / "project" / "tests").is_dir()
    assert not list((seat / "project" / "tests").iterdir())
    pristine = Path(exercises._pristine())
    for rel in ("models/staging/stg_orders.sql", "models/marts/fct_orders.sql"):
        assert (seat / "project" / rel).read_bytes() == (pristine / rel).read_bytes()
    doc = json.loads((seat / "1-find-the-broken-model.ipynb").read_text())
    (params,) = [c for c in doc["cells"] if "parameters" in c["metadata"].get("tags", [])]
    source = "".join(params["source"])
    assert "data_dir = 'data'" in source and "project_dir = 'project'" in source
    assert "build_dir = 'build'" in source
    assert not list(session_dir.rglob("*solution*"))


def test_seats_get_different_datasets(session_dir):
    session = json.loads((session_dir / "training.json").read_text())
    datasets = [s["dataset"] for s in session["seats"]]
    for field in ("seed", "start_date", "mean_items_per_order"):
        assert len({d[field] for d in datasets}) == N_SEATS, field
    assert all(20 <= d["days"] <= 30 and d["orders_per_day"] == 30 for d in datasets)
    orders = [session_dir / s["folder"] / "data" / "raw_orders.csv" for s in session["seats"]]
    contents = {path.read_bytes() for path in orders}
    assert len(contents) == N_SEATS


def test_trainer_sheet_matches_each_seats_raw_files(session_dir, sheet):
    for folder, row in sheet.items():
        facts = read_raw(session_dir / folder / "data")
        multi_item = sum(1 for n in facts.items_per_order.values() if n > 1)
        assert int(row["orders"]) == facts.orders
        assert int(row["line_items"]) == facts.items
        assert row["broken_model"] == "stg_orders" and row["grain"] == "order_id"
        assert Decimal(row["dashboard_revenue"]) == facts.fanned_amount
        assert Decimal(row["finance_revenue"]) == sum(facts.finance.values()) == facts.total_amount
        assert Decimal(row["overstated_by"]) == facts.fanned_amount - facts.total_amount
        assert Decimal(row["inflation_factor"]) == facts.weighted_items.quantize(Decimal("0.0001"))
        exact_2dp = facts.weighted_items.quantize(Decimal("0.01"))  # rounded once, not twice
        assert Decimal(row["inflation_factor_answer"]) == exact_2dp
        observed = Decimal(facts.items) / Decimal(facts.orders)
        assert Decimal(row["mean_items_per_order_observed"]) == observed.quantize(Decimal("0.0001"))
        assert int(row["stg_orders_rows_enrichment"]) == facts.items
        assert int(row["grain_test_failing_rows"]) == multi_item
        assert Decimal(row["fixed_revenue"]) == facts.total_amount
    text = (session_dir / "trainer-sheet.md").read_text()
    first = sheet["seat-01"]
    assert f"| seat-01 | - | {first['inflation_factor_answer']} |" in text


def test_same_arguments_give_the_same_bytes(tmp_path, capsys):
    names = tmp_path / "names.csv"
    names.write_text("name,email\nAna María,a@example.com\nBo,b@example.com\n")
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        code, out_text, _ = _run(capsys, "training", "prepare", "--seats", names, "--out", out)
        assert code == 0 and "prepared 2 seats" in out_text
    assert _tree(first) == _tree(second)
    assert sorted(p.name for p in first.glob("seat-*")) == ["seat-01-ana-maria", "seat-02-bo"]
    # a seat's data follows the trainee's name, not the row: the same name, the same data
    names.write_text("name\nBo\n")
    code, _, _ = _run(capsys, "training", "prepare", "--seats", names, "--out", tmp_path / "c")
    assert code == 0
    bo = "seat-02-bo/data/raw_orders.csv"
    assert (tmp_path / "c" / "seat-01-bo/data/raw_orders.csv").read_bytes() == (
        first / bo
    ).read_bytes()


def test_preparing_again_keeps_the_trainees_work(tmp_path, capsys):
    out = tmp_path / "session"
    assert _run(capsys, "training", "prepare", "--seats", "1", "--out", out)[0] == 0
    work = out / "seat-01" / "project" / "tests" / "assert_mine.sql"
    work.write_text("select 1 as x where false\n")
    code, text, err = _run(capsys, "training", "prepare", "--seats", "1", "--out", out)
    assert code == 0 and "already prepared" in text and work.exists()
    code, _, err = _run(capsys, "training", "prepare", "--seats", "2", "--out", out)
    assert code == 2 and "holds another training session; pass --overwrite" in err
    assert work.exists()


@pytest.mark.parametrize(
    ("seats", "message"),
    [
        ("0", "--seats must be between 1 and 200, got 0"),
        ("201", "--seats must be between 1 and 200, got 201"),
        ("twelve", "--seats must be a number of seats or a CSV file with a name column"),
        ("{tmp}/missing.csv", "--seats: no such file"),
        ("{tmp}/no-name.csv", "has no name column (header: email)"),
        ("{tmp}/duplicates.csv", "line 4: duplicate name 'ana' (as on line 2)"),
        ("{tmp}/empty-name.csv", "line 3: the name is empty"),
        ("{tmp}/header-only.csv", "lists no names"),
        ("{tmp}/empty.csv", "is empty; it needs a header with a name column"),
    ],
)
def test_bad_seats_exit_2_with_one_line_and_write_nothing(capsys, tmp_path, seats, message):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "no-name.csv").write_text("email\na@example.com\n")
    (inputs / "duplicates.csv").write_text("name\nAna\nBo\nana\n")
    (inputs / "empty-name.csv").write_text("name,team\nAna,x\n ,y\n")
    (inputs / "header-only.csv").write_text("name\n")
    (inputs / "empty.csv").write_text("")
    before = _tree(inputs)
    out = tmp_path / "out"
    argv = ["training", "prepare", "--seats", seats.replace("{tmp}", str(inputs)), "--out", out]
    code, text, err = _run(capsys, *argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert text == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]
    assert _tree(inputs) == before


def test_an_existing_folder_that_is_not_a_session_is_refused(capsys, tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "mine.txt").write_text("keep me\n")
    code, _, err = _run(capsys, "training", "prepare", "--seats", "2", "--out", out)
    assert code == 2
    assert "exists and is not a training folder (no training.json)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    code, _, err = _run(capsys, "training", "prepare", "--seats", "2", "--out", "data/raw")
    assert code == 2 and "inside the project's data/" in err


def test_grading_a_folder_that_is_not_a_session_exits_2(capsys, tmp_path):
    code, text, err = _run(capsys, "grade", tmp_path)
    assert code == 2 and "is not a training folder (no training.json)" in err
    assert text == "" and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- self-checks


def test_a_correct_solution_passes_every_self_check_on_three_seats(submitted, sheet):
    for folder in CORRECT:
        seat = _seat(submitted, folder)
        found = exercises.check_find(seat, "stg_orders", ["order_id"], _factor(sheet, folder))
        test = exercises.check_grain_test(seat)
        fix = exercises.check_fix(seat)
        for result in (found, test, fix):
            assert result.status == "passed", result.text()
        failing = sheet[folder]["grain_test_failing_rows"]
        assert test.checks[0].detail == (
            f"fails on the enrichment build with {failing} rows (one per duplicated order_id), "
            "passes on the fix's build"
        )
        assert [c.name for c in fix.checks] == [
            "stg_orders builds",
            "stg_orders is one row per order",
            "stg_orders reads one source",
            "fct_orders is one row per order, with each order's amount",
            "fct_orders counts each order's items and quantity",
            "fct_revenue_daily agrees with finance every day",
            "fct_revenue_daily is unchanged",
        ]
        orders = sheet[folder]["orders"]
        assert fix.checks[1].detail == f"{orders} rows, {orders} orders"


def test_unanswered_exercises_say_so_without_building(session_dir):
    seat = _seat(session_dir, "seat-04")
    assert exercises.check_grain_test(seat).status == "not answered"
    assert exercises.check_fix(seat).status == "not answered"


@HINT_GROUP
@pytest.mark.parametrize(
    ("answers", "check", "hint"),
    [
        (("fct_revenue_daily", ["order_id"], None), 0, "find-downstream"),
        (("fct_orders", ["order_id"], None), 0, "find-downstream"),
        (("raw_order_items", ["order_id"], None), 0, "find-source"),
        (("stg_order_items", ["order_id"], None), 0, "find-unknown"),
        (("stg_orders", ["order_item_id"], None), 1, "find-grain"),
        (("stg_orders", "order_id", "mean"), 2, "find-factor-mean"),
        (("stg_orders", "order_id", "inverse"), 2, "find-factor-upside-down"),
        (("stg_orders", "order_id", 1.0), 2, "find-factor"),
    ],
)
def test_wrong_answers_to_exercise_1_get_the_intended_hint(submitted, sheet, answers, check, hint):
    model, grain, factor = answers
    row = sheet[WRONG]
    factor = {
        "mean": round(float(row["mean_items_per_order_observed"]), 2),
        "inverse": round(1 / float(row["inflation_factor"]), 3),
    }.get(factor, factor)
    result = exercises.check_find(_seat(submitted, WRONG), model, grain, factor)
    assert result.status == "failed"
    assert result.checks[check].state == "fail"
    assert result.checks[check].hint == HINTS[hint]
    assert result.first_failure == result.checks[check]


@pytest.fixture
def variant(submitted, tmp_path):
    """An editable copy of seat 4's (untouched) enrichment project, built beside the grader's
    builds of that seat (the enrichment and fix builds are shared)."""
    project = tmp_path / "project"
    skip = shutil.ignore_patterns("target", "logs", "*.duckdb*")
    shutil.copytree(exercises._pristine(), project, ignore=skip)
    return _seat(submitted, WRONG, project=project)


def _write(project: Path, rel: str, text: str) -> None:
    path = project / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


GRAIN_TEST_ON_FCT_ORDERS = """\
select order_id, count(*) as n_rows
from {{ ref('fct_orders') }}
group by order_id
having count(*) > 1
"""


@HINT_GROUP
@pytest.mark.parametrize(
    ("sql", "hint", "detail"),
    [
        (WRONG_GRAIN_TEST, "test-wrong-column", "and on the fix's"),
        (GRAIN_TEST_ON_FCT_ORDERS, "test-wrong-model", "it tests fct_orders"),
    ],
    ids=["wrong-column", "wrong-model"],
)
def test_a_wrong_grain_test_gets_the_intended_hint(variant, sql, hint, detail):
    _write(variant.project_dir, "tests/assert_grain.sql", sql)
    result = exercises.check_grain_test(variant)
    assert result.status == "failed"
    (check,) = result.checks
    assert check.hint == HINTS[hint]
    assert detail in check.detail


FCT_ORDERS_STILL_FANNING_OUT = """\
with orders as (select * from {{ ref('stg_orders') }}),
order_items as (select * from {{ ref('stg_order_items') }})
select
    orders.order_id,
    orders.customer_id,
    orders.ordered_at,
    cast(orders.ordered_at as date) as order_date,
    count(*) as item_count,
    sum(order_items.quantity) as total_quantity,
    sum(orders.amount) as amount
from orders
left join order_items on orders.order_id = order_items.order_id
group by 1, 2, 3, 4
"""

STG_ORDERS_DISTINCT_ORDER_COLUMNS = """\
select distinct
    cast(o.order_id as bigint) as order_id,
    cast(o.customer_id as bigint) as customer_id,
    cast(o.amount as decimal(18, 2)) as amount,
    cast(o.ordered_at as timestamp) as ordered_at
from {{ source('shop', 'raw_orders') }} as o
left join {{ source('shop', 'raw_order_items') }} as i on o.order_id = i.order_id
"""

REVENUE_PATCHED_IN_THE_MART = """\
with orders as (select distinct order_id, ordered_at, amount from {{ ref('stg_orders') }})
select cast(ordered_at as date) as revenue_date, count(*) as order_count, sum(amount) as revenue
from orders
group by 1
"""


def _only_staging_solution(project: Path) -> None:
    fix = exercises._pristine().parent / "fix"
    for rel in ("models/staging/stg_orders.sql", "models/staging/stg_order_items.sql"):
        _write(project, rel, (fix / rel).read_text())


@HINT_GROUP
@pytest.mark.parametrize(
    ("change", "check", "hint", "detail"),
    [
        (_distinct_on_stg_orders, "stg_orders is one row per order", "fix-distinct", " rows for "),
        (
            lambda p: _write(p, "models/staging/stg_orders.sql", STG_ORDERS_DISTINCT_ORDER_COLUMNS),
            "stg_orders reads one source",
            "fix-hidden-join",
            "it reads shop.raw_order_items, shop.raw_orders",
        ),
        (
            lambda p: _write(p, "models/marts/fct_revenue_daily.sql", REVENUE_PATCHED_IN_THE_MART),
            "stg_orders is one row per order",
            "fix-mart-only",
            " rows for ",
        ),
        (
            lambda p: (
                _only_staging_solution(p),
                _write(p, "models/marts/fct_orders.sql", FCT_ORDERS_STILL_FANNING_OUT),
            ),
            "fct_orders is one row per order, with each order's amount",
            "fix-join-fanout",
            "orders have the wrong amount",
        ),
    ],
    ids=["distinct", "distinct-hiding-the-join", "only-the-mart", "join-still-fans-out"],
)
def test_a_wrong_fix_gets_the_intended_hint(variant, sheet, change, check, hint, detail):
    change(variant.project_dir)
    result = exercises.check_fix(variant)
    assert result.status == "failed"
    failing = result.first_failure
    assert (failing.name, failing.hint) == (check, HINTS[hint])
    assert detail in failing.detail
    assert all(c.passed for c in result.checks[: result.checks.index(failing)])


# ---------------------------------------------------------------------------- grading


@pytest.mark.notebooks
def test_grade_runs_every_seats_notebooks_and_reports_each_exercise(submitted, sheet, capsys):
    seats_before = {f: _tree(submitted / f) for f in (*CORRECT, WRONG)}
    code, out, err = _run(capsys, "grade", submitted)
    assert code == 1
    rows = [re.split(r"\s{2,}", line) for line in out.splitlines()[1:-1]]
    table = {(seat, exercise): result for seat, exercise, result in rows}
    for folder in CORRECT:
        for exercise in ("1 find the broken model", "2 write the grain test", "3 fix the fan-out"):
            assert table[(folder, exercise)] == "passed"
    failing = sheet[WRONG]
    assert table[(WRONG, "1 find the broken model")] == (
        "failed: the model whose grain broke (not fct_revenue_daily)"
    )
    assert table[(WRONG, "2 write the grain test")].startswith(
        "failed: grain test assert_stg_orders_grain (fails on the enrichment build ("
    )
    assert table[(WRONG, "3 fix the fan-out")].startswith(
        "failed: stg_orders is one row per order ("
    )
    assert f"rows for {failing['orders']} orders)" in table[(WRONG, "3 fix the fan-out")]
    assert out.splitlines()[-1] == "9 of 12 exercises passed"
    assert "[4/4] seat-04" in err
    # the hints reached the executed notebooks, which sit apart from the seats
    graded = submitted / "graded" / WRONG
    hints = [
        r["checks"][[c["state"] for c in r["checks"]].index("fail")]["hint"]
        for stem in ("1-find-the-broken-model", "2-write-the-grain-test", "3-fix-the-fan-out")
        for r in exercises.results(graded / f"{stem}.ipynb")
    ]
    assert hints == [HINTS["find-downstream"], HINTS["test-wrong-column"], HINTS["fix-distinct"]]
    assert {f: _tree(submitted / f) for f in (*CORRECT, WRONG)} == seats_before


@pytest.mark.parametrize(
    "out",
    ["{session}", "{session}/seat-01", "{session}/seat-01/graded", "notebooks/graded"],
    ids=["the-session", "a-seat", "inside-a-seat", "project-sources"],
)
def test_grading_into_a_seat_or_the_sources_is_refused(capsys, session_dir, out):
    before = _tree(session_dir)
    code, text, err = _run(capsys, "grade", session_dir, "--out", out.format(session=session_dir))
    assert code == 2 and text == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "overlaps the seat folder" in err or "inside the project's notebooks/" in err
    assert _tree(session_dir) == before


def test_a_broken_submission_is_a_row_not_the_end_of_grading(capsys, tmp_path):
    out = tmp_path / "session"
    assert main(["training", "prepare", "--seats", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    seat = out / "seat-01"
    for stem, _, _ in EXERCISES:
        (seat / f"{stem}.ipynb").write_text("not json")
    (seat / "project" / "dbt_project.yml").unlink()  # nothing to build either
    code, text, err = _run(capsys, "grade", out)
    assert code == 1 and "Traceback" not in err
    rows = [re.split(r"\s{2,}", line) for line in text.splitlines()[1:-1]]
    assert [r[0] for r in rows] == ["seat-01"] * 3
    assert all(r[2].startswith("error: NotJSONError") for r in rows), rows
    assert text.splitlines()[-1] == "0 of 3 exercises passed"


def test_a_name_without_latin_letters_still_gets_its_own_seat(capsys, tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("name\n李雷\nAna\n", encoding="utf-8")
    out = tmp_path / "session"
    code, _, err = _run(capsys, "training", "prepare", "--seats", names, "--out", out)
    assert code == 0, err
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders[1] == "seat-02-ana"
    assert re.fullmatch(r"seat-01-trainee-[0-9a-f]{8}", folders[0])


def test_grading_says_what_is_left_to_do_and_where_a_syntax_error_is(capsys, tmp_path):
    """An untouched exercise is "not answered" with what to do; an error names the section and
    the first line of the cell, as the trainee sees them (no execution count)."""
    out = tmp_path / "session"
    assert main(["training", "prepare", "--seats", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    first = out / "seat-01" / "1-find-the-broken-model.ipynb"
    doc = json.loads(first.read_text())
    (answers,) = [c for c in doc["cells"] if "answers" in c["metadata"].get("tags", [])]
    answers["source"] = "BROKEN_MODEL = 'stg_orders\n"
    first.write_text(json.dumps(doc))
    code, text, err = _run(capsys, "grade", out)
    assert code == 1 and "Traceback" not in err
    rows = {r[1]: r[2] for r in (re.split(r"\s{2,}", ln) for ln in text.splitlines()[1:-1])}
    assert rows["1 find the broken model"].startswith(
        "error: 1-find-the-broken-model.ipynb, in section "
    )
    assert (
        "the cell starting `BROKEN_MODEL = 'stg_orders`: SyntaxError"
        in (rows["1 find the broken model"])
    )
    assert "cell 9" not in text
    for exercise in ("2 write the grain test", "3 fix the fan-out"):
        assert rows[exercise].startswith("not answered: "), rows[exercise]
        assert len(rows[exercise]) > len("not answered: ") + 5


def test_the_exercises_link_only_to_what_a_seat_folder_holds():
    """A seat folder holds the three exercise notebooks side by side: a relative link to
    anything else (the workbook's notebooks, ../) would be dead there."""
    seat_files = {f"{stem}.ipynb" for stem, _, _ in EXERCISES}
    for stem, _, _ in EXERCISES:
        doc = json.loads((ROOT / "notebooks" / "training" / f"{stem}.ipynb").read_text())
        for cell in doc["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            for target in re.findall(r"\]\(([^)#]+)", "".join(cell["source"])):
                assert target.startswith(("http://", "https://")) or target in seat_files, (
                    stem,
                    target,
                )
