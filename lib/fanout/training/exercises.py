"""The training exercises' self-checks: what is right, and a hint when it is not.

Each exercise notebook ends with one call, `check_find`, `check_grain_test` or `check_fix`,
which measures the trainee's answer on the seat's own data and builds and returns a
`Result`: shown to the trainee as text, stored in the notebook's output under
`RESULT_MIME`, where `fanout grade` reads it back (`results`). A hint points at the concept,
never at the answer. `open_seat` turns a notebook's parameters into the folders it works
with; `fanout.training` prepares the seats and grades them.

>>> Result("find", (Check("a", "pass"), Check("b", "todo", "not answered yet"))).status
'failed'
>>> _normalized("select a -- why\\n  FROM  b")
'select a from b'
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from fanout.errors import BuildError, DataError
from fanout.incident import warehouse
from fanout.incident.data import raw, validate
from fanout.incident.paths import default_data_dir, project_root, warehouse_dir
from fanout.incident.report import outputs
from fanout.toolkit import grain, investigate, lineage, reconcile

__all__ = [
    "EXERCISES",
    "HINTS",
    "RESULT_MIME",
    "Check",
    "Result",
    "Seat",
    "answers",
    "apply_solution",
    "check_find",
    "check_fix",
    "check_grain_test",
    "fill_answers",
    "lineage_table",
    "open_seat",
    "results",
    "show_files",
    "show_solution",
    "solved",
    "symptom",
]

RESULT_MIME = "application/vnd.fanout.training+json"
# (notebook stem, exercise id, title)
EXERCISES = (
    ("1-find-the-broken-model", "find", "find the broken model"),
    ("2-write-the-grain-test", "test", "write the grain test"),
    ("3-fix-the-fan-out", "fix", "fix the fan-out"),
)
# The files of the warehouse's fix that solve exercises 2 and 3 (the trainer's answers).
SOLUTION_FILES = (
    "tests/assert_stg_orders_grain.sql",
    "models/staging/stg_orders.sql",
    "models/staging/stg_order_items.sql",
    "models/marts/fct_orders.sql",
)
SYMPTOM = "fct_revenue_daily"

# The hints point at the concept, never at the answer. Tests assert these texts.
HINTS = {
    "find-downstream": (
        "That model shows the symptom, but it only adds up what it reads. Walk the lineage "
        "upstream (its parents in manifest.json) and compare each model's rows with its "
        "distinct keys: the first model where they differ is where the grain broke."
    ),
    "find-source": (
        "Sources are where the data comes in, and their unique tests pass: each is one row "
        "per key. The grain broke in a model that reads them."
    ),
    "find-unknown": (
        "The manifest has no model of that name: list the models (and their parents) from "
        "manifest.json and pick one of them."
    ),
    "find-grain": (
        "Ask what one row of the model is (its name and its description say it): its grain "
        "is the column that identifies such a row, not one that may repeat within it."
    ),
    "find-factor": (
        "Divide the dashboard's total revenue (the mart behind it) by the finance system's "
        "total over the same days."
    ),
    "find-factor-upside-down": (
        "That is finance divided by the dashboard: the factor says how many times too high "
        "the dashboard is."
    ),
    "find-factor-mean": (
        "That is the plain mean number of line items per order. The dashboard adds each "
        "order's amount once per line item, so orders with more items count more: measure "
        "the factor on the revenue itself."
    ),
    "test-missing": (
        "A singular test is a .sql file in the project's tests/ folder: one select that "
        "returns the rows breaking the rule."
    ),
    "test-unreadable": (
        "dbt could not read the project. A singular test is one select statement, reading "
        "models with {{ ref('...') }}, without a semicolon at the end."
    ),
    "test-error": (
        "dbt could not run it on the broken build. A singular test is one select returning "
        "the failing rows; check the model and column names it uses."
    ),
    "test-wrong-model": (
        "It does not test the model whose grain broke (exercise 1). Put the grain test on "
        "the model that changed grain: a model downstream can look fine (a group by hides "
        "the duplicates) while its sums are wrong."
    ),
    "test-passes-on-bug": (
        "It returns no rows on the broken build, so it would not have caught the bug. A "
        "grain test returns the key values that appear on more than one row of the model."
    ),
    "test-fix-error": (
        "It cannot run on the fixed build: it uses a column the fixed model no longer has. "
        "A grain test uses only the model's key, which every correct version keeps."
    ),
    "test-wrong-column": (
        "It fails on the fixed build too, where the model is one row per order: it flags "
        "rows that legitimately repeat a value. Test the column that identifies one row of "
        "the model (its grain)."
    ),
    "fix-untouched": (
        "Edit the SQL files under the project's models/ folder, then run this cell again."
    ),
    "fix-model-error": "dbt could not build it: read its message, fix the SQL, run this again.",
    "fix-mart-only": (
        "fct_revenue_daily only adds up what stg_orders gives it and was never wrong itself. "
        "Patching the mart leaves the broken grain upstream for every other consumer: fix "
        "the model where the grain broke."
    ),
    "fix-distinct": (
        "`distinct` removes only rows that are identical in every column; the line-item "
        "columns differ from item to item, so the extra rows stay. Do not hide the join: "
        "a staging model reads one source."
    ),
    "fix-staging-join": (
        "stg_orders still has several rows per order: joining a table with several rows per "
        "order multiplies its rows. A staging model renames and casts one source; line "
        "items belong in a model of their own."
    ),
    "fix-lost-rows": (
        "stg_orders has fewer rows than raw_orders: a filter or an inner join drops orders. "
        "A staging model keeps every row of its source."
    ),
    "fix-hidden-join": (
        "stg_orders is one row per order again, but it still joins raw_order_items and then "
        "removes the duplicates (distinct or group by). That hides the fan-out instead of "
        "removing it, and it breaks again when a column is added. A staging model reads "
        "one source."
    ),
    "fix-one-source": (
        "A staging model reads exactly one source: move the line items into a staging model "
        "of their own."
    ),
    "fix-skipped": (
        "dbt build skips everything downstream of a failing test. Read what the failing "
        "test returns (your exercise 2 test is one of them): it points at the problem."
    ),
    "fix-mart-grain": (
        "fct_orders has several rows for some orders: whatever it joins to its orders must "
        "be one row per order."
    ),
    "fix-join-fanout": (
        "fct_orders is one row per order, but its amounts are still multiplied: joining line "
        "items to orders repeats each order once per item before the group by. Roll the "
        "items up to one row per order first, then join."
    ),
    "fix-items": (
        "The orders overview shows item_count and total_quantity: keep the enrichment's item "
        "detail, counted from the line items rolled up to one row per order."
    ),
    "fix-revenue": (
        "fct_revenue_daily reads stg_orders: once stg_orders is one row per order and the "
        "project is rebuilt, it agrees with finance."
    ),
    "fix-mart-changed": (
        "Everything reconciles, but fct_revenue_daily was changed: it was right all along "
        "and heals once stg_orders is one row per order. Undo that change, so the fix is "
        "about the real cause."
    ),
}


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Check:
    """One self-check: passed, failed (with a hint) or not answered yet."""

    name: str
    state: str  # "pass", "fail" or "todo"
    detail: str = ""
    hint: str = ""

    @property
    def passed(self) -> bool:
        return self.state == "pass"


@dataclass(frozen=True)
class Result:
    """An exercise's self-check: what is right, and the first thing that is not."""

    exercise: str
    checks: tuple[Check, ...]

    @property
    def status(self) -> str:
        """passed, not answered (nothing answered yet) or failed."""
        if all(c.passed for c in self.checks):
            return "passed"
        if all(c.state == "todo" for c in self.checks):
            return "not answered"
        return "failed"

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if not c.passed), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "status": self.status,
            "checks": [dataclasses.asdict(c) for c in self.checks],
        }

    def text(self) -> str:
        title = next(t for _, e, t in EXERCISES if e == self.exercise)
        lines = [f"Exercise {_number(self.exercise)} · {title}: {self.status.upper()}"]
        mark = {"pass": "ok  ", "fail": "FAIL", "todo": "TODO"}
        for c in self.checks:
            lines.append(f"  {mark[c.state]}  {c.name}" + (f": {c.detail}" if c.detail else ""))
            if c.hint:
                lines.append(f"        hint: {c.hint}")
        return "\n".join(lines)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {RESULT_MIME: self.to_dict(), "text/plain": self.text()}

    def __repr__(self) -> str:
        return self.text()


