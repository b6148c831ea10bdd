"""The toolkit's commands that read a warehouse: `check grain`, `reconcile` and
`investigate`, on a DuckDB file (--db) or through a target of the user's dbt profile
(--target). Each imports what it runs when it runs."""

from __future__ import annotations

import argparse
import dataclasses

from fanout.cli.common import (
    data_for,
    emit,
    format_option,
    key_columns,
    open_db,
)
from fanout.errors import ParameterError

__all__ = [
    "DIALECTS",
    "FINANCE",
    "ORDERS",
    "cmd_investigate",
    "open_target",
    "raw_relation_flags",
    "register",
    "register_checks",
    "target_options",
]

DIALECTS = ("duckdb", "snowflake", "bigquery", "spark", "trino", "postgres")


FINANCE = "finance.finance_daily_revenue"  # where load_raw puts the raw tables on a target


ORDERS = "shop.raw_orders"


def _grain_text(report) -> str:
    verdict = "ok  " if report.ok else "FAIL"
    key = ", ".join(report.key)
    line = (
        f"{verdict} {report.relation} ({key}): {report.rows:,} rows, "
        f"{report.distinct_keys:,} distinct keys"
    )
    if not report.ok:
        line += (
            f", {report.duplicated_keys:,} duplicated keys, {report.null_key_rows:,} rows with a "
            f"null key ({report.rows_per_key:.2f} rows per key)"
        )
        for values, n in report.examples:
            shown = ", ".join(f"{k}={v}" for k, v in zip(report.key, values, strict=True))
            line += f"\n       {shown}: {n} rows"
    return line


def target_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """--target NAME with --project-dir and --profiles-dir (dbt's own flags and defaults)."""
    group = parser.add_argument_group(
        "a dbt target",
        f"{verb} on a warehouse through your dbt profile and adapter instead of a DuckDB file "
        "(the SQL is written for the target's adapter; nothing is written there)",
    )
    group.add_argument("--target", metavar="NAME", help="a target of your dbt profile")
    group.add_argument(
        "--project-dir",
        metavar="DIR",
        help="the dbt project whose profile is used (default, as dbt's: the current folder)",
    )
    group.add_argument(
        "--profiles-dir",
        metavar="DIR",
        help="the folder of profiles.yml (default, as dbt's: DBT_PROFILES_DIR, the current "
        "folder, ~/.dbt)",
    )


def open_target(args: argparse.Namespace):
    """The dbt target of --target, or None; --db and --target exclude each other, and the
    project and profiles folders go with a target."""
    if args.target is None:
        for flag in ("project_dir", "profiles_dir"):
            if getattr(args, flag, None) is not None:
                raise ParameterError(f"--{flag.replace('_', '-')} goes with --target NAME")
        return None
    if getattr(args, "db", None) is not None:
        raise ParameterError("give --db FILE or --target NAME, not both")
    if getattr(args, "dialect", "duckdb") != "duckdb":
        raise ParameterError("--dialect prints the SQL, --target runs it: give one of them")
    from fanout.toolkit import dbt_target

    return dbt_target.open_target(
        args.target, project_dir=args.project_dir, profiles_dir=args.profiles_dir
    )


def relation_label(table) -> str:
    """schema.table of a relation, unquoted: how reports name it."""
    return ".".join(p.name for p in table.parts)


