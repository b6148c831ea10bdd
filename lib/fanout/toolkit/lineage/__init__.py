"""Lineage of a dbt project read from its `manifest.json`: the graph, lint rules, static grain
inference (which joins fan out) and blast radius. No database and no data: the manifest alone.

Three questions, three entry points:

- `lint(graph)`: does the project keep the layering rules (one source per staging model,
  marts read staging, every model states its grain)?
- `predict(graph)`: what grain does each model's SQL give, given the grains its inputs
  declare or test, and which joins multiply rows (fan out)?
- `downstream(graph, name)`: what would a broken model break (models, tests, dashboards)?

`check(graph)` runs the lint rules and turns the predictions into findings. Every result is
a frozen dataclass of strings, tuples and booleans: `dataclasses.asdict` gives JSON.

The grain inference, on a query whose inputs have known grains:

>>> grain = infer_grain(
...     "select o.order_id, i.quantity from orders as o join items as i on o.order_id = i.order_id",
...     {"orders": [["order_id"]], "items": [["item_id"]]},
... )
>>> grain.key is None, grain.fanouts[0].side, grain.fanouts[0].side_grain
(True, 'i', ('item_id',))
>>> print(grain.reason)
no set of selected columns is unique: i.item_id is not selected
"""

from fanout.toolkit.lineage.impact import Impact, downstream, render_tree
from fanout.toolkit.lineage.infer import infer_grain
from fanout.toolkit.lineage.manifest import Graph, Node, load
from fanout.toolkit.lineage.predict import check, found_grains, predict
from fanout.toolkit.lineage.results import FanOut, Grain, InflatedSum, Prediction
from fanout.toolkit.lineage.rules import (
    RULES,
    STRICT_RULES,
    Finding,
    layer,
    lint,
    mart_reads_source,
    missing_grain,
    source_read_by_many,
    staging_joins_sources,
    staging_reads_mart,
    staging_reads_model,
    staging_reads_staging,
)
from fanout.toolkit.lineage.schema import ManifestWarning
from fanout.toolkit.lineage.settings import Settings

__all__ = [
    "RULES",
    "STRICT_RULES",
    "FanOut",
    "Finding",
    "Grain",
    "Graph",
    "Impact",
    "InflatedSum",
    "ManifestWarning",
    "Node",
    "Prediction",
    "Settings",
    "check",
    "downstream",
    "found_grains",
    "infer_grain",
    "layer",
    "lint",
    "load",
    "mart_reads_source",
    "missing_grain",
    "predict",
    "render_tree",
    "source_read_by_many",
    "staging_joins_sources",
    "staging_reads_mart",
    "staging_reads_model",
    "staging_reads_staging",
]
