"""One base exception; every error a user can cause derives from it and reads as one line."""

__all__ = [
    "BuildError",
    "DataError",
    "FanoutError",
    "NotebookError",
    "ParameterError",
]


class FanoutError(Exception):
    """Base class of every error the workbook raises on purpose."""

    exit_code = 2


class ParameterError(FanoutError, ValueError):
    """A parameter is unknown, of the wrong type or out of range."""


class DataError(FanoutError):
    """A data folder or file is missing, unreadable or not what the workbook expects."""


class BuildError(FanoutError):
    """dbt could not build or test a warehouse revision."""

    exit_code = 1


class NotebookError(FanoutError):
    """A notebook failed while the workbook ran it."""

    exit_code = 1