def _number(exercise: str) -> int:
    return next(i for i, (_, e, _) in enumerate(EXERCISES, 1) if e == exercise)


def results(notebook: str | Path) -> list[dict[str, Any]]:
    """The self-check results an executed notebook shows, in order."""

    return outputs(notebook, RESULT_MIME)


# ------------------------------------------------------------------------------ a seat at work


@dataclass(frozen=True)
class Seat:
    """The folders an exercise notebook works with."""

    data_dir: Path
    project_dir: Path
    build_dir: Path
    demo: bool = False

    def build(self, revision: str | Path):
        """A revision of the incident (`enrichment`, `fix`) or a project folder, built (or
        reused) on the seat's data."""

        return warehouse.build(revision, self.data_dir, self.build_dir)

    def connect(self, **builds):
        """An in-memory DuckDB session: the seat's raw tables as views, and each build
        attached read-only under its keyword (`seat.connect(enrichment=build)`)."""

        con = raw.connect(self.data_dir)
        for alias, built in builds.items():
            warehouse.attach(con, built, alias)
        return con


def open_seat(data_dir: str = "", project_dir: str = "", build_dir: str = "") -> Seat:
    """The seat a notebook runs at, from its parameters; relative paths are taken from the
    current folder (the notebook's). Empty values give a demo seat: the committed dataset,
    the enrichment revision itself (read-only: nothing to answer) and `build/training-demo`."""

    demo = not (data_dir or project_dir or build_dir)
    data = Path(data_dir).resolve() if data_dir else default_data_dir()
    project = Path(project_dir).resolve() if project_dir else warehouse_dir() / "enrichment"
    build = Path(build_dir).resolve() if build_dir else project_root() / "build" / "training-demo"
    if not (project / "dbt_project.yml").is_file():
        raise DataError(f"project_dir {project} is not a dbt project folder (no dbt_project.yml)")
    validate.require(data, cache_dir=build / "validated")
    return Seat(data, project, build, demo)


