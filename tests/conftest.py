"""Shared fixtures: builds of the three revisions on the committed data, made once per session,
and independent readings of the raw files (Python's csv and Decimal: no DuckDB, no dbt)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import signal
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "raw"


@dataclass
class RawFacts:
    """Figures computed straight from the CSV files."""

    orders: int
    items: int
    order_ids: set
    items_per_order: Counter
    amount: dict  # order_id -> Decimal
    line_totals: dict  # order_id -> Decimal
    ordered_at: dict  # order_id -> datetime
    finance: dict  # date -> Decimal

    @property
    def total_amount(self) -> Decimal:
        return sum(self.amount.values(), Decimal(0))

    @property
    def weighted_items(self) -> Decimal:
        """sum(amount x items per order) / sum(amount): the inflation a fan-out causes."""
        return self.fanned_amount / self.total_amount

    @property
    def order_date(self) -> dict:
        return {o: at.date() for o, at in self.ordered_at.items()}

    @property
    def fanned_amount(self) -> Decimal:
        """sum(amount x items per order): what a fanned-out sum(amount) adds up to."""
        return sum((a * self.items_per_order[o] for o, a in self.amount.items()), Decimal(0))

    def before(self, at: dt.datetime) -> tuple[int, int]:
        """(orders, line items) placed before `at`."""
        placed = [o for o, t in self.ordered_at.items() if t < at]
        return len(placed), sum(self.items_per_order[o] for o in placed)

    def daily_amount(self) -> dict:
        days: dict = defaultdict(Decimal)
        for order_id, amount in self.amount.items():
            days[self.order_date[order_id]] += amount
        return dict(days)


def read_raw(data_dir: Path) -> RawFacts:
    with (data_dir / "raw_orders.csv").open() as fh:
        orders = list(csv.DictReader(fh))
    with (data_dir / "raw_order_items.csv").open() as fh:
        items = list(csv.DictReader(fh))
    with (data_dir / "finance_daily_revenue.csv").open() as fh:
        finance = {
            dt.date.fromisoformat(r["revenue_date"]): Decimal(r["revenue"])
            for r in csv.DictReader(fh)
        }
    line_totals: dict = defaultdict(Decimal)
    for r in items:
        line_totals[int(r["order_id"])] += int(r["quantity"]) * Decimal(r["unit_price"])
    return RawFacts(
        orders=len(orders),
        items=len(items),
        order_ids={int(r["order_id"]) for r in orders},
        items_per_order=Counter(int(r["order_id"]) for r in items),
        amount={int(r["order_id"]): Decimal(r["amount"]) for r in orders},
        line_totals=dict(line_totals),
        ordered_at={int(r["order_id"]): dt.datetime.fromisoformat(r["ordered_at"]) for r in orders},
        finance=finance,
    )


@pytest.fixture(scope="session")
def raw_facts() -> RawFacts:
    return read_raw(RAW)


@pytest.fixture(scope="session")
def build_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("build")


MARKETPLACE = Path(__file__).parent / "projects" / "marketplace"


def _dbt_build(project: Path, work: Path) -> None:
    """`dbt build` a project in this process, offline, everything it writes under `work`."""
    from fanout.incident import warehouse

    profile = {"type": "duckdb", "path": str(work / "marketplace.duckdb"), "threads": 1}
    profiles = {"marketplace": {"target": "test", "outputs": {"test": profile}}}
    (work / "profiles.yml").write_text(json.dumps(profiles))
    results = warehouse.invoke([
        "build",
        "--project-dir", str(project),
        "--profiles-dir", str(work),
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
        "--vars", json.dumps({"data_dir": str(project / "data")}),
    ])  # fmt: skip
    assert all(r.ok for r in results), [r for r in results if not r.ok]


@pytest.fixture(scope="session")
def marketplace(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("marketplace")
    _dbt_build(MARKETPLACE, work)
    return work


@pytest.fixture(scope="session")
def market(marketplace):
    from fanout.toolkit import lineage

    return lineage.load(marketplace / "target" / "manifest.json")


@pytest.fixture(scope="session")
def builds(build_root):
    from fanout.incident import warehouse

    return {rev: warehouse.build(rev, RAW, build_root) for rev in warehouse.REVISIONS}


def pytest_sessionfinish(session, exitstatus):
    """After every test: data/raw must still match its checksums (no run writes it)."""
    from fanout.incident.data.raw import verify_checksums

    changed = verify_checksums(RAW)
    if changed:
        session.exitstatus = 1
        print(f"\ndata/raw was written during the tests: {', '.join(changed)}")


def run_cli(capsys, *argv):
    """`fanout ARGV` in this process: (exit code, stdout, stderr)."""
    from fanout.cli import main

    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


class Hung(Exception):
    """A call ran past its deadline: a read that should have been refused blocked instead."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Fail (raise `Hung`) instead of hanging when the block runs longer than `seconds`: a
    FIFO opened for reading blocks until a writer comes, /dev/zero never ends. SIGALRM
    interrupts a blocking system call and the handler's exception propagates (PEP 475)."""

    def expire(signum, frame):
        raise Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
