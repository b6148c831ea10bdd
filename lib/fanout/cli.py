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
from fanout.incident.params import DATASET_FIELDS, PARAMETERS, Params, load_yaml

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
    from fanout.incident.data.generate import generate
    from fanout.incident.paths import default_data_dir

    params = _params(args)
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
        progress=_progress,
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
    from fanout.incident.data.dataset import dataset_dir
    from fanout.incident.data.raw import detect_format
    from fanout.incident.paths import project_root
    from fanout.incident.warehouse import build

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

    params = _params(args)
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


DIALECTS = ("duckdb", "snowflake", "bigquery", "spark", "trino", "postgres")


def _key(text: str) -> list[str]:
    columns = [c.strip() for c in text.split(",")]
    if not all(columns):
        raise ParameterError(f"--key must be column names separated by commas, got {text!r}")
    return columns


def _check_database(path: str | Path) -> Path:
    """`path` if it is a DuckDB database file (a regular file that starts as one does); a
    `DataError` saying what it is otherwise (a manifest, a device, a folder)."""
    from fanout import bounded
    from fanout.errors import DataError

    path = Path(path)
    bounded.check_regular(path, "database")
    with bounded.open_regular(path, "database", None) as fh:
        head = fh.read(12)
    if head[8:12] != b"DUCK":
        raise DataError(f"database {path} is not a DuckDB database file")
    return path


def _open_db(path: str, data_dir: Path | None = None):
    """An in-memory DuckDB session: the database file attached read-only as `wh`, and the
    raw tables of `data_dir` as views."""
    from fanout.incident import warehouse
    from fanout.incident.data import raw

    database = _check_database(path)
    con = raw.connect(data_dir)
    warehouse.attach(con, database, "wh")
    return con


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


def _target_options(parser: argparse.ArgumentParser, verb: str) -> None:
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


def _open_target(args: argparse.Namespace):
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


def _label(table) -> str:
    """schema.table of a relation, unquoted: how reports name it."""
    return ".".join(p.name for p in table.parts)


def cmd_check_grain(args: argparse.Namespace) -> int:
    from fanout.toolkit import grain

    if args.relation is None and args.manifest is None:
        raise ParameterError("give --relation NAME --key COLS, or --manifest FILE")
    if args.relation is not None and args.key is None:
        raise ParameterError("--relation needs --key COL[,COL]")
    if args.relation is not None:
        targets = [(args.relation, _key(args.key))]
    else:
        from fanout.toolkit import lineage

        graph = lineage.load(args.manifest)
        targets = [(m, list(m.grains[0])) for m in graph.models if m.grains]
        if not targets:
            raise ParameterError(f"no model in {args.manifest} declares or tests a grain")
    target = _open_target(args)
    if target is None and args.db is None and args.dialect == "duckdb":
        raise ParameterError(
            "give --db FILE or --target NAME to run the checks, or --dialect to print their SQL"
        )
    if target is None:
        named = [
            (relation if isinstance(relation, str) else _table_name(relation), key)
            for relation, key in targets
        ]
    if target is None and (args.dialect != "duckdb" or args.db is None):
        sql = [grain.grain_sql(name, key, dialect=args.dialect) + ";" for name, key in named]
        _emit(args, {"dialect": args.dialect, "sql": sql}, "\n".join(sql))
        return 0
    from fanout.errors import DataError

    reports, missing = [], []
    try:
        if target is None:
            con = _open_db(args.db)
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
                    checks.append((_label(table), table, key))
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
    _emit(args, payload, "\n".join(lines))
    return 0 if payload["ok"] else 1


def _table_name(node) -> str:
    """schema.identifier of a model (the catalog is whatever file was opened)."""
    from fanout.toolkit.investigate import relation

    table = relation(node)
    return ".".join(p for p in (table.db, table.name) if p)


def _finding_text(f) -> str:
    parents = f" [{', '.join(f.parents)}]" if f.parents else ""
    return f"{f.model}: {f.rule}{parents}\n    {f.message}\n    fix: {f.suggestion}"


