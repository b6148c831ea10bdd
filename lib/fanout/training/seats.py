"""Preparing a training session on grain discipline: a seat per trainee, the trainer sheet.

A session folder (`fanout training prepare`) holds `training.json` (what was prepared), the
trainer sheet (`trainer-sheet.md` and `.csv`, each seat's expected answers) and one folder
per seat: its own dataset (`data/`, generated from the seat and the session seed), its own
copy of the enrichment revision's dbt project (`project/`, which the trainee edits) and the
three exercise notebooks, parameterized with those folders. `fanout grade` executes each
seat's notebooks and reads their self-check results (`fanout.training.exercises`).

>>> derive(2026, "1") == derive(2026, "1"), derive(2026, "1") == derive(2026, "2")
(True, False)
>>> _slug("Ana María O'Neil")
'ana-maria-o-neil'
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanout.errors import ParameterError
from fanout.incident.data import raw
from fanout.incident.data.generate import generate
from fanout.incident.inflation import inflation
from fanout.incident.params import PROTECTED, Params
from fanout.incident.paths import clean_stale, project_root, swap_into_place
from fanout.training.exercises.results import EXERCISES
from fanout.training.exercises.seat import _pristine
from fanout.training.exercises.solutions import _edit_cell, _write_notebook

__all__ = [
    "SESSION_FILE",
    "Prepared",
    "SeatSpec",
    "check_out",
    "derive",
    "expected_answers",
    "prepare",
    "seat_specs",
]

SESSION_FILE = "training.json"
SESSION_VERSION = 1
MAX_SEATS = 200
ORDERS_PER_DAY = 30
DEFAULT_SESSION_SEED = 2026
# What a seat's notebooks read; prepare writes these values into their parameters cell.
SEAT_PARAMETERS = {"data_dir": "data", "project_dir": "project", "build_dir": "build"}


@dataclass(frozen=True)
class SeatSpec:
    """A seat: its number, the trainee's name (if given), its folder and its dataset."""

    number: int
    name: str
    folder: str
    seed: int
    start_date: dt.date
    days: int
    mean_items_per_order: float

    def params(self):
        pr = dt.datetime.combine(self.start_date + dt.timedelta(days=self.days - 2), dt.time(14, 5))
        return Params.from_mapping(
            seed=self.seed,
            start_date=self.start_date,
            days=self.days,
            orders_per_day=float(ORDERS_PER_DAY),
            mean_items_per_order=self.mean_items_per_order,
            pr_deployed_at=pr,
            detected_at=pr + dt.timedelta(hours=2),
            fix_deployed_at=pr + dt.timedelta(hours=3, minutes=35),
        )


def derive(session_seed: int, key: str) -> tuple[int, dt.date, int, float]:
    """A seat's (seed, start date, days, mean items per order), from the session seed and
    the seat's key (its number, or the trainee's name): the same key, the same data."""
    h = hashlib.sha256(f"fanout-training:{session_seed}:{key}".encode()).digest()
    seed = int.from_bytes(h[:4], "big")
    start = dt.date(2026, 1, 5) + dt.timedelta(days=int.from_bytes(h[4:6], "big") % 300)
    days = 21 + h[6] % 8
    mean_items = round(1.6 + int.from_bytes(h[7:9], "big") % 200 / 100, 2)
    return seed, start, days, mean_items