def cmd_check_grain(args: argparse.Namespace) -> int:
    from fanout.toolkit import grain

    if args.relation is None and args.manifest is None:
        raise ParameterError("give --relation NAME --key COLS, or --manifest FILE")
    if args.relation is not None and args.key is None:
        raise ParameterError("--relation needs --key COL[,COL]")
    if args.relation is not None:
        targets = [(args.relation, key_columns(args.key))]
    else:
        from fanout.toolkit import lineage

        graph = lineage.load(args.manifest)
        targets = [(m, list(m.grains[0])) for m in graph.models if m.grains]
        if not targets:
            raise ParameterError(f"no model in {args.manifest} declares or tests a grain")
    target = open_target(args)
    if target is None and args.db is None and args.dialect == "duckdb":
        raise ParameterError(
            "give --db FILE or --target NAME to run the checks, or --dialect to print their SQL"
        )
    if target is None:
        named = [
            (relation if isinstance(relation, str) else table_name(relation), key)
            for relation, key in targets
        ]
    if target is None and (args.dialect != "duckdb" or args.db is None):
        sql = [grain.grain_sql(name, key, dialect=args.dialect) + ";" for name, key in named]
        emit(args, {"dialect": args.dialect, "sql": sql}, "\n".join(sql))
        return 0
    from fanout.errors import DataError

    reports, missing = [], []
    try:
        if target is None:
            con = open_db(args.db)
            con.execute("use wh")
            checks = [(name, None, key) for name, key in named]
        else:
            from fanout.toolkit.investigate import relation as relation_of

            con = target
            checks = []
            for relation, key in targets:
                if isinstance(relation, str):
                    checks.append((relation, target.relation(relation), key))
                else:
                    table = relation_of(relation, target.dialect)
                    checks.append((relation_label(table), table, key))
        for label, table, key in checks:
            try:
                if table is None:
                    reports.append(grain.check(con, label, key))
                else:
                    reports.append(grain.check(con, table, key, name=label))
            except DataError as exc:
                if args.relation is not None:
                    raise  # the one relation asked for: bad input
                missing.append({"relation": label, "error": str(exc)})
    finally:
        if target is not None:
            target.close()
    payload = {
        "ok": all(r.ok for r in reports) and not missing,
        "checks": [
            {**dataclasses.asdict(r), "rows_per_key": r.rows_per_key, "ok": r.ok} for r in reports
        ],
        "missing": missing,
    }
    lines = [_grain_text(r) for r in reports]
    lines += [f"MISS {m['relation']}: not in the database ({m['error']})" for m in missing]
    emit(args, payload, "\n".join(lines))
    return 0 if payload["ok"] else 1


def table_name(node) -> str:
    """schema.identifier of a model (the catalog is whatever file was opened)."""
    from fanout.toolkit.investigate import relation

    table = relation(node)
    return ".".join(p for p in (table.db, table.name) if p)


def raw_relation_flags(args: argparse.Namespace) -> None:
    """--finance and --orders name tables on a target; --data is the raw files of a --db."""
    if args.target is None:
        for flag in ("finance", "orders"):
            if getattr(args, flag) is not None:
                raise ParameterError(
                    f"--{flag} goes with --target NAME (with --db the raw data is --data DIR)"
                )
    elif args.data is not None:
        raise ParameterError(
            "--data goes with --db FILE; on a target the raw tables are read in the warehouse "
            "(--finance, --orders)"
        )