def _lint_settings(args: argparse.Namespace):
    """The lint's settings: the project's `vars` (its dbt_project.yml, from --project or
    beside the manifest's target folder), then the command line's."""
    from fanout.toolkit.lineage import Settings

    project = Path(args.project) if args.project else Path(args.manifest).parent.parent
    if project.is_dir():
        project = project / "dbt_project.yml"
    if args.project and not project.exists():
        raise ParameterError(f"--project: no dbt_project.yml at {args.project}")
    # read within bounds when it is there at all: a device or a FIFO is refused in one line
    base = Settings.from_project(project) if project.exists() else Settings()
    flags = {k: True for k in ("seeds_as_sources", "unique_alone", "strict") if getattr(args, k)}
    return base.merged(args.exclude_path, args.exclude_package, args.exclude_model, **flags)


def cmd_lint(args: argparse.Namespace) -> int:
    from fanout.toolkit import lineage
    from fanout.toolkit.lineage import grains

    graph = lineage.load(args.manifest, _lint_settings(args))
    measured = {}
    if args.db:
        con = _open_db(args.db)
        measured = grains.measure(graph, con, where=Path(args.db).name)
        graph = dataclasses.replace(graph, measured=measured)
    predictions = lineage.predict(graph) if args.predict else ()
    found = lineage.check(graph, predictions) if args.predict else lineage.lint(graph)
    payload = {"project": graph.project, "findings": [dataclasses.asdict(f) for f in found]}
    if args.predict:
        payload["predictions"] = [dataclasses.asdict(p) for p in predictions]
        payload["grains"] = grains.describe(lineage.found_grains(graph), graph)
    text = "\n".join(_finding_text(f) for f in found) or f"{graph.project}: no findings"
    if args.show_unknown:
        for p in predictions:
            for doubt in p.doubts if p.status != "unknown" else (p.reason or "", *p.doubts):
                text += f"\n{p.model}: unknown\n    {doubt}"
    if found:
        rules = sorted({f.rule for f in found})
        errors = sum(f.severity == "error" for f in found)
        text += f"\n{len(found)} findings, {errors} errors ({', '.join(rules)})"
    _emit(args, payload, text)
    return 1 if found else 0


def _data_for(db: str | Path, given: str | None) -> Path:
    """The raw data to compare a database with: --data, else the data its build recorded
    (`build.json` beside a `fanout build` database), else the committed dataset."""
    from fanout import bounded
    from fanout.errors import DataError
    from fanout.incident.data import raw
    from fanout.incident.paths import default_data_dir

    if given:
        folder = Path(given)
    else:
        record = Path(db).parent / "build.json"
        try:
            text = bounded.read_text(record, "build record", "FANOUT_MAX_TEXT_BYTES")
            folder = Path(json.loads(text)["inputs"]["data_dir"])
        except (DataError, ValueError, KeyError, TypeError, RecursionError):
            folder = default_data_dir()
    fmt = raw.detect_format(folder)  # a clear error for a missing or incomplete folder
    for table in raw.TABLES.values():  # DuckDB would wait forever on a FIFO, or /dev/zero
        bounded.check_regular(table.file(folder, fmt), "raw file")
    return folder


def cmd_blast_radius(args: argparse.Namespace) -> int:
    from fanout.incident import dashboards
    from fanout.toolkit import blast, lineage

    graph = lineage.load(args.manifest)
    impact = lineage.downstream(graph, args.model)
    payload = {
        "model": impact.name,
        "models": list(impact.reached("model")),
        "tests": list(impact.reached("test")),
        "exposures": [
            {"name": n.name, "type": n.exposure_type, "owner": n.owner}
            for n in {n.name: n for n in impact.walk() if n.resource_type == "exposure"}.values()
        ],
        "tree": impact.rows(),
    }
    lines = [lineage.render_tree(impact)]
    lines.append(
        f"{len(payload['models'])} models, {len(payload['tests'])} tests and "
        f"{len(payload['exposures'])} exposures downstream of {impact.name}"
    )
    misstated = False
    _raw_relation_flags(args)
    target = _open_target(args)
    if args.db or target is not None:
        if target is None:
            con = _open_db(args.db, _data_for(args.db, args.data))
            found = blast.misstatements(con, impact)
            figures = dashboards.figures(con, graph, impact)
        else:
            with target:
                found = blast.misstatements_on_target(
                    target, graph, impact, args.finance or FINANCE
                )
                figures = dashboards.figures_on_target(target, graph, impact, args.orders or ORDERS)
        found = {k: m.to_dict() for k, m in found.items()}
        payload["misstatements"] = found
        for model, m in found.items():
            if m["days_misstated"]:
                lines.append(
                    f"{model}: {m['column']} overstated by {float(m['overstated_by']):,.2f} "
                    f"({m['factor']:.2f}x finance) on {m['days_misstated']} of {m['days']} days, "
                    f"{m['first_day']} to {m['last_day']}"
                )
            else:
                lines.append(f"{model}: {m['column']} agrees with finance on all {m['days']} days")
        bad = {k for k, m in found.items() if m["days_misstated"]}
        misstated = bool(bad)
        payload["dashboards"] = figures
        for f in figures:
            if f["factor"] is not None and abs(f["factor"] - 1) > 1e-9:
                lines.append(
                    f"{f['exposure']}: {f['metric']} shows {f['shown']:,.2f} against a true "
                    f"{f['truth']:,.2f} ({f['factor']:.2f}x)"
                )
        for n in {n.name: n for n in impact.walk() if n.resource_type == "exposure"}.values():
            node = graph.node(n.unique_id)
            shows = sorted(p.name for p in graph.parents(node) if p.name in bad)
            if shows:
                lines.append(f"{n.name} ({n.exposure_type}, {n.owner}) shows {', '.join(shows)}")
    _emit(args, payload, "\n".join(lines))
    return 1 if misstated else 0


