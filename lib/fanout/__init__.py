"""fanout: the executable postmortem of the stg_orders fan-out incident, in three wings.

- `fanout.toolkit`: works on any dbt project (lineage and lint, fan-out prediction, grain
  checks, reconciliation, anomalies, the root-cause walk, blast radius);
- `fanout.incident`: the incident WT-05 (parameters, data, builds, story, report, workbook);
- `fanout.training`: training sessions (seats, exercises, grading).

`errors` and `bounded` are shared by all three. Modules are imported on use; importing the
package does no work.
"""

from fanout.errors import FanoutError, ParameterError

__all__ = ["FanoutError", "ParameterError"]
__version__ = "0.1.0"
