"""fanout: the executable postmortem of the stg_orders fan-out incident.

Modules are imported on use; importing the package does no work.
"""

from fanout.errors import FanoutError, ParameterError
from fanout.params import Params

__all__ = ["FanoutError", "ParameterError", "Params"]
__version__ = "0.1.0"
