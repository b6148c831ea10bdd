"""The training exercises' self-checks: what is right, and a hint when it is not.

Each exercise notebook ends with one call, `check_find`, `check_grain_test` or `check_fix`,
which measures the trainee's answer on the seat's own data and builds and returns a
`Result`: shown to the trainee as text, stored in the notebook's output under
`RESULT_MIME`, where `fanout grade` reads it back (`results`). A hint points at the concept,
never at the answer (`hints`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from fanout.errors import BuildError, DataError
from fanout.incident import warehouse
from fanout.incident.inflation import inflation
from fanout.toolkit import grain, investigate, lineage, reconcile
from fanout.training.exercises.hints import HINTS
from fanout.training.exercises.results import SYMPTOM, Check, Result
from fanout.training.exercises.seat import Seat, _blank, _models, _normalized, _pristine, _read

__all__ = ["answers", "check_find", "check_fix", "check_grain_test"]


def answers(seat: Seat) -> dict[str, Any]:
    """Exercise 1's answers on the seat: the first model whose grain broke (the root-cause
    walk from the dashboard's mart, on the seat's enrichment build), its key, the inflation
    factor, and the plain mean of line items per order (the tempting wrong factor), both
    from the seat's raw data as the trainer sheet has them (`fanout.incident.inflation`)."""

    enrichment = seat.build("enrichment")
    with warehouse.connect(enrichment) as db:
        walked = investigate.walk(db, enrichment.manifest, SYMPTOM)
    root = walked.root_cause
    found = inflation(seat.connect())
    return {
        "broken_model": root,
        "grain": list(next(s.key for s in walked.steps if s.model == root)),
        "inflation_factor": float(found.factor),
        "mean_items_per_order": found.line_items / found.orders,
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


def _mart_changed(project: Path) -> bool:
    """Did the trainee edit fct_revenue_daily (which never needed a change)?"""
    mart = Path("models") / "marts" / "fct_revenue_daily.sql"
    return _normalized(_read(project / mart)) != _normalized(_read(_pristine() / mart))