def cmd_investigate(args: argparse.Namespace) -> int:
    from fanout.incident import timeline
    from fanout.toolkit import investigate, lineage
    from fanout.toolkit.lineage.manifest import read

    if args.db is None and args.target is None:
        raise ParameterError("give --db FILE or --target NAME to walk the models' data")
    target = _open_target(args)
    try:
        if target is None:
            con = _open_db(args.db)
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
    _emit(args, payload, "\n".join(lines))
    return 1 if found.root_cause else 0


def _read_series(path: Path, time_column: str, value_column: str) -> tuple[list, list]:
    """Times and values of a series CSV, read within bounds (a regular file of at most
    FANOUT_MAX_SERIES_BYTES, lines of at most FANOUT_MAX_LINE_BYTES, UTF-8), a row at a time."""
    import csv
    import datetime as dt
    import math

    from fanout import bounded
    from fanout.errors import DataError

    times, values = [], []
    with bounded.open_regular(path, "series", "FANOUT_MAX_SERIES_BYTES") as fh:
        reader = csv.reader(bounded.lines(fh, path, "series"))
        try:
            header = next(reader, None)
            if not header:
                raise DataError(f"{path} has no rows")
            missing = [c for c in (time_column, value_column) if c not in header]
            if missing:
                shown = ", ".join(header) if len(", ".join(header)) <= 200 else "..."
                raise DataError(f"{path} has no column {missing[0]!r}; it has {shown}")
            at, of = header.index(time_column), header.index(value_column)
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                if len(row) != len(header):
                    raise DataError(
                        f"{path}, line {line}: {len(row)} fields where the header has {len(header)}"
                    )
                try:
                    when = dt.datetime.fromisoformat(row[at])
                    value = float(row[of])
                except ValueError:
                    raise DataError(
                        f"{path}, line {line}: cannot read {row[at][:40]!r} as a time "
                        f"or {row[of][:40]!r} as a number"
                    ) from None
                if when.tzinfo is not None:
                    raise DataError(f"{path}, line {line}: times must not carry a time zone")
                if not math.isfinite(value):
                    raise DataError(f"{path}, line {line}: {row[of]!r} is not finite")
                times.append(when)
                values.append(value)
        except csv.Error as exc:
            raise DataError(f"{path}, line {reader.line_num}: not valid CSV ({exc})") from None
    if not times:
        raise DataError(f"{path} has no rows")
    return times, values


def _finite_or_none(value: Any) -> Any:
    """A float JSON can carry: an infinite z-score (a window that does not vary) as null."""
    import math

    return value if not isinstance(value, float) or math.isfinite(value) else None


def cmd_anomalies(args: argparse.Namespace) -> int:
    from fanout.toolkit import anomaly

    times, values = _read_series(Path(args.csv), args.time_column, args.value_column)
    points = anomaly.detect(
        times,
        values,
        training_days=args.training_days,
        min_training_points=args.min_training_points,
        sensitivity=args.sensitivity,
        direction=args.direction,
        min_change=args.min_change,
        weekday_seasonality=args.weekday_seasonality,
    )
    flagged = [p for p in points if p.flagged]
    payload = {
        "points": len(points),
        "flagged": [
            {k: _finite_or_none(v) for k, v in dataclasses.asdict(p).items()} for p in flagged
        ],
    }
    lines = [f"{len(points)} points, {len(flagged)} anomalies"]
    lines += [f"  {p.at}  {p.value:,.2f}  expected {p.expected:,.2f}: {p.reason}" for p in flagged]
    _emit(args, payload, "\n".join(lines))
    return 1 if flagged else 0