def _pristine() -> Path:

    return warehouse_dir() / "enrichment"


def _models(project: Path) -> dict[str, bytes]:
    folder = project / "models"
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _normalized(sql: str) -> str:
    """SQL without comments, case and whitespace differences, to tell a real change."""
    sql = re.sub(r"--[^\n]*|\{#.*?#\}|/\*.*?\*/", " ", sql, flags=re.S)
    return " ".join(sql.lower().split())


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeError):
        return ""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple) and not value)


# ------------------------------------------------------------------------------ exercise 1


def _dashboard_and_finance(con) -> tuple[Decimal, Decimal]:

    rec = reconcile.daily(con, f"enrichment.{SYMPTOM}", "finance_daily_revenue")
    return rec.mart_total, rec.finance_total


def answers(seat: Seat) -> dict[str, Any]:
    """Exercise 1's answers measured on the seat's enrichment build: the first model whose
    grain broke (the root-cause walk from the dashboard's mart), its key, the inflation
    factor, and the plain mean of line items per order (the tempting wrong factor)."""

    enrichment = seat.build("enrichment")
    with warehouse.connect(enrichment) as db:
        walked = investigate.walk(db, enrichment.manifest, SYMPTOM)
    root = walked.root_cause
    con = seat.connect(enrichment=enrichment)
    dashboard, finance = _dashboard_and_finance(con)
    orders, items = con.execute(
        "select (select count(*) from raw_orders), (select count(*) from raw_order_items)"
    ).fetchall()[0]
    return {
        "broken_model": root,
        "grain": list(next(s.key for s in walked.steps if s.model == root)),
        "inflation_factor": float(dashboard / finance),
        "mean_items_per_order": items / orders,
    }


