"""The incident WT-05: its parameters, raw data, warehouse builds, records, history, guards,
the story and the report, and the workbook runner. Uses the toolkit, never the training.
"""
