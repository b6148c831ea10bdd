"""The incident's commands: generate the raw data, build a revision, run the workbook,
validate a raw data folder. Each imports what it runs when it runs."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from fanout.cli.common import (
    add_parameters,
    emit,
    format_option,
    params_of,
    progress,
)
from fanout.errors import ParameterError
from fanout.incident.params import DATASET_FIELDS, PARAMETERS
from fanout.incident.paths import REVISIONS

__all__ = ["register", "register_checks"]


def cmd_generate(args: argparse.Namespace) -> int:
    from fanout.incident.data.generate import generate
    from fanout.incident.paths import default_data_dir

    params = params_of(args)
    if args.committed_dataset:
        out = args.out or default_data_dir()
    elif args.out is None:
        raise ParameterError("give --out DIR (or --committed-dataset, which `make data` runs)")
    else:
        out = args.out
    made = generate(
        params,
        out,
        fmt=args.data_format or params.raw_format,
        overwrite=args.overwrite or args.committed_dataset,
        progress=progress,
        committed=args.committed_dataset,
    )
    payload = {
        "data_dir": str(made.data_dir),
        "format": made.format,
        "orders": made.orders,
        "order_items": made.items,
        "revenue": f"{made.revenue_cents / 100:.2f}",
        "params": params.dataset(),
    }
    emit(
        args,
        payload,
        (
            f"wrote {made.orders:,} orders and {made.items:,} line items "
            f"({made.format}) to {made.data_dir}"
        ),
    )
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from fanout.incident.data.dataset import dataset_dir
    from fanout.incident.data.raw import detect_format
    from fanout.incident.paths import project_root
    from fanout.incident.story.words import count
    from fanout.incident.warehouse import build

    params = params_of(args)
    if args.data:
        data_dir = Path(args.data)
        detect_format(data_dir)  # a clear error before anything is written
    else:
        data_dir = dataset_dir(params)
    built = build(
        args.revision,
        data_dir,
        params.build_path(project_root()),
        force=args.force,
        reuse_tests=not args.every_test,
    )
    payload = {
        "revision": built.revision,
        "database": str(built.database),
        "manifest": str(built.manifest_path),
        "data_dir": str(built.data_dir),
        "reused": built.reused,
        "seconds": built.seconds,
        "ok": built.ok,
        "failed": [dataclasses.asdict(r) for r in built.failed],
        "tests_from_earlier": list(built.tests_from_earlier),
    }
    lines = [f"database: {built.database}", f"manifest: {built.manifest_path}"]
    if built.tests_from_earlier:
        lines.append(
            f"{count(len(built.tests_from_earlier), 'test')} on the sources not run again: an "
            "earlier build's results, the same SQL on the same data (--every-test runs them)"
        )
    for r in built.failed:
        lines.append(f"{r.status.upper()} {r.resource_type} {r.name}: {r.message}")
    emit(args, payload, "\n".join(lines))
    return 0 if built.ok else 1


def _seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of seconds, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= value <= 16:
        raise argparse.ArgumentTypeError(f"must be between 1 and 16, got {value}")
    return value


def cmd_workbook(args: argparse.Namespace) -> int:
    from fanout.incident.workbook import run, select

    params = params_of(args)
    if args.only is not None:
        parts = [p.strip() for p in args.only.split(",")]
        if not any(parts):
            raise ParameterError(
                f"--only needs notebook numbers or name prefixes (e.g. 01,03), got {args.only!r}"
            )
    chosen = select(args.only)
    twice = next((nb for i, nb in enumerate(chosen) if nb in chosen[:i]), None)
    if twice is not None:
        raise ParameterError(f"--only names {twice.stem} twice ({args.only!r})")
    started = time.perf_counter()
    options = {} if args.jobs is None else {"jobs": args.jobs}
    if args.cell_timeout is not None:
        options["cell_timeout"] = args.cell_timeout
    done = run(params, in_place=args.in_place, notebooks=chosen, **options)
    if args.in_place:
        print(f"refreshed {len(done.executed)} notebooks in place")
        return 0
    link = done.folder.parent.parent  # <build_dir>/runs/<key> -> <build_dir>
    print(
        f"report: {link / 'report' / 'index.html'} ({len(done.executed)} notebooks, "
        f"{time.perf_counter() - started:.1f} s; run folder {done.folder})"
    )
    return 0


def cmd_check_raw(args: argparse.Namespace) -> int:
    from fanout.incident.data import validate

    problems = validate.check(args.data)
    payload = {
        "data_dir": str(Path(args.data).resolve()),
        "ok": not problems,
        "problems": [dataclasses.asdict(p) for p in problems],
    }
    text = "\n".join(str(p) for p in problems) or f"{args.data}: raw data is valid"
    emit(args, payload, text)
    return 1 if problems else 0


def register(sub: argparse._SubParsersAction) -> None:
    """`fanout generate`, `build` and `workbook`."""
    gen = sub.add_parser(
        "generate",
        help="generate raw orders, line items and finance totals",
        description=(
            "Generate raw_orders, raw_order_items and finance_daily_revenue. Same parameters, "
            "same bytes. Files are written to temporary names and renamed when complete."
        ),
    )
    gen.add_argument(
        "--out",
        metavar="DIR",
        help="folder to write the files to (never the committed data/raw, nor inside the "
        "project's sources)",
    )
    gen.add_argument(
        "--committed-dataset",
        action="store_true",
        help="rewrite the committed dataset data/raw at the default parameters (what "
        "`make data` runs; byte-identical to the committed files)",
    )
    gen.add_argument(
        "--data-format",
        choices=("csv", "parquet"),
        default=None,
        help="file format (default: raw_format of --params, else csv; parquet at scale)",
    )
    gen.add_argument("--overwrite", action="store_true", help="replace a dataset already in DIR")
    format_option(gen)
    add_parameters(gen, DATASET_FIELDS)
    gen.set_defaults(func=cmd_generate)

    bld = sub.add_parser(
        "build",
        help="build a warehouse revision with dbt",
        description=(
            "Build one revision of the incident's warehouse with dbt (in-process, offline) and "
            "print where its DuckDB file and manifest.json are. A build whose inputs did not "
            "change is reused. Exit 1 when a model or test failed."
        ),
    )
    bld.add_argument(
        "--revision",
        required=True,
        choices=REVISIONS,
        help="baseline (before the PR), enrichment (the bug) or fix",
    )
    bld.add_argument(
        "--data", metavar="DIR", help="raw data folder (default: the parameters' dataset)"
    )
    bld.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    bld.add_argument(
        "--every-test",
        action="store_true",
        help=(
            "run every dbt test; by default a test that reads only sources is not run again "
            "when an earlier build under the build folder ran it with the same SQL on the same "
            "data (its result is taken from there)"
        ),
    )
    format_option(bld)
    add_parameters(bld, (*DATASET_FIELDS, "build_dir", "raw_format"))
    bld.set_defaults(func=cmd_build)

    wb = sub.add_parser(
        "workbook",
        help="run every notebook and write the HTML report",
        description=(
            "Validate the raw data, execute every notebook with papermill at the given "
            "parameters and render the HTML report, in BUILD_DIR/runs/<key>/ (one folder per "
            "set of parameters, renamed into place when complete); BUILD_DIR/workbook and "
            "BUILD_DIR/report point at the latest complete run. Stops at the first failing "
            "cell and names it (exit 1)."
        ),
    )
    wb.add_argument(
        "--only",
        metavar="NN[,NN]",
        help="run only these notebooks (numbers or name prefixes), e.g. 01,03",
    )
    wb.add_argument(
        "--in-place",
        action="store_true",
        help="refresh the committed notebooks (default parameters only)",
    )
    wb.add_argument(
        "--jobs",
        metavar="N",
        type=_jobs,
        default=None,
        help="notebooks executed at once, each in its own kernel (default: 2, or 1 on one core); "
        "the memory budget is shared by the runner and the kernels",
    )
    wb.add_argument(
        "--cell-timeout",
        metavar="SECONDS",
        type=_seconds,
        default=None,
        help="stop a cell that runs longer (default: 3600)",
    )
    add_parameters(wb, [f.name for f in PARAMETERS])
    wb.set_defaults(func=cmd_workbook, format="text")


def register_checks(chk_sub: argparse._SubParsersAction) -> None:
    """`fanout check raw`."""
    rw = chk_sub.add_parser(
        "raw",
        help="validate a raw data folder",
        description=(
            "Validate raw data before anything uses it: files present and readable, CSV well "
            "formed, the expected columns and types, no null or duplicate keys, every line "
            "item's order exists and every order has items, positive quantities and prices, "
            "amounts equal to the sum of their line totals, a finance total for every day with "
            "orders. Each problem names the file, the rule, the count and example rows. Exit 1 "
            "when a rule is broken."
        ),
    )
    rw.add_argument("--data", required=True, metavar="DIR", help="the raw data folder")
    format_option(rw)
    rw.set_defaults(func=cmd_check_raw)