def check_find(seat: Seat, broken_model: Any, grain: Any, inflation_factor: Any) -> Result:
    """Exercise 1: the model whose grain broke, the key it should be unique on, and the
    inflation factor (dashboard / finance), against the seat's enrichment build."""

    truth = answers(seat)
    graph = lineage.load(seat.build("enrichment").manifest_path)
    checks = [
        _check_model(graph, broken_model, truth["broken_model"]),
        _check_grain(grain, truth["grain"]),
        _check_factor(inflation_factor, truth["inflation_factor"], truth["mean_items_per_order"]),
    ]
    return Result("find", tuple(checks))


def _check_model(graph, answer: Any, root: str) -> Check:
    name = "the model whose grain broke"
    if _blank(answer):
        return Check(name, "todo", "not answered yet: set BROKEN_MODEL")
    if not isinstance(answer, str):
        return Check(name, "fail", f"give the model's name as a string, got {answer!r}")
    answer = answer.strip()
    if answer == root:
        return Check(name, "pass", answer)
    try:
        node = graph.node(answer)
    except DataError:
        return Check(name, "fail", f"{answer!r} is not in the manifest", HINTS["find-unknown"])
    if node.resource_type == "source":
        return Check(name, "fail", f"{answer} is a source", HINTS["find-source"])
    if node.resource_type != "model":
        return Check(name, "fail", f"{answer} is a {node.resource_type}", HINTS["find-unknown"])
    return Check(name, "fail", f"not {answer}", HINTS["find-downstream"])


def _check_grain(answer: Any, key: Sequence[str]) -> Check:
    name = "its grain (the key it should be unique on)"
    if _blank(answer):
        return Check(name, "todo", "not answered yet: set GRAIN")
    columns = [answer] if isinstance(answer, str) else answer
    if not isinstance(columns, list | tuple) or not all(isinstance(c, str) for c in columns):
        return Check(name, "fail", f"give column names, got {answer!r}", HINTS["find-grain"])
    if sorted(c.strip().lower() for c in columns) == sorted(key):
        return Check(name, "pass", ", ".join(key))
    return Check(name, "fail", f"not {', '.join(columns)}", HINTS["find-grain"])


def _check_factor(answer: Any, factor: float, mean_items: float) -> Check:
    name = "the inflation factor (dashboard / finance)"
    if _blank(answer):
        return Check(name, "todo", "not answered yet: set INFLATION_FACTOR")
    if isinstance(answer, bool) or not isinstance(answer, int | float | Decimal):
        return Check(name, "fail", f"give a number, got {answer!r}", HINTS["find-factor"])
    answer = float(answer)
    if abs(answer - factor) <= 0.005 + 1e-9:  # to two decimals, either side of a tie
        return Check(name, "pass", f"{factor:.2f}")
    if abs(answer - 1 / factor) <= 0.005:
        return Check(name, "fail", f"not {answer:g}", HINTS["find-factor-upside-down"])
    if abs(answer - mean_items) <= 0.005:
        return Check(name, "fail", f"not {answer:g}", HINTS["find-factor-mean"])
    return Check(name, "fail", f"not {answer:g} (to two decimals)", HINTS["find-factor"])


# ------------------------------------------------------------------------------ exercise 2


def _singular_tests(project: Path) -> list[Path]:
    folder = project / "tests"
    return sorted(folder.rglob("*.sql")) if folder.is_dir() else []


def check_grain_test(seat: Seat) -> Result:
    """Exercise 2: the seat's singular tests, run on the enrichment build (one must fail,
    on the model whose grain broke) and on the fix's build (it must pass)."""

    name = "a grain test that fails on the bug and passes on the fix"
    found = _singular_tests(seat.project_dir)
    if not found:
        where = seat.project_dir / "tests"
        return Result("test", (Check(name, "todo", f"no .sql file in {where} yet"),))
    enrichment, fix = seat.build("enrichment"), seat.build("fix")
    runs = {}
    for label, built in (("enrichment", enrichment), ("fix", fix)):
        try:
            runs[label] = warehouse.run_tests(
                seat.project_dir,
                built.database,
                select="test_type:singular",
                data_dir=seat.data_dir,
                build_dir=seat.build_dir,
            )
        except BuildError as exc:
            return Result("test", (Check(name, "fail", str(exc), HINTS["test-unreadable"]),))
    con = seat.connect(enrichment=enrichment)
    duplicated = grain.check(con, "enrichment.stg_orders", ["order_id"], examples=0)
    on_fix = {r.name: r for r in runs["fix"]}
    verdicts = [
        _judge_test(r, on_fix.get(r.name), duplicated.duplicated_keys) for r in runs["enrichment"]
    ]
    if not verdicts:
        return Result("test", (Check(name, "todo", "dbt found no singular test"),))
    best = max(verdicts, key=lambda v: (v[0], v[1].passed))
    return Result("test", (best[1],))


