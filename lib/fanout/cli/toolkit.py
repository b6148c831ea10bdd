"""The toolkit's commands on a manifest or a series: `lint`, `blast-radius` (with --db or
--target, its misstatements quantified) and `anomalies`; with the warehouse commands of
`fanout.cli.checks`. Each imports what it runs when it runs."""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path
from typing import Any

from fanout.cli import checks
from fanout.cli.checks import (
    FINANCE,
    ORDERS,
    open_target,
    raw_relation_flags,
    target_options,
)
from fanout.cli.common import (
    data_for,
    emit,
    format_option,
    open_db,
)
from fanout.errors import ParameterError

__all__ = ["register"]


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
        con = open_db(args.db)
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
    emit(args, payload, text)
    return 1 if found else 0


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
    raw_relation_flags(args)
    target = open_target(args)
    if args.db or target is not None:
        if target is None:
            con = open_db(args.db, data_for(args.db, args.data))
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
    emit(args, payload, "\n".join(lines))
    return 1 if misstated else 0


def _read_series(path: Path, time_column: str, value_column: str) -> tuple[list, list]:
    """Times and values of a series CSV, read within bounds (a regular file of at most
    FANOUT_MAX_SERIES_BYTES, lines of at most FANOUT_MAX_LINE_BYTES, UTF-8), a row at a time."""
    import csv
    import datetime as dt

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
    emit(args, payload, "\n".join(lines))
    return 1 if flagged else 0


def register(sub: argparse._SubParsersAction) -> None:
    """`fanout reconcile`, `lint`, `blast-radius`, `investigate` and `anomalies`."""
    checks.register(sub)
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
    format_option(ln)
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
    target_options(br, "quantify the misstatements")
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
    format_option(br)
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
    target_options(inv, "walk")
    format_option(inv)
    inv.set_defaults(func=checks.cmd_investigate)

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
    format_option(an)
    an.set_defaults(func=cmd_anomalies)