def cmd_reconcile(args: argparse.Namespace) -> int:
    from decimal import Decimal, InvalidOperation

    from fanout.toolkit import reconcile

    try:
        tolerance = Decimal(args.tolerance)
    except InvalidOperation:
        raise ParameterError(f"--tolerance must be a number, got {args.tolerance!r}") from None
    if not tolerance.is_finite() or tolerance < 0:
        raise ParameterError(f"--tolerance must be a number >= 0, got {args.tolerance}")
    mart_columns = (args.date_column, args.revenue_column)
    raw_relation_flags(args)
    target = open_target(args)
    if target is not None:
        with target:
            result = _reconcile_on_target(target, args, tolerance, mart_columns)
    elif args.dialect != "duckdb":
        sql = reconcile.daily_sql(
            args.mart, "finance_daily_revenue", mart_columns=mart_columns, dialect=args.dialect
        )
        emit(args, {"dialect": args.dialect, "sql": [sql + ";"]}, sql + ";")
        return 0
    elif args.db is None:
        raise ParameterError(
            "give --db FILE or --target NAME to reconcile, or --dialect to print the SQL"
        )
    else:
        result = _reconcile_on_db(args, tolerance, mart_columns)
    payload = {
        "ok": result.ok,
        "days": len(result.days),
        "days_disagreeing": len(result.disagreeing),
        "tolerance": str(tolerance),
        "mart_total": str(result.mart_total),
        "against_total": str(result.finance_total),
        "max_abs_difference": str(result.max_abs_difference),
        "disagreeing": [
            {
                "date": d.revenue_date.isoformat(),
                "mart": str(d.mart),
                "against": str(d.finance),
                "difference": str(d.difference),
            }
            for d in result.disagreeing
        ],
    }
    lines = [
        f"{args.mart} vs {args.against}: {len(result.days)} days, "
        f"{len(result.disagreeing)} disagree beyond {tolerance} "
        f"(largest difference {result.max_abs_difference})"
    ]
    for d in result.disagreeing[: args.limit]:
        lines.append(
            f"  {d.revenue_date}  mart {d.mart:>14,}  {args.against} {d.finance:>14,}  "
            f"difference {d.difference:>+14,}"
        )
    if len(result.disagreeing) > args.limit:
        lines.append(f"  ... {len(result.disagreeing) - args.limit} more days (--limit)")
    emit(args, payload, "\n".join(lines))
    return 0 if result.ok else 1


def _reconcile_on_target(target, args, tolerance, mart_columns):
    from fanout.toolkit import reconcile

    if args.against == "raw":
        against, columns = args.orders or ORDERS, ("ordered_at", "amount")
    else:
        against, columns = args.finance or FINANCE, ("revenue_date", "revenue")
    return reconcile.daily(
        target,
        args.mart,
        against,
        tolerance=tolerance,
        mart_columns=mart_columns,
        finance_columns=columns,
    )


def _reconcile_on_db(args, tolerance, mart_columns):
    from fanout.errors import DataError
    from fanout.toolkit import reconcile

    con = open_db(args.db, data_for(args.db, args.data))
    against = "finance_daily_revenue"
    if args.against == "raw":
        con.execute(
            "create view raw_daily_revenue as select cast(ordered_at as date) as revenue_date, "
            "sum(amount) as revenue from raw_orders group by 1"
        )
        against = "raw_daily_revenue"
    try:
        return reconcile.daily(
            con, f"wh.{args.mart}", against, tolerance=tolerance, mart_columns=mart_columns
        )
    except Exception as exc:  # duckdb's catalog and binder errors name the relation or column
        import duckdb

        if isinstance(exc, duckdb.Error):
            raise DataError(f"{args.mart}: {str(exc).splitlines()[0]}") from None
        raise


def cmd_investigate(args: argparse.Namespace) -> int:
    from fanout.incident import timeline
    from fanout.toolkit import investigate, lineage
    from fanout.toolkit.lineage.manifest import read

    if args.db is None and args.target is None:
        raise ParameterError("give --db FILE or --target NAME to walk the models' data")
    target = open_target(args)
    try:
        if target is None:
            con = open_db(args.db)
            con.execute("use wh")
        else:
            con = target
        manifest = read(args.manifest)
        graph = lineage.load(manifest, where=args.manifest)
        history = timeline.history_for(graph.project)
        found = investigate.walk(con, manifest, args.symptom, history=history, where=args.manifest)
    finally:
        if target is not None:
            target.close()
    impact = found.blast_radius
    payload = dataclasses.asdict(dataclasses.replace(found, blast_radius=None))
    payload["blast_radius"] = impact.rows() if impact is not None else None
    lines = [f"walked {len(found.steps)} models upstream of {found.symptom} in {found.seconds} s:"]
    for s in found.steps:
        if s.key is None:
            lines.append(f"  ?    {s.model}: no known grain ({s.rows:,} rows)")
            continue
        parents = ", ".join(f"{p} {n:,}" for p, n in s.parent_rows)
        lines.append(
            f"  {'BROKE' if s.broke else 'ok   '} {s.model}: {s.rows:,} rows, "
            f"{s.distinct_keys:,} distinct ({', '.join(s.key)}) [{s.key_source}]"
            + (f"; parents: {parents}" if parents else "")
        )
    if found.root_cause is None:
        lines.append("no model upstream has a broken grain")
    else:
        lines.append(f"root cause: {found.root_cause}, the first model whose grain broke")
        if found.introduced:
            d = found.introduced
            lines.append(
                f'introduced by: PR #{d.pr} "{d.title}" ({d.revision}, deployed {d.deployed_at})'
            )
        impact = found.blast_radius
        lines.append(
            f"blast radius: {len(impact.reached('model'))} models, "
            f"{len(impact.reached('exposure'))} exposures ({', '.join(impact.reached('exposure'))})"
        )
    emit(args, payload, "\n".join(lines))
    return 1 if found.root_cause else 0