def _judge_test(on_bug, on_fix, duplicated: int) -> tuple[int, Check]:
    """How far one test gets (the number of steps it passes) and its verdict."""
    name = f"grain test {on_bug.name}"
    if on_bug.status == "error":
        return 0, Check(name, "fail", f"error on the enrichment build: {on_bug.message}",
                        HINTS["test-error"])  # fmt: skip
    models = [d.split(".")[-1] for d in on_bug.depends_on if d.startswith("model.")]
    if "stg_orders" not in models:
        tested = ", ".join(models) or "no model"
        return 1, Check(name, "fail", f"it tests {tested}", HINTS["test-wrong-model"])
    if not on_bug.failures:
        return 2, Check(name, "fail", "passes on the enrichment build", HINTS["test-passes-on-bug"])
    if on_fix is None or on_fix.status == "error":
        message = on_fix.message if on_fix else "not run"
        return 3, Check(name, "fail", f"error on the fix's build: {message}",
                        HINTS["test-fix-error"])  # fmt: skip
    if on_fix.failures:
        return 4, Check(
            name,
            "fail",
            f"fails on the enrichment build ({on_bug.failures} rows) and on the fix's "
            f"({on_fix.failures} rows)",
            HINTS["test-wrong-column"],
        )
    note = " (one per duplicated order_id)" if on_bug.failures == duplicated else ""
    detail = (
        f"fails on the enrichment build with {on_bug.failures} rows{note}, "
        "passes on the fix's build"
    )
    return 5, Check(name, "pass", detail)


# ------------------------------------------------------------------------------ exercise 3


def check_fix(seat: Seat) -> Result:
    """Exercise 3: the seat's project, rebuilt on its data, checked model by model."""

    project = seat.project_dir
    if _models(project) == _models(_pristine()):
        where = project / "models"
        return Result("fix", (Check("the fix", "todo", f"not answered yet: edit {where}"),))
    try:
        built = seat.build(project)
    except BuildError as exc:
        return Result("fix", (Check("dbt builds the project", "fail", str(exc),
                                    HINTS["fix-model-error"]),))  # fmt: skip
    status = {r.name: r for r in built.results if r.resource_type == "model"}
    graph = lineage.load(built.manifest_path)
    con = seat.connect(trainee=built)
    checks = list(_staging_checks(project, status, graph, con))
    if all(c.passed for c in checks):
        checks += _mart_checks(project, built, status, con)
    return Result("fix", tuple(checks))


def _model_built(name: str, status: Mapping[str, Any], built_results=()) -> Check:
    label = f"{name} builds"
    r = status.get(name)
    if r is None:
        return Check(label, "fail", f"the project has no model {name}", HINTS["fix-model-error"])
    if r.status == "skipped":
        failing = sorted(x.name for x in built_results if x.status in ("fail", "error"))
        detail = f"dbt skipped it after {', '.join(failing) or 'a failure'} upstream"
        return Check(label, "fail", detail, HINTS["fix-skipped"])
    if not r.ok:
        return Check(label, "fail", r.message or r.status, HINTS["fix-model-error"])
    return Check(label, "pass")


