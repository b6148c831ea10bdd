"""The toolkit: works on any dbt project (manifest lineage and lint, fan-out prediction, grain
checks, reconciliation, anomaly detection, the root-cause walk, blast radius). It knows nothing
of the incident or the training: nothing here imports `fanout.incident` or `fanout.training`.
"""
