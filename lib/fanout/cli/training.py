"""The training's commands: prepare a session's seats, grade what they submitted. Each imports
what it runs when it runs."""

from __future__ import annotations

import argparse
import dataclasses
import time

from fanout.cli.common import Parser, emit, format_option

__all__ = ["register"]


def cmd_training_prepare(args: argparse.Namespace) -> int:
    from fanout import training

    started = time.perf_counter()
    done = training.prepare(
        args.seats, args.out, session_seed=args.session_seed, overwrite=args.overwrite
    )
    payload = {
        "folder": str(done.folder),
        "reused": done.reused,
        "seats": [
            {"seat": s.number, "name": s.name, "folder": str(done.folder / s.folder)}
            for s in done.seats
        ],
        "trainer_sheet": str(done.folder / "trainer-sheet.md"),
    }
    verb = "already prepared" if done.reused else "prepared"
    text = (
        f"{verb} {len(done.seats)} seats in {done.folder} "
        f"({time.perf_counter() - started:.1f} s); trainer sheet: "
        f"{done.folder / 'trainer-sheet.md'}"
    )
    emit(args, payload, text)
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from fanout import training

    rows = training.grade(args.dir, args.out)
    payload = {
        "passed": all(r.passed for r in rows),
        "rows": [{**dataclasses.asdict(r), "summary": r.summary} for r in rows],
    }
    emit(args, payload, training.grade_table(rows))
    return 0 if payload["passed"] else 1


def register(sub: argparse._SubParsersAction) -> None:
    """`fanout training prepare` and `fanout grade`."""
    tr = sub.add_parser(
        "training",
        help="prepare a training session: a folder per seat and a trainer sheet",
        description="Training sessions on grain discipline (see docs/training.md).",
    )
    tr_sub = tr.add_subparsers(dest="training", metavar="ACTION", parser_class=Parser)
    tr_sub.required = True
    prep = tr_sub.add_parser(
        "prepare",
        help="a folder per seat (own dataset, own dbt project, the exercises) and a trainer sheet",
        description=(
            "Prepare OUT/<seat>/ for each seat: its own small dataset (seed, items per order "
            "and dates derived from the seat and the session seed), its own copy of the "
            "enrichment revision's dbt project to edit, and the three exercise notebooks; and "
            "OUT/trainer-sheet.md and .csv with each seat's expected answers. Same arguments, "
            "same bytes. An OUT prepared with the same arguments is left as it is."
        ),
    )
    prep.add_argument(
        "--seats",
        required=True,
        metavar="N|FILE.csv",
        help="a number of seats (1 to 200), or a CSV file with a name column",
    )
    prep.add_argument("--out", required=True, metavar="DIR", help="the session folder to write")
    prep.add_argument(
        "--session-seed",
        type=int,
        default=2026,
        metavar="N",
        help="varies every seat's data between sessions (default: %(default)s)",
    )
    prep.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a session already in DIR (and the trainees' work in it)",
    )
    format_option(prep)
    prep.set_defaults(func=cmd_training_prepare)

    gd = sub.add_parser(
        "grade",
        help="run each seat's submitted exercises and print who passed what",
        description=(
            "Execute each seat's three notebooks with papermill (offline) into OUT "
            "(default DIR/graded/<seat>/), read their self-check results and print a table: "
            "seat, exercise, passed or the first failing check. The seats' files are never "
            "written. Exit 1 when any exercise is not passed."
        ),
    )
    gd.add_argument("dir", metavar="DIR", help="a folder made by `fanout training prepare`")
    gd.add_argument("--out", metavar="DIR", help="where the executed notebooks go")
    format_option(gd)
    gd.set_defaults(func=cmd_grade)