def register_checks(chk_sub: argparse._SubParsersAction) -> None:
    """`fanout check grain`."""
    gr = chk_sub.add_parser(
        "grain",
        help="is each model one row per key?",
        description=(
            "Count rows, distinct keys and duplicated keys of a relation, in one SQL pass. With "
            "--manifest, check every model that declares a grain (meta.grain) or tests one "
            "(unique, grain or unique_combination_of_columns tests). With --dialect, print "
            "the SQL for another warehouse instead of running it."
        ),
    )
    gr.add_argument("--db", metavar="FILE", help="DuckDB database file (opened read-only)")
    gr.add_argument(
        "--manifest", metavar="FILE", help="dbt manifest.json: check every grained model"
    )
    gr.add_argument("--relation", metavar="NAME", help="one relation ([schema.]table) to check")
    gr.add_argument("--key", metavar="COL[,COL]", help="its key columns")
    gr.add_argument(
        "--dialect",
        choices=DIALECTS,
        default="duckdb",
        help="print the check's SQL in this dialect instead of running it",
    )
    target_options(gr, "check")
    format_option(gr)
    gr.set_defaults(func=cmd_check_grain)


def register(sub: argparse._SubParsersAction) -> None:
    """`fanout reconcile`."""
    rc = sub.add_parser(
        "reconcile",
        help="a mart's daily revenue against finance (or the raw orders)",
        description=(
            "Compare a mart's revenue per day with the finance system's daily totals (or with "
            "the raw orders), list the days that differ by more than the tolerance and by how "
            "much. Exit 1 when a day disagrees."
        ),
    )
    rc.add_argument("--db", metavar="FILE", help="DuckDB database file with the mart (read-only)")
    rc.add_argument("--mart", default="fct_revenue_daily", help="the mart (default: %(default)s)")
    rc.add_argument("--date-column", default="revenue_date", help="its date column")
    rc.add_argument("--revenue-column", default="revenue", help="its revenue column")
    rc.add_argument(
        "--against",
        choices=("finance", "raw"),
        default="finance",
        help="finance_daily_revenue (default) or the raw orders' amounts",
    )
    rc.add_argument("--data", metavar="DIR", help="raw data folder (default: data/raw)")
    rc.add_argument("--tolerance", default="0.00", help="largest difference per day that is fine")
    rc.add_argument("--limit", type=int, default=20, help="days to list in text output")
    rc.add_argument(
        "--dialect",
        choices=DIALECTS,
        default="duckdb",
        help="print the reconciliation SQL in this dialect instead of running it",
    )
    target_options(rc, "reconcile")
    rc.add_argument(
        "--finance",
        metavar="RELATION",
        help="with --target: finance's daily revenue (default: finance.finance_daily_revenue, "
        "where load_raw puts it)",
    )
    rc.add_argument(
        "--orders",
        metavar="RELATION",
        help="with --target and --against raw: the raw orders (default: shop.raw_orders)",
    )
    format_option(rc)
    rc.set_defaults(func=cmd_reconcile)