def _staging_checks(project: Path, status, graph, con):

    yield (c := _model_built("stg_orders", status))
    if not c.passed:
        return
    report = grain.check(con, "trainee.stg_orders", ["order_id"], examples=0)
    (orders,) = con.execute("select count(*) from raw_orders").fetchall()[0]
    name = "stg_orders is one row per order"
    sql = _read(project / "models" / "staging" / "stg_orders.sql")
    hides = bool(re.search(r"\bdistinct\b|\bgroup\s+by\b", _normalized(sql)))
    if not report.ok:
        detail = f"{report.rows} rows for {report.distinct_keys} orders"
        if _mart_changed(project):
            yield Check(name, "fail", detail, HINTS["fix-mart-only"])
        elif hides:
            yield Check(name, "fail", detail, HINTS["fix-distinct"])
        else:
            yield Check(name, "fail", detail, HINTS["fix-staging-join"])
        return
    if report.rows != orders:
        yield Check(name, "fail", f"{report.rows} rows for {orders} orders", HINTS["fix-lost-rows"])
        return
    yield Check(name, "pass", f"{report.rows} rows, {report.distinct_keys} orders")
    parents = sorted(p.label for p in graph.parents(graph.node("stg_orders")))
    name = "stg_orders reads one source"
    if parents != ["shop.raw_orders"]:
        hint = HINTS["fix-hidden-join"] if hides else HINTS["fix-one-source"]
        yield Check(name, "fail", f"it reads {', '.join(parents)}", hint)
    else:
        yield Check(name, "pass", "shop.raw_orders")


def _columns(con, relation: str) -> set[str]:
    return {r[0] for r in con.execute(f"describe {relation}").fetchall()}


def _mart_checks(project: Path, built, status, con) -> list[Check]:

    checks = [_model_built(m, status, built.results) for m in ("fct_orders", SYMPTOM)]
    if not all(c.passed for c in checks):
        return [c for c in checks if not c.passed][:1]
    name = "fct_orders is one row per order, with each order's amount"
    columns = _columns(con, "trainee.fct_orders")
    missing = sorted({"order_id", "amount"} - columns)
    if missing:
        return [Check(name, "fail", f"fct_orders has no {missing[0]} column",
                      HINTS["fix-model-error"])]  # fmt: skip
    report = grain.check(con, "trainee.fct_orders", ["order_id"], examples=0)
    if not report.ok:
        detail = f"{report.rows} rows for {report.distinct_keys} orders"
        return [Check(name, "fail", detail, HINTS["fix-mart-grain"])]
    (wrong,) = con.execute(
        "select count(*) from raw_orders as r full outer join trainee.fct_orders as f "
        "on r.order_id = f.order_id where r.amount is distinct from f.amount"
    ).fetchall()[0]
    if wrong:
        detail = f"{wrong} orders have the wrong amount"
        return [Check(name, "fail", detail, HINTS["fix-join-fanout"])]
    checks = [Check(name, "pass", f"{report.rows} orders, every amount right")]
    name = "fct_orders counts each order's items and quantity"
    missing = sorted({"item_count", "total_quantity"} - columns)
    if missing:
        return [*checks, Check(name, "fail", f"fct_orders has no {missing[0]}", HINTS["fix-items"])]
    (wrong,) = con.execute(
        "with items as (select order_id, count(*) as n, sum(quantity) as q "
        "from raw_order_items group by order_id) "
        "select count(*) from trainee.fct_orders as f full outer join items as i "
        "on f.order_id = i.order_id "
        "where f.item_count is distinct from i.n or f.total_quantity is distinct from i.q"
    ).fetchall()[0]
    if wrong:
        detail = f"{wrong} orders have the wrong item_count or total_quantity"
        return [*checks, Check(name, "fail", detail, HINTS["fix-items"])]
    checks.append(Check(name, "pass"))
    name = "fct_revenue_daily agrees with finance every day"
    rec = reconcile.daily(con, f"trainee.{SYMPTOM}", "finance_daily_revenue")
    if not rec.ok:
        detail = f"{len(rec.disagreeing)} of {len(rec.days)} days disagree"
        return [*checks, Check(name, "fail", detail, HINTS["fix-revenue"])]
    checks.append(Check(name, "pass", f"{len(rec.days)} days, to the cent"))
    name = "fct_revenue_daily is unchanged"
    if _mart_changed(project):
        return [*checks, Check(name, "fail", "its SQL was changed", HINTS["fix-mart-changed"])]
    checks.append(Check(name, "pass"))
    return checks


# ------------------------------------------------------------------------------ notebook helpers


