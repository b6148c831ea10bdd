"""A wide dbt manifest of a given size, written directly (dbt would take many minutes to
parse 20,000 models), for the lint benchmark at scale.

Shaped as a large mono-repo: 100-model domains, each with 10 source tables (unique and
not-null tests on their keys), 10 staging models (one per source table), 30 intermediate
models (a parent joined to its children rolled up to one row per parent) and 60 marts (an
intermediate model rolled up by day, joined to shared reference tables that every domain
reads: a calendar, currencies, ...). The shared tables make `source-read-by-many` findings
whose readers grow with the project. Every `PLANTED`-th mart joins raw children and sums the
parent's amount: a fan-out the prediction must find, no more, no less. Each node carries the
fields dbt 1.11 writes (config, columns, checksums, ...), so the file is as large as a real
manifest of that size.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["PLANTED", "SHARED", "chain", "write_manifest"]

PLANTED = 50  # every 50th mart fans out
SHARED = 12  # reference tables every mart reads one of
PROJECT = "wide"
SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"


def _config(materialized: str) -> dict[str, Any]:
    return {
        "enabled": True,
        "alias": None,
        "schema": None,
        "database": None,
        "tags": [],
        "meta": {},
        "group": None,
        "materialized": materialized,
        "incremental_strategy": None,
        "batch_size": None,
        "lookback": 1,
        "begin": None,
        "persist_docs": {},
        "post-hook": [],
        "pre-hook": [],
        "quoting": {},
        "column_types": {},
        "full_refresh": None,
        "unique_key": None,
        "on_schema_change": "ignore",
        "on_configuration_change": "apply",
        "grants": {},
        "packages": [],
        "docs": {"show": True, "node_color": None},
        "contract": {"enforced": False, "alias_types": True},
        "event_time": None,
        "concurrent_batches": None,
        "access": "protected",
    }


def _columns(names: list[str]) -> dict[str, Any]:
    return {
        n: {
            "name": n,
            "description": f"The {n.replace('_', ' ')} of the row.",
            "meta": {},
            "data_type": None,
            "constraints": [],
            "quote": None,
            "config": {"meta": {}, "tags": []},
            "tags": [],
            "granularity": None,
            "doc_blocks": [],
        }
        for n in names
    }


def _relation(schema: str, name: str) -> str:
    return f'"warehouse"."{schema}"."{name}"'


def _model(name: str, folder: str, sql: str, parents: list[str], grain: list[str]) -> dict:
    uid = f"model.{PROJECT}.{name}"
    path = f"{folder}/{name}.sql"
    return {
        "database": "warehouse",
        "schema": "analytics",
        "name": name,
        "resource_type": "model",
        "package_name": PROJECT,
        "path": path,
        "original_file_path": f"models/{path}",
        "unique_id": uid,
        "fqn": [PROJECT, folder, name],
        "alias": name,
        "checksum": {"name": "sha256", "checksum": hashlib.sha256(sql.encode()).hexdigest()},
        "config": {**_config("table"), "meta": {"grain": grain}},
        "tags": [],
        "description": f"One row per {', '.join(grain)}. Built from {', '.join(parents)}.",
        "columns": _columns([*grain, "amount", "created_at", "updated_at"]),
        "meta": {"grain": grain},
        "group": None,
        "docs": {"show": True, "node_color": None},
        "patch_path": f"{PROJECT}://models/{folder}/_{folder}.yml",
        "build_path": None,
        "unrendered_config": {"materialized": "table", "meta": {"grain": grain}},
        "created_at": 1767225600.0,
        "relation_name": _relation("analytics", name),
        "raw_code": sql,
        "doc_blocks": [],
        "language": "sql",
        "refs": [{"name": p.rsplit(".", 1)[1], "package": None, "version": None} for p in parents],
        "sources": [],
        "metrics": [],
        "functions": [],
        "depends_on": {"macros": [], "nodes": parents},
        "compiled_path": f"target/compiled/{PROJECT}/models/{path}",
        "compiled": True,
        "compiled_code": sql,
        "extra_ctes_injected": True,
        "extra_ctes": [],
        "contract": {"enforced": False, "alias_types": True, "checksum": None},
        "access": "protected",
        "constraints": [],
        "version": None,
        "latest_version": None,
        "deprecation_date": None,
        "primary_key": grain,
        "time_spine": None,
    }


def _source(domain: str, table: str) -> dict:
    uid = f"source.{PROJECT}.{domain}.{table}"
    return {
        "database": "warehouse",
        "schema": domain,
        "name": table,
        "resource_type": "source",
        "package_name": PROJECT,
        "path": f"models/{domain}/_sources.yml",
        "original_file_path": f"models/{domain}/_sources.yml",
        "unique_id": uid,
        "fqn": [PROJECT, domain, domain, table],
        "source_name": domain,
        "source_description": f"The {domain} system's tables.",
        "loader": "",
        "identifier": table,
        "quoting": {"database": None, "schema": None, "identifier": None, "column": None},
        "loaded_at_field": None,
        "loaded_at_query": None,
        "freshness": {"warn_after": {"count": None, "period": None}, "filter": None},
        "external": None,
        "description": f"One row per {table} record.",
        "columns": _columns(["id", "parent_id", "amount", "created_at"]),
        "meta": {},
        "source_meta": {},
        "tags": [],
        "config": {"enabled": True, "event_time": None, "freshness": None},
        "patch_path": None,
        "unrendered_config": {},
        "relation_name": _relation(domain, table),
        "created_at": 1767225600.0,
        "unrendered_database": None,
        "unrendered_schema": None,
        "doc_blocks": [],
    }


def _test(kind: str, target: str, column: str) -> tuple[str, dict]:
    name = f"{kind}_{target.rsplit('.', 1)[1]}_{column}"
    uid = f"test.{PROJECT}.{name}"
    return uid, {
        "database": "warehouse",
        "schema": "analytics_dbt_test__audit",
        "name": name,
        "resource_type": "test",
        "package_name": PROJECT,
        "path": f"{name}.sql",
        "original_file_path": "models/_schema.yml",
        "unique_id": uid,
        "fqn": [PROJECT, name],
        "alias": name,
        "checksum": {"name": "none", "checksum": ""},
        "config": {
            "enabled": True,
            "alias": None,
            "schema": "dbt_test__audit",
            "database": None,
            "tags": [],
            "meta": {},
            "group": None,
            "materialized": "test",
            "severity": "ERROR",
            "store_failures": None,
            "store_failures_as": None,
            "where": None,
            "limit": None,
            "fail_calc": "count(*)",
            "warn_if": "!= 0",
            "error_if": "!= 0",
        },
        "tags": [],
        "description": "",
        "columns": {},
        "meta": {},
        "group": None,
        "docs": {"show": True, "node_color": None},
        "patch_path": None,
        "build_path": None,
        "unrendered_config": {},
        "created_at": 1767225600.0,
        "relation_name": None,
        "raw_code": f"{{{{ test_{kind}(**_dbt_generic_test_kwargs) }}}}",
        "doc_blocks": [],
        "language": "sql",
        "refs": [],
        "sources": [],
        "metrics": [],
        "functions": [],
        "depends_on": {"macros": [f"macro.dbt.test_{kind}"], "nodes": [target]},
        "compiled_path": None,
        "contract": {"enforced": False, "alias_types": True, "checksum": None},
        "column_name": column,
        "file_key_name": "models.x",
        "attached_node": target,
        "test_metadata": {
            "name": kind,
            "kwargs": {"column_name": column, "model": "{{ get_where_subquery(ref('x')) }}"},
            "namespace": None,
        },
    }


def write_manifest(path: Path, models: int) -> dict[str, int]:
    """Write a manifest of `models` models (a multiple of 100) to `path`; its counts."""
    domains = max(1, models // 100)
    nodes: dict[str, dict] = {}
    sources: dict[str, dict] = {}
    parent_map: dict[str, list[str]] = {}
    planted = marts = 0

    def add_tests(target: str, column: str) -> None:
        for kind in ("unique", "not_null"):
            uid, test = _test(kind, target, column)
            nodes[uid] = test
            parent_map[uid] = [target]

    shared = []
    for s in range(SHARED):
        src = _source("reference", f"ref_{s}")
        sources[src["unique_id"]] = src
        parent_map[src["unique_id"]] = []
        add_tests(src["unique_id"], "id")
        shared.append(src)
    for d in range(domains):
        domain = f"d{d:03d}"
        staging = []
        for t in range(10):
            src = _source(domain, f"t{t}")
            sources[src["unique_id"]] = src
            parent_map[src["unique_id"]] = []
            add_tests(src["unique_id"], "id")
            name = f"stg_{domain}__t{t}"
            sql = (
                f"with source as (select * from {src['relation_name']}),\n"
                "renamed as (select id, parent_id, amount, created_at, created_at as updated_at "
                "from source)\nselect * from renamed"
            )
            model = _model(name, "staging", sql, [src["unique_id"]], ["id"])
            nodes[model["unique_id"]] = model
            parent_map[model["unique_id"]] = [src["unique_id"]]
            add_tests(model["unique_id"], "id")
            staging.append(model)
        intermediate = []
        for i in range(30):
            parent, child = staging[i % 10], staging[(i + 1) % 10]
            name = f"int_{domain}__{i:02d}"
            sql = (
                f"with parents as (select * from {parent['relation_name']}),\n"
                f"children as (select parent_id, sum(amount) as amount from "
                f"{child['relation_name']} group by parent_id)\n"
                "select parents.id, children.amount, parents.created_at, parents.updated_at "
                "from parents left join children on children.parent_id = parents.id"
            )
            ids = sorted([parent["unique_id"], child["unique_id"]])
            model = _model(name, "intermediate", sql, ids, ["id"])
            nodes[model["unique_id"]] = model
            parent_map[model["unique_id"]] = ids
            add_tests(model["unique_id"], "id")
            intermediate.append(model)
        for m in range(60):
            base = intermediate[m % 30]
            ref = shared[(d * 60 + m) % SHARED]
            marts += 1
            name = f"fct_{domain}__{m:02d}"
            if marts % PLANTED == 0:  # a parent joined to its raw children: fans out
                child = staging[(m + 3) % 10]
                planted += 1
                sql = (
                    "select cast(p.created_at as date) as day, sum(p.amount) as amount "
                    f"from {base['relation_name']} as p join {child['relation_name']} as c "
                    "on c.parent_id = p.id group by 1"
                )
                parents = [base["unique_id"], child["unique_id"], ref["unique_id"]]
            else:
                sql = (
                    "select cast(p.created_at as date) as day, sum(p.amount) as amount "
                    f"from {base['relation_name']} as p left join {ref['relation_name']} as r "
                    "on r.id = p.id group by 1"
                )
                parents = [base["unique_id"], ref["unique_id"]]
            model = _model(name, "marts", sql, sorted(parents), ["day"])
            nodes[model["unique_id"]] = model
            parent_map[model["unique_id"]] = sorted(parents)
            add_tests(model["unique_id"], "day")
    child_map: dict[str, list[str]] = {uid: [] for uid in parent_map}
    for uid, parents in parent_map.items():
        for p in parents:
            child_map[p].append(uid)
    manifest = {
        "metadata": {
            "dbt_schema_version": SCHEMA,
            "dbt_version": "1.11.0",
            "generated_at": "2026-01-01T00:00:00Z",
            "invocation_id": "00000000-0000-0000-0000-000000000000",
            "env": {},
            "project_name": PROJECT,
            "project_id": "0" * 32,
            "user_id": None,
            "send_anonymous_usage_stats": False,
            "adapter_type": "duckdb",
        },
        "nodes": nodes,
        "sources": sources,
        "macros": {},
        "docs": {},
        "exposures": {},
        "metrics": {},
        "groups": {},
        "selectors": {},
        "disabled": {},
        "parent_map": parent_map,
        "child_map": {k: sorted(v) for k, v in child_map.items()},
        "group_map": {},
        "saved_queries": {},
        "semantic_models": {},
        "unit_tests": {},
        "functions": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        json.dump(manifest, fh, separators=(",", ":"))
    return {
        "models": domains * 100,
        "sources": len(sources),
        "planted_fan_outs": planted,
        "bytes": path.stat().st_size,
    }


def chain(models: int, grain: bool = False) -> dict[str, Any]:
    """A manifest where m0 reads a source without a grain (raw.e) and each m<i> reads
    m<i-1> with `select *`: every grain unknown, each traced to the source; with `grain`,
    each model declares the grain (id)."""
    source = "source.p.raw.e"
    nodes, parents, previous = {}, {source: []}, source
    for i in range(models):
        uid = f"model.p.m{i}"
        read = '"db"."raw"."e"' if i == 0 else f'"db"."main"."m{i - 1}"'
        nodes[uid] = {
            "unique_id": uid,
            "name": f"m{i}",
            "resource_type": "model",
            "relation_name": f'"db"."main"."m{i}"',
            "compiled_code": f"select * from {read}",
            "fqn": ["p", f"m{i}"],
            **({"config": {"meta": {"grain": ["id"]}}} if grain else {}),
        }
        parents[uid], previous = [previous], uid
    sources = {
        source: {
            "unique_id": source,
            "name": "e",
            "resource_type": "source",
            "source_name": "raw",
            "relation_name": '"db"."raw"."e"',
        }
    }
    return {
        "metadata": {"project_name": "p", "dbt_schema_version": SCHEMA},
        "nodes": nodes,
        "sources": sources,
        "parent_map": parents,
    }
