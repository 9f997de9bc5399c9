"""The one switch from settings to what a run uses: datalake, warehouse, dbt profile, staging.

`resources()` answers for the run in progress: run_local hands its settings to every task
through the run's context (`using`); elsewhere (a pod, a notebook) they are the process's
environment and .env. Nothing else reads PIPELINES_ENV to pick a backend.
"""

from pipelines.utils.resources.by_env import (
    RESOURCES_BY_ENV,
    CloudResources,
    LocalResources,
    Resources,
    current_settings,
    resources,
    using,
)

__all__ = [
    "RESOURCES_BY_ENV",
    "CloudResources",
    "LocalResources",
    "Resources",
    "current_settings",
    "resources",
    "using",
]