def symptom(seat: Seat, enrichment, days: int = 7):
    """What finance saw: the dashboard's revenue against finance's, for the first days."""

    rec = reconcile.daily(
        seat.connect(enrichment=enrichment), f"enrichment.{SYMPTOM}", "finance_daily_revenue"
    )
    return pd.DataFrame(
        {
            "revenue_date": [d.revenue_date for d in rec.days[:days]],
            "dashboard": [d.mart for d in rec.days[:days]],
            "finance": [d.finance for d in rec.days[:days]],
        }
    )


def lineage_table(manifest_path: str | Path):
    """Every model, source and exposure of a manifest with what it reads and what reads it."""

    graph = lineage.load(manifest_path)
    rows = []
    kinds = ("source", "model", "exposure")
    nodes = sorted(
        (n for n in graph.nodes.values() if n.resource_type in kinds),
        key=lambda n: (kinds.index(n.resource_type), n.label),
    )
    for node in nodes:
        reads = [p.label for p in graph.parents(node) if p.resource_type in kinds]
        read_by = [c.label for c in graph.children(node) if c.resource_type in kinds]
        rows.append((node.label, node.resource_type, ", ".join(reads), ", ".join(read_by)))
    return pd.DataFrame(rows, columns=["node", "type", "reads", "read by"]).set_index("node")


def show_files(folder: Path, pattern: str = "*.sql") -> None:
    """Print each file under `folder` matching `pattern`, with its path."""
    files = sorted(folder.rglob(pattern)) if folder.is_dir() else []
    if not files:
        print(f"no {pattern} file in {folder} yet")
    for path in files:
        print(f"---- {path}\n{path.read_text().rstrip()}\n")


def _set_assignments(source: str, values: Mapping[str, Any]) -> str:
    """`source` with the top-level assignments `name = ...` of `values` replaced (keeping
    a trailing comment); a name not assigned there is an error."""
    lines = source.splitlines()
    for name, value in values.items():
        pattern = re.compile(rf"^{re.escape(name)}\s*=\s*(.*?)(\s+#.*)?$")
        for i, line in enumerate(lines):
            m = pattern.match(line)
            if m:
                lines[i] = f"{name} = {value!r}{m.group(2) or ''}"
                break
        else:
            raise DataError(f"the notebook assigns no {name}")
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


def _edit_cell(doc: dict, tag: str, values: Mapping[str, Any]) -> None:
    for cell in doc["cells"]:
        if tag in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"])
            cell["source"] = _set_assignments(source, values).splitlines(keepends=True)
            return
    raise DataError(f"the notebook has no cell tagged {tag!r}")


def _mart_changed(project: Path) -> bool:
    """Did the trainee edit fct_revenue_daily (which never needed a change)?"""
    mart = Path("models") / "marts" / "fct_revenue_daily.sql"
    return _normalized(_read(project / mart)) != _normalized(_read(_pristine() / mart))


def _write_notebook(doc: dict, path: Path) -> None:
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def fill_answers(notebook: str | Path, **answers: Any) -> None:
    """Write answers into a notebook's answers cell (`BROKEN_MODEL = ...`), as a trainee would."""
    path = Path(notebook)
    doc = json.loads(path.read_text())
    _edit_cell(doc, "answers", answers)
    _write_notebook(doc, path)


def apply_solution(project: str | Path) -> list[Path]:
    """Put the warehouse fix's files that solve exercises 2 and 3 into a seat's project
    (the trainer's reference answer); returns the files written."""
    project = Path(project)
    written = []
    for rel in SOLUTION_FILES:
        target = project / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_pristine().parent / "fix" / rel, target)
        written.append(target)
    return written


def solved(seat: Seat) -> Seat:
    """The seat with the solution applied to a copy of its project, made (afresh) under its
    build folder: the trainee's project is not touched."""
    copy = seat.build_dir / "solution" / "project"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(
        seat.project_dir, copy, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*")
    )
    for old in (copy / "tests").glob("*.sql"):
        old.unlink()  # the trainee's own tests, if any, are not the solution's
    apply_solution(copy)
    return dataclasses.replace(seat, project_dir=copy)


def show_solution() -> None:
    """Print the solution's files (the warehouse fix's), each with its path in a project."""
    fix = _pristine().parent / "fix"
    for rel in SOLUTION_FILES:
        print(f"---- {rel}\n{(fix / rel).read_text().rstrip()}\n")