def cmd_check_raw(args: argparse.Namespace) -> int:
    from fanout.incident.data import validate

    problems = validate.check(args.data)
    payload = {
        "data_dir": str(Path(args.data).resolve()),
        "ok": not problems,
        "problems": [dataclasses.asdict(p) for p in problems],
    }
    text = "\n".join(str(p) for p in problems) or f"{args.data}: raw data is valid"
    _emit(args, payload, text)
    return 1 if problems else 0


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
    _raw_relation_flags(args)
    target = _open_target(args)
    if target is not None:
        with target:
            result = _reconcile_on_target(target, args, tolerance, mart_columns)
    elif args.dialect != "duckdb":
        sql = reconcile.daily_sql(
            args.mart, "finance_daily_revenue", mart_columns=mart_columns, dialect=args.dialect
        )
        _emit(args, {"dialect": args.dialect, "sql": [sql + ";"]}, sql + ";")
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
    _emit(args, payload, "\n".join(lines))
    return 0 if result.ok else 1


FINANCE = "finance.finance_daily_revenue"  # where load_raw puts the raw tables on a target
ORDERS = "shop.raw_orders"


def _raw_relation_flags(args: argparse.Namespace) -> None:
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

    con = _open_db(args.db, _data_for(args.db, args.data))
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
    _emit(args, payload, text)
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from fanout import training

    rows = training.grade(args.dir, args.out)
    payload = {
        "passed": all(r.passed for r in rows),
        "rows": [{**dataclasses.asdict(r), "summary": r.summary} for r in rows],
    }
    _emit(args, payload, training.grade_table(rows))
    return 0 if payload["passed"] else 1


