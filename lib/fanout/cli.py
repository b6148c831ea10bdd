"""The `fanout` command line. Exit codes: 0 fine, 1 findings or failed checks, 2 bad usage."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fanout.errors import FanoutError, ParameterError
from fanout.params import DATASET_FIELDS, PARAMETERS, Params, load_yaml

__all__ = ["main"]

# Short spellings kept for the flags people type most.
ALIASES = {"mean_items_per_order": ["--mean-items"]}


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage in one line and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _add_parameters(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    group = parser.add_argument_group(
        "parameters", "override the defaults (also readable from --params FILE)"
    )
    group.add_argument("--params", metavar="FILE", help="YAML file of parameters")
    for spec in PARAMETERS:
        if spec.name not in names:
            continue
        flag = "--" + spec.name.replace("_", "-")
        default = spec.default.isoformat() if hasattr(spec.default, "isoformat") else spec.default
        group.add_argument(
            flag,
            *ALIASES.get(spec.name, []),
            dest=spec.name,
            metavar=spec.name.upper(),
            help=f"{spec.metadata['help']} (default: {default})",
        )


def _coerce(name: str, text: str) -> Any:
    """Turn a flag's text into the parameter's type; Params then checks the range."""
    kind = type(next(f.default for f in PARAMETERS if f.name == name))
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ParameterError(f"{name} must be a whole number, got {text!r}") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ParameterError(f"{name} must be a number, got {text!r}") from None
    return text  # dates, timestamps and paths are parsed by Params


def _params(args: argparse.Namespace) -> Params:
    base = load_yaml(args.params) if getattr(args, "params", None) else Params()
    overrides = {
        f.name: _coerce(f.name, getattr(args, f.name))
        for f in PARAMETERS
        if getattr(args, f.name, None) is not None
    }
    return Params.from_mapping({**base.to_dict(), **overrides})


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if args.format == "json":
        print(json.dumps(payload, indent=2, default=str))
    else:
        print(text)


def _progress(done: int, total: int) -> None:
    if total and sys.stderr.isatty():
        print(f"\r  {done:,} / {total:,} orders ({done / total:.0%})", end="", file=sys.stderr)
        if done >= total:
            print(file=sys.stderr)


def cmd_generate(args: argparse.Namespace) -> int:
    from fanout.generate import generate

    params = _params(args)
    made = generate(
        params, args.out, fmt=args.data_format, overwrite=args.overwrite, progress=_progress
    )
    payload = {
        "data_dir": str(made.data_dir),
        "format": made.format,
        "orders": made.orders,
        "order_items": made.items,
        "revenue": f"{made.revenue_cents / 100:.2f}",
        "params": params.dataset(),
    }
    _emit(
        args,
        payload,
        (
            f"wrote {made.orders:,} orders and {made.items:,} line items "
            f"({made.format}) to {made.data_dir}"
        ),
    )
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from fanout.generate import dataset_dir
    from fanout.paths import project_root
    from fanout.raw import detect_format
    from fanout.warehouse import build

    params = _params(args)
    if args.data:
        data_dir = Path(args.data)
        detect_format(data_dir)  # a clear error before anything is written
    else:
        data_dir = dataset_dir(params)
    built = build(args.revision, data_dir, params.build_path(project_root()), force=args.force)
    payload = {
        "revision": built.revision,
        "database": str(built.database),
        "manifest": str(built.manifest_path),
        "data_dir": str(built.data_dir),
        "reused": built.reused,
        "seconds": built.seconds,
        "ok": built.ok,
        "failed": [dataclasses.asdict(r) for r in built.failed],
    }
    lines = [f"database: {built.database}", f"manifest: {built.manifest_path}"]
    for r in built.failed:
        lines.append(f"{r.status.upper()} {r.resource_type} {r.name}: {r.message}")
    _emit(args, payload, "\n".join(lines))
    return 0 if built.ok else 1


def cmd_workbook(args: argparse.Namespace) -> int:
    from fanout.paths import project_root
    from fanout.report import write_report
    from fanout.workbook import run

    params = _params(args)
    started = time.perf_counter()
    executed = run(params, in_place=args.in_place)
    if args.in_place:
        print(f"refreshed {len(executed)} notebooks in place")
        return 0
    index = write_report(executed, params.build_path(project_root()) / "report")
    print(f"report: {index} ({len(executed)} notebooks, {time.perf_counter() - started:.1f} s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from fanout.warehouse import REVISIONS

    parser = _Parser(
        prog="fanout",
        description=(
            "The fan-out postmortem workbook: generate the raw data, build the incident's "
            "warehouse revisions, and check models for grain breaks."
        ),
        epilog="Exit codes: 0 fine, 1 findings or failed checks, 2 bad usage or input.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            help="output for people (text) or machines (json)",
        )

    gen = sub.add_parser(
        "generate",
        help="generate raw orders, line items and finance totals",
        description=(
            "Generate raw_orders, raw_order_items and finance_daily_revenue. Same parameters, "
            "same bytes. Files are written to temporary names and renamed when complete."
        ),
    )
    gen.add_argument("--out", required=True, metavar="DIR", help="folder to write the files to")
    gen.add_argument(
        "--data-format",
        choices=("csv", "parquet"),
        default="csv",
        help="file format (default: csv; parquet for large datasets)",
    )
    gen.add_argument("--overwrite", action="store_true", help="replace a dataset already in DIR")
    common(gen)
    _add_parameters(gen, DATASET_FIELDS)
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
    common(bld)
    _add_parameters(bld, (*DATASET_FIELDS, "build_dir"))
    bld.set_defaults(func=cmd_build)

    wb = sub.add_parser(
        "workbook",
        help="run every notebook and write the HTML report",
        description=(
            "Execute every notebook with papermill at the given parameters, write the executed "
            "notebooks to BUILD_DIR/workbook/ and the HTML report to BUILD_DIR/report/. "
            "Stops at the first failing cell and names it."
        ),
    )
    wb.add_argument(
        "--in-place",
        action="store_true",
        help="refresh the committed notebooks (default parameters only)",
    )
    _add_parameters(wb, [f.name for f in PARAMETERS])
    wb.set_defaults(func=cmd_workbook, format="text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except FanoutError as exc:
        print(f"fanout {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"fanout {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
