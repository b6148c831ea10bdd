"""A generated dbt project of a given size, for the lineage benchmark.

Layers as a team would have them: sources (unique and not-null tests on their keys), one
staging model per source table, intermediate models that join a parent to its children
aggregated to one row per parent (no fan-out), and marts that roll intermediate models up
by day. Every `PLANTED`-th mart instead joins a parent to its raw children and sums the
parent's amount: a planted fan-out that the static prediction must find, no more, no less.
Every model declares its grain (`meta.grain` and "One row per ...") and tests it (`unique`
and `not_null`).
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["PLANTED", "write_project", "write_realistic_project"]

PLANTED = 25  # every 25th mart fans out


def _layers(models: int) -> tuple[int, int, int]:
    """Staging, intermediate and mart counts adding up to `models` (10% / 30% / 60%)."""
    staging = max(2, models // 10)
    intermediate = max(1, models * 3 // 10)
    return staging, intermediate, models - staging - intermediate


def write_project(folder: Path, models: int = 500) -> dict[str, int]:
    """Write the project to `folder`; returns its counts, planted fan-outs included."""
    staging, intermediate, marts = _layers(models)
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "dbt_project.yml").write_text(
        "name: generated\nversion: '1.0.0'\nconfig-version: 2\nprofile: generated\n"
        "model-paths: ['models']\nflags:\n  send_anonymous_usage_stats: false\n"
    )
    profile = {
        "generated": {
            "target": "dev",
            "outputs": {"dev": {"type": "duckdb", "path": str(folder / "generated.duckdb")}},
        }
    }
    (folder / "profiles.yml").write_text(json.dumps(profile, indent=2) + "\n")

    columns = "id, parent_id, amount, created_at"
    tables = [
        {
            "name": f"t{i}",
            "columns": [{"name": "id", "data_tests": ["unique", "not_null"]}],
        }
        for i in range(staging)
    ]
    yaml_models = []
    files: dict[str, str] = {}

    def model(name: str, sql: str, grain: list[str], what: str) -> None:
        files[name] = sql
        yaml_models.append(
            {
                "name": name,
                "description": f"One row per {what}.",
                "config": {"meta": {"grain": grain}},
                "columns": [{"name": grain[0], "data_tests": ["unique", "not_null"]}],
            }
        )

    for i in range(staging):
        model(
            f"stg_t{i}",
            f"select {columns} from {{{{ source('app', 't{i}') }}}}\n",
            ["id"],
            f"t{i} record",
        )
    for j in range(intermediate):
        parent, child = j % staging, (j + 1) % staging
        model(
            f"int_{j}",
            "with children as (\n"
            "    select parent_id, sum(amount) as child_amount\n"
            f"    from {{{{ ref('stg_t{child}') }}}}\n"
            "    group by parent_id\n)\n"
            "select p.id, p.created_at, p.amount, c.child_amount\n"
            f"from {{{{ ref('stg_t{parent}') }}}} as p\n"
            "left join children as c on c.parent_id = p.id\n",
            ["id"],
            f"t{parent} record",
        )
    planted = 0
    for k in range(marts):
        if k % PLANTED == PLANTED - 1:
            planted += 1
            parent, child = k % staging, (k + 1) % staging
            sql = (
                "select cast(p.created_at as date) as day, sum(p.amount) as amount\n"
                f"from {{{{ ref('stg_t{parent}') }}}} as p\n"
                f"join {{{{ ref('stg_t{child}') }}}} as c on c.parent_id = p.id\n"
                "group by 1\n"
            )
        else:
            sql = (
                "select cast(created_at as date) as day, sum(amount) as amount,\n"
                "    sum(child_amount) as child_amount\n"
                f"from {{{{ ref('int_{k % intermediate}') }}}}\ngroup by 1\n"
            )
        model(f"mart_{k}", sql, ["day"], "day")
    for name, sql in files.items():
        (folder / "models" / f"{name}.sql").write_text(sql)
    schema = {
        "version": 2,
        "sources": [{"name": "app", "schema": "main", "tables": tables}],
        "models": yaml_models,
    }
    (folder / "models" / "schema.yml").write_text(json.dumps(schema, indent=1) + "\n")
    return {
        "models": len(files),
        "staging": staging,
        "intermediate": intermediate,
        "marts": marts,
        "planted_fan_outs": planted,
    }


def write_realistic_project(folder: Path, models: int = 700) -> dict[str, int]:
    """A project of `models` models written the ways real projects are: staging models that
    rename (CTE chains), deduplicate with `row_number()` (kept as `rn = 1`, or as an
    `is_latest` flag) or keep the latest row with `qualify`; intermediate models that roll
    children up before joining, or union two staging models under a constant tag; marts
    that roll up by day, or join a date spine (cross joins of constant rows). Every
    `PLANTED`-th mart instead joins a parent to its raw children and sums the parent's
    amount: the planted fan-outs, found no more, no less."""
    staging, intermediate, marts = _layers(models)
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / "dbt_project.yml").write_text(
        "name: realistic\nversion: '1.0.0'\nconfig-version: 2\nprofile: realistic\n"
        "model-paths: ['models']\nflags:\n  send_anonymous_usage_stats: false\n"
    )
    profile = {
        "realistic": {
            "target": "dev",
            "outputs": {"dev": {"type": "duckdb", "path": str(folder / "realistic.duckdb")}},
        }
    }
    (folder / "profiles.yml").write_text(json.dumps(profile, indent=2) + "\n")
    key_tests = ["unique", "not_null"]
    tables = [
        {"name": f"t{i}", "columns": [{"name": "id", "data_tests": key_tests}]}
        for i in range(staging)
    ]
    yaml_models: list[dict] = []
    files: dict[str, str] = {}

    def model(name: str, sql: str, grain: list[str], what: str) -> None:
        files[name] = sql
        entry: dict = {
            "name": name,
            "description": f"One row per {what}.",
            "config": {"meta": {"grain": grain}},
        }
        if len(grain) == 1:
            entry["columns"] = [{"name": grain[0], "data_tests": key_tests}]
        yaml_models.append(entry)

    renamed = (
        "    select\n        id,\n        parent_id,\n        amount,\n        status,\n"
        "        created_at\n"
    )
    for i in range(staging):
        source = f"{{{{ source('app', 't{i}') }}}}"
        kind = i % 3
        if kind == 0:  # source -> renamed -> final
            sql = (
                f"with source as (\n    select * from {source}\n),\n\nrenamed as (\n"
                f"{renamed}    from source\n)\n\nselect * from renamed\n"
            )
        elif kind == 1:  # a dedup kept as rn = 1, re-selected in a subquery
            sql = (
                f"with source as (\n    select * from {source}\n),\n\nranked as (\n"
                "    select *, row_number() over (partition by id order by updated_at desc)"
                " as rn\n    from source\n)\n\n"
                f"{renamed}from (select * from ranked) as latest\nwhere rn = 1\n"
            )
        else:  # a dedup kept as a flag
            sql = (
                f"with source as (\n    select * from {source}\n),\n\nflagged as (\n"
                "    select *, row_number() over (partition by id order by updated_at desc)"
                " = 1 as is_latest\n    from source\n)\n\n"
                f"{renamed}from flagged\nwhere is_latest\n"
            )
        model(f"stg_t{i}", sql, ["id"], f"t{i} record")
    for j in range(intermediate):
        parent, child = j % staging, (j + 1) % staging
        kind = j % 3
        if kind == 0:  # children rolled up to one row per parent, then joined
            sql = (
                "with children as (\n    select parent_id, sum(amount) as child_amount,"
                " count(*) as children\n"
                f"    from {{{{ ref('stg_t{child}') }}}}\n    group by parent_id\n),\n\n"
                f"parents as (\n    select * from {{{{ ref('stg_t{parent}') }}}}\n)\n\n"
                "select\n    parents.id,\n    parents.created_at,\n    parents.amount,\n"
                "    coalesce(children.child_amount, 0) as child_amount\n"
                "from parents\nleft join children on children.parent_id = parents.id\n"
            )
            model(f"int_{j}", sql, ["id"], f"t{parent} record")
        elif kind == 1:  # two staging models under a constant tag
            sql = (
                "select 'a' as origin, id, created_at, amount, 0 as child_amount"
                f" from {{{{ ref('stg_t{parent}') }}}}\nunion all\n"
                "select 'b' as origin, id, created_at, amount, 0 as child_amount"
                f" from {{{{ ref('stg_t{child}') }}}}\n"
            )
            model(f"int_{j}", sql, ["origin", "id"], "record of either table")
        else:  # the latest row of each parent
            sql = (
                "select parent_id as id, created_at, amount, 0 as child_amount\n"
                f"from {{{{ ref('stg_t{child}') }}}}\n"
                "qualify row_number() over (partition by parent_id order by created_at desc)"
                " = 1\n"
            )
            model(f"int_{j}", sql, ["id"], "parent")
    planted = 0
    digits = " union all ".join(f"select {d} as d" for d in range(10))
    for k in range(marts):
        if k % PLANTED == PLANTED - 1:
            planted += 1
            parent, child = k % staging, (k + 1) % staging
            sql = (
                "select cast(p.created_at as date) as day, sum(p.amount) as amount\n"
                f"from {{{{ ref('stg_t{parent}') }}}} as p\n"
                f"join {{{{ ref('stg_t{child}') }}}} as c on c.parent_id = p.id\n"
                "group by 1\n"
            )
            model(f"mart_{k}", sql, ["day"], "day")
        elif k % 2:  # a date spine of constant rows, joined to the daily totals
            sql = (
                f"with digits as (\n    {digits}\n),\n\nspine as (\n"
                "    select a.d * 100 + b.d * 10 + c.d as day_number\n"
                "    from digits as a cross join digits as b cross join digits as c\n),\n\n"
                "daily as (\n    select datediff('day', date '2024-01-01',"
                " cast(created_at as date)) as day_number, sum(amount) as amount\n"
                f"    from {{{{ ref('int_{k % intermediate}') }}}}\n    group by 1\n)\n\n"
                "select spine.day_number, coalesce(daily.amount, 0) as amount\n"
                "from spine\nleft join daily on daily.day_number = spine.day_number\n"
            )
            model(f"mart_{k}", sql, ["day_number"], "day")
        else:
            sql = (
                "select cast(created_at as date) as day, sum(amount) as amount,\n"
                "    sum(child_amount) as child_amount\n"
                f"from {{{{ ref('int_{k % intermediate}') }}}}\ngroup by 1\n"
            )
            model(f"mart_{k}", sql, ["day"], "day")
    for name, sql in files.items():
        (folder / "models" / f"{name}.sql").write_text(sql)
    schema = {
        "version": 2,
        "sources": [{"name": "app", "schema": "main", "tables": tables}],
        "models": yaml_models,
    }
    (folder / "models" / "schema.yml").write_text(json.dumps(schema, indent=1) + "\n")
    return {
        "models": len(files),
        "staging": staging,
        "intermediate": intermediate,
        "marts": marts,
        "planted_fan_outs": planted,
    }