def build_parser() -> argparse.ArgumentParser:
    from fanout.incident.paths import REVISIONS

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
    _add_parameters(bld, (*DATASET_FIELDS, "build_dir", "raw_format"))
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
    _add_parameters(wb, [f.name for f in PARAMETERS])
    wb.set_defaults(func=cmd_workbook, format="text")

    chk = sub.add_parser(
        "check",
        help="check raw data or models' grain",
        description="Checks that would have caught the fan-out. Exit 1 when a check fails.",
    )
    chk_sub = chk.add_subparsers(dest="check", metavar="CHECK", parser_class=_Parser)
    chk_sub.required = True
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
    _target_options(gr, "check")
    common(gr)
    gr.set_defaults(func=cmd_check_grain)

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
    common(rw)
    rw.set_defaults(func=cmd_check_raw)

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
    _target_options(rc, "reconcile")
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
    common(rc)
    rc.set_defaults(func=cmd_reconcile)

    ln = sub.add_parser(
        "lint",
        help="lineage lint and static fan-out prediction over a dbt manifest",
        description=(
            "Lint any dbt manifest.json: staging models joining several sources or reading "
            "models, sources read by several models, marts reading sources, models without a "
            "declared or tested grain; and predict fan-outs from each model's compiled SQL and "
            "its inputs' grains, before any data exists. Exit 1 when anything is found."
        ),
    )
    ln.add_argument("--manifest", required=True, metavar="FILE", help="dbt target/manifest.json")
    ln.add_argument(
        "--no-predict",
        dest="predict",
        action="store_false",
        help="only the lint rules, without the static grain inference",
    )
    ln.add_argument(
        "--project",
        metavar="DIR",
        help="the dbt project (or its dbt_project.yml) whose vars hold exclusions "
        "(default: the folder above the manifest's, if it has one)",
    )
    for what, example in (("path", "/legacy/"), ("package", "dbt_utils"), ("model", "spine")):
        ln.add_argument(
            f"--exclude-{what}",
            action="append",
            default=[],
            metavar=what.upper(),
            help=f"leave out every {what} matching this (repeatable; e.g. {example})",
        )
    ln.add_argument(
        "--seeds-as-sources",
        action="store_true",
        help="count seeds as sources (by default they are models, as the evaluator counts)",
    )
    ln.add_argument(
        "--unique-alone",
        action="store_true",
        help="a unique test alone makes a tested primary key (by default it needs not_null)",
    )
    ln.add_argument(
        "--strict",
        action="store_true",
        help="also the rules stricter than dbt-project-evaluator's (staging-reads-model)",
    )
    ln.add_argument(
        "--db",
        metavar="FILE",
        help="DuckDB file of a build: sources without a grain get the columns unique on "
        "their data (measured)",
    )
    ln.add_argument(
        "--show-unknown",
        action="store_true",
        help="also print what the prediction cannot tell, and why (information)",
    )
    common(ln)
    ln.set_defaults(func=cmd_lint)

    br = sub.add_parser(
        "blast-radius",
        help="everything downstream of a model, and with --db what it misstates",
        description=(
            "Every model, test and exposure (with owner and type) downstream of MODEL, as a tree. "
            "With --db, each affected mart shaped like daily revenue is reconciled with the "
            "finance system and its misstatement quantified, and the dashboards showing it named."
        ),
    )
    br.add_argument("model", help="the model (name or unique id)")
    br.add_argument("--manifest", required=True, metavar="FILE", help="dbt target/manifest.json")
    br.add_argument("--db", metavar="FILE", help="DuckDB database of the build (read-only)")
    br.add_argument("--data", metavar="DIR", help="raw data with finance_daily_revenue")
    _target_options(br, "quantify the misstatements")
    br.add_argument(
        "--finance",
        metavar="RELATION",
        help="with --target: finance's daily revenue (default: finance.finance_daily_revenue)",
    )
    br.add_argument(
        "--orders",
        metavar="RELATION",
        help="with --target: the raw orders, the dashboards' truth (default: shop.raw_orders)",
    )
    common(br)
    br.set_defaults(func=cmd_blast_radius)

    inv = sub.add_parser(
        "investigate",
        help="walk upstream from a symptom to the first model whose grain broke",
        description=(
            "From a symptomatic model, walk upstream in topological order, check each model's "
            "grain (declared, tested, inferred from its SQL, or inherited from a parent) and row "
            "count against its parents', and name the first model whose grain broke, the deploy "
            "that introduced it (for the incident's project) and its blast radius. Exit 1 when a "
            "broken grain is found."
        ),
    )
    inv.add_argument("--db", metavar="FILE", help="DuckDB database (read-only)")
    inv.add_argument("--manifest", required=True, metavar="FILE", help="dbt target/manifest.json")
    inv.add_argument("--symptom", required=True, metavar="MODEL", help="the model that looks wrong")
    _target_options(inv, "walk")
    common(inv)
    inv.set_defaults(func=cmd_investigate)

    an = sub.add_parser(
        "anomalies",
        help="rolling z-score anomalies in a daily or per-build series (CSV)",
        description=(
            "Flag the points of a series (a CSV with a time and a value column) that are more "
            "than SENSITIVITY standard deviations from the points before them in the training "
            "window and change by at least MIN_CHANGE (1.0: double, or half). Exit 1 when a "
            "point is flagged."
        ),
    )
    an.add_argument("csv", help="CSV file with a header")
    an.add_argument("--time-column", default="at", help="ISO dates or timestamps (default: at)")
    an.add_argument("--value-column", default="value", help="numbers (default: value)")
    an.add_argument("--training-days", type=int, default=28)
    an.add_argument("--min-training-points", type=int, default=7)
    an.add_argument("--sensitivity", type=float, default=3.0)
    an.add_argument("--direction", choices=("spike", "drop", "both"), default="spike")
    an.add_argument("--min-change", type=float, default=1.0)
    an.add_argument("--weekday-seasonality", action="store_true")
    common(an)
    an.set_defaults(func=cmd_anomalies)

    tr = sub.add_parser(
        "training",
        help="prepare a training session: a folder per seat and a trainer sheet",
        description="Training sessions on grain discipline (see docs/training.md).",
    )
    tr_sub = tr.add_subparsers(dest="training", metavar="ACTION", parser_class=_Parser)
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
    common(prep)
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
    common(gd)
    gd.set_defaults(func=cmd_grade)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# Exit code of an error that is not the input's fault (a bug): one line, never a traceback
# (FANOUT_DEBUG=1 shows it), and never 1, which means "findings".
INTERNAL_ERROR = 3


def main(argv: Sequence[str] | None = None) -> int:
    import os
    import warnings

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
