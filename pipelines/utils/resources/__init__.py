"""An environment's stores together, for people (`settings`, `status`) and for dbt's profile.

The run's settings are `pipelines.utils.context.current_settings()`; which datalake and
warehouse each environment uses is `pipelines.utils.context.ENVIRONMENTS`, built by
`get_datalake()` and `get_warehouse()`: a flow that needs one store carries only its code.
"""

from pipelines.utils.context import current_settings, using
from pipelines.utils.resources.by_env import (
    CloudResources,
    LocalResources,
    Resources,
    resources,
)

__all__ = [
    "CloudResources",
    "LocalResources",
    "Resources",
    "current_settings",
    "resources",
    "using",
]
