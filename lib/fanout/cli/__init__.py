"""The `fanout` command line: one module per wing registers its commands (`incident`:
generate, build, workbook, check raw; `toolkit` and `checks`: lint, check grain, reconcile,
blast-radius, investigate, anomalies; `training`: training prepare, grade), and `main` runs
one with its errors told in one line. Exit codes: 0 fine, 1 findings or failed checks, 2 bad
usage or input, 3 an internal error.

A command imports the library it runs when it runs (`fanout lint` must not load DuckDB,
pandas or matplotlib), so the modules here import their wing inside the commands."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from fanout.cli import checks, incident, toolkit, training
from fanout.cli.common import Parser
from fanout.errors import FanoutError

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="fanout",
        description=(
            "The fan-out postmortem workbook: generate the raw data, build the incident's "
            "warehouse revisions, and check models for grain breaks."
        ),
        epilog="Exit codes: 0 fine, 1 findings or failed checks, 2 bad usage or input.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    incident.register(sub)

    chk = sub.add_parser(
        "check",
        help="check raw data or models' grain",
        description="Checks that would have caught the fan-out. Exit 1 when a check fails.",
    )
    chk_sub = chk.add_subparsers(dest="check", metavar="CHECK", parser_class=Parser)
    chk_sub.required = True
    checks.register_checks(chk_sub)
    incident.register_checks(chk_sub)

    toolkit.register(sub)
    training.register(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# Exit code of an error that is not the input's fault (a bug): one line, never a traceback
# (FANOUT_DEBUG=1 shows it), and never 1, which means "findings".
INTERNAL_ERROR = 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"fanout {args.command}"
    shown: set[str] = set()

    def warn(message, category, filename, lineno, file=None, line=None) -> None:
        text = _one_line(message)
        if text not in shown:  # the same warning from two reads of one file, once
            shown.add(text)
            print(f"{prog}: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        # as Python's default: unclosed sockets and files are the libraries' concern (py4j's,
        # under a Spark session), not the user's
        warnings.filterwarnings("ignore", category=ResourceWarning)
        warnings.showwarning = warn
        try:
            return args.func(args)
        except FanoutError as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except (OSError, UnicodeError) as exc:  # a path that is not what it should be
            print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{prog}: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb"):  # unreadable input
                print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
                return 2
            if os.environ.get("FANOUT_DEBUG"):
                raise
            if isinstance(exc, MemoryError):
                print(f"{prog}: error: out of memory: the input is too large", file=sys.stderr)
                return 2
            if isinstance(exc, RecursionError):
                print(f"{prog}: error: the input is nested too deeply", file=sys.stderr)
                return 2
            print(
                f"{prog}: internal error: {type(exc).__name__}: {_one_line(exc)[:300]} "
                "(a bug; FANOUT_DEBUG=1 shows where)",
                file=sys.stderr,
            )
            return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