def _slug(name: str) -> str:
    """A folder-safe form of a name; a name with no Latin letters or digits (李雷) gets a
    short digest instead, so it still has a folder of its own."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    if slug or not name.strip():
        return slug
    return "trainee-" + hashlib.sha256(name.strip().encode()).hexdigest()[:8]


def _names(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParameterError(f"--seats: no such file {path}") from None
    except IsADirectoryError:
        raise ParameterError(f"--seats: {path} is a folder, not a CSV file") from None
    except UnicodeError:
        raise ParameterError(f"--seats: {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ParameterError(f"--seats: cannot read {path}: {exc.strerror}") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ParameterError(f"--seats: {path} is not valid CSV: {exc}") from None
    if not rows:
        raise ParameterError(f"--seats: {path} is empty; it needs a header with a name column")
    header = [h.strip().lower() for h in rows[0]]
    if "name" not in header:
        raise ParameterError(f"--seats: {path} has no name column (header: {','.join(rows[0])})")
    column = header.index("name")
    names, seen = [], {}
    for line, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are fine
        name = row[column].strip() if column < len(row) else ""
        if not _slug(name):
            raise ParameterError(f"--seats: {path} line {line}: the name is empty")
        if _slug(name) in seen:
            first = seen[_slug(name)]
            raise ParameterError(
                f"--seats: {path} line {line}: duplicate name {name!r} (as on line {first})"
            )
        seen[_slug(name)] = line
        names.append(name)
    if not names:
        raise ParameterError(f"--seats: {path} lists no names")
    if len(names) > MAX_SEATS:
        raise ParameterError(f"--seats: {path} lists {len(names)} names; at most {MAX_SEATS}")
    return names


def seat_specs(seats: str, session_seed: int = DEFAULT_SESSION_SEED) -> list[SeatSpec]:
    """The seats `--seats` asks for: a number of seats, or a CSV file with a name column."""
    text = str(seats).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        count = int(text)
        if not 1 <= count <= MAX_SEATS:
            raise ParameterError(f"--seats must be between 1 and {MAX_SEATS}, got {count}")
        keyed = [(i, "", f"seat-{i:02d}", str(i)) for i in range(1, count + 1)]
    else:
        path = Path(text)
        if path.suffix.lower() != ".csv" and not path.exists():
            raise ParameterError(
                f"--seats must be a number of seats or a CSV file with a name column, got {text!r}"
            )
        names = _names(path)
        keyed = [(i, n, f"seat-{i:02d}-{_slug(n)}", n) for i, n in enumerate(names, 1)]
    return [SeatSpec(i, name, folder, *derive(session_seed, key)) for i, name, folder, key in keyed]


def expected_answers(data_dir: Path) -> dict[str, Any]:
    """A seat's expected answers, computed with DuckDB straight from its raw files (no dbt):
    what the enrichment's join does to stg_orders and to the dashboard
    (`fanout.incident.inflation`, as exercise 1's self-check measures it)."""
    found = inflation(raw.connect(data_dir))
    orders, items, finance = found.orders, found.line_items, found.finance
    dashboard, multi = found.fanned_out, found.multi_item_orders
    return {
        "orders": orders,
        "line_items": items,
        "broken_model": "stg_orders",
        "grain": "order_id",
        "inflation_factor": f"{dashboard / finance:.4f}",
        # the answer to two decimals, rounded once from the exact ratio (not from the above)
        "inflation_factor_answer": f"{dashboard / finance:.2f}",
        "mean_items_per_order_observed": f"{items / orders:.4f}",
        "dashboard_revenue": f"{dashboard:.2f}",
        "finance_revenue": f"{finance:.2f}",
        "overstated_by": f"{dashboard - finance:.2f}",
        "stg_orders_rows_enrichment": items,
        "grain_test_failing_rows": multi,
        "fixed_revenue": f"{finance:.2f}",
    }


SHEET_COLUMNS = (
    "seat",
    "name",
    "folder",
    "seed",
    "start_date",
    "days",
    "mean_items_per_order",
    "orders",
    "line_items",
    "broken_model",
    "grain",
    "inflation_factor",
    "inflation_factor_answer",
    "mean_items_per_order_observed",
    "dashboard_revenue",
    "finance_revenue",
    "overstated_by",
    "stg_orders_rows_enrichment",
    "grain_test_failing_rows",
    "fixed_revenue",
)


def _sheet_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, SHEET_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _sheet_md(rows: list[dict[str, Any]], session_seed: int) -> str:
    lines = [
        "# Trainer sheet",
        "",
        f"Session seed {session_seed}, {len(rows)} seats. Expected answers per seat; keep "
        "this page to yourself. Every seat's broken model is `stg_orders` (grain `order_id`);",
        "the figures differ per seat. A plain mean of items per order (the fourth column) is "
        "a common wrong answer for the factor.",
        "",
        "| seat | name | factor | mean items (trap) | orders | stg_orders rows | "
        "grain test rows | dashboard | finance |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['folder']} | {r['name'] or '-'} | {r['inflation_factor_answer']} | "
            f"{float(r['mean_items_per_order_observed']):.2f} | {r['orders']} | "
            f"{r['stg_orders_rows_enrichment']} | {r['grain_test_failing_rows']} | "
            f"{r['dashboard_revenue']} | {r['finance_revenue']} |"
        )
    lines += [
        "",
        '- Exercise 1: `BROKEN_MODEL = "stg_orders"`, `GRAIN = ["order_id"]`, '
        "`INFLATION_FACTOR` = the factor (two decimals).",
        "- Exercise 2: the grain test on `stg_orders` returns the *grain test rows* "
        "(one per order_id with more than one line item) on the enrichment build, none on "
        "the fix.",
        "- Exercise 3: after the fix, `stg_orders` has *orders* rows and the dashboard shows "
        "the finance figure.",
        "",
        "`fanout grade DIR` runs every seat's notebooks and prints who passed what.",
        "",
    ]
    return "\n".join(lines)


def _seat_readme(spec: SeatSpec) -> str:
    who = f" ({spec.name})" if spec.name else ""
    return f"""# Seat {spec.number}{who}

Your own dataset (`data/`) and your own copy of the dbt project (`project/`): the revision
with the enrichment pull request, the one that broke the revenue dashboard.

1. `1-find-the-broken-model.ipynb`: find the model whose grain broke; answer in the notebook.
2. `2-write-the-grain-test.ipynb`: write a singular test in `project/tests/`.
3. `3-fix-the-fan-out.ipynb`: fix `project/models/` the right way and rebuild.

Each notebook ends with a self-check cell: run it as often as you like. Open the notebooks
in JupyterLab from this folder (the notebooks read `data/` and `project/`, and build into
`build/`).
"""


def notebooks_dir() -> Path:
    return project_root() / "notebooks" / "training"


def _copy_project(target: Path) -> None:
    source = _pristine()
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if rel.parts[0] in ("target", "logs") or path.suffix in (".duckdb", ".wal"):
            continue
        if path.is_dir():
            (target / rel).mkdir(parents=True, exist_ok=True)
            continue
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        if rel == Path("dbt_project.yml"):  # by hand, from the seat's project: ../data
            data = data.replace(b'raw_dir: "../../data/raw"', b'raw_dir: "../data"')
        (target / rel).write_bytes(data)
    (target / "tests").mkdir(exist_ok=True)


def _seat_notebooks(target: Path) -> None:
    for stem, _, _ in EXERCISES:
        doc = json.loads((notebooks_dir() / f"{stem}.ipynb").read_text())
        _edit_cell(doc, "parameters", SEAT_PARAMETERS)
        _write_notebook(doc, target / f"{stem}.ipynb")


@dataclass(frozen=True)
class Prepared:
    folder: Path
    seats: tuple[SeatSpec, ...]
    sheet: tuple[dict[str, Any], ...]
    reused: bool = False


def check_out(out: Path) -> None:
    root = project_root()
    for protected in PROTECTED:
        inside = (root / protected).resolve()
        if out == inside or inside in out.parents:
            raise ParameterError(f"--out {out} is inside the project's {protected}/; use build/")
    if out == root:
        raise ParameterError("--out must not be the project folder")
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {out} exists and is not a folder")


def prepare(
    seats: str,
    out: str | Path,
    *,
    session_seed: int = DEFAULT_SESSION_SEED,
    overwrite: bool = False,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> Prepared:
    """Prepare a session folder: one seat per trainee and the trainer sheet (see the module
    docstring). Everything is checked before anything is written; the folder is made under a
    temporary name and renamed into place. The same arguments give the same bytes."""

    if isinstance(session_seed, bool) or not 0 <= session_seed < 2**32:
        raise ParameterError(f"--session-seed must be between 0 and {2**32 - 1}")
    specs = seat_specs(seats, session_seed)
    out = Path(out).resolve()
    check_out(out)
    session = {
        "version": SESSION_VERSION,
        "session_seed": session_seed,
        "seats": [
            {"number": s.number, "name": s.name, "folder": s.folder, "dataset": _dataset(s)}
            for s in specs
        ],
    }
    marker = out / SESSION_FILE
    if out.exists() and any(out.iterdir()):
        if not marker.is_file():
            raise ParameterError(
                f"--out {out} exists and is not a training folder (no {SESSION_FILE}); "
                "choose another folder"
            )
        try:
            before = json.loads(marker.read_text())
        except ValueError:
            before = None
        if before == session and not overwrite:
            say(f"{out}: already prepared with these seats; left as it is (trainees' work kept)")
            return _load_prepared(out, specs)
        if not overwrite:
            raise ParameterError(
                f"--out {out} holds another training session; pass --overwrite to replace it "
                "(and the trainees' work in it)"
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out.parent, prefix=f".{out.name}.")  # only this folder's own leftovers
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    work.chmod(0o755)
    try:
        sheet = []
        for i, spec in enumerate(specs, 1):
            seat = work / spec.folder
            seat.mkdir()
            generate(spec.params(), seat / "data")
            _copy_project(seat / "project")
            _seat_notebooks(seat)
            (seat / "README.md").write_text(_seat_readme(spec))
            sheet.append(_sheet_row(spec, seat / "data"))
            if i % 10 == 0 or i == len(specs):
                say(f"prepared {i}/{len(specs)} seats")
        (work / "trainer-sheet.csv").write_text(_sheet_csv(sheet))
        (work / "trainer-sheet.md").write_text(_sheet_md(sheet, session_seed))
        (work / SESSION_FILE).write_text(json.dumps(session, indent=2) + "\n")  # last: complete
        swap_into_place(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Prepared(out, tuple(specs), tuple(sheet))


def _dataset(spec: SeatSpec) -> dict[str, Any]:
    return {k: v for k, v in spec.params().dataset().items()}


def _sheet_row(spec: SeatSpec, data_dir: Path) -> dict[str, Any]:
    return {
        "seat": spec.number,
        "name": spec.name,
        "folder": spec.folder,
        "seed": spec.seed,
        "start_date": spec.start_date.isoformat(),
        "days": spec.days,
        "mean_items_per_order": spec.mean_items_per_order,
        **expected_answers(data_dir),
    }


def _load_prepared(out: Path, specs: list[SeatSpec]) -> Prepared:
    with (out / "trainer-sheet.csv").open(newline="") as fh:
        sheet = tuple(csv.DictReader(fh))
    return Prepared(out, tuple(specs), sheet, reused=True)
