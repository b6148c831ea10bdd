"""A generated dbt project of a given size, for the lineage benchmark.

Layers as a team would have them: sources (unique and not-null tests on their keys), one
staging model per source table, intermediate models that join a parent to its children
aggregated to one row per parent (no fan-out), and marts that roll intermediate models up
by day. Every `PLANTED`-th mart instead joins a parent to its raw children and sums the
parent's amount: a planted fan-out that the static prediction must find, no more, no less.
Every model declares its grain (`meta.grain` and "One row per ..." in the description).
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["PLANTED", "write_project"]

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
