"""Housekeeping of Prefect Server: cancel stuck runs, archive stale versions, drop old runs.

Started by hand it is a dry run (each task lists what it would do); the schedule acts.
"""

from prefect import Parameter

from pipelines.utils.pipeline_flow import PipelineFlow
from pipelines.utils.server_cleanup import (
    archive_stale_versions,
    cancel_stuck_runs,
    delete_old_runs,
)

from .constants import CODE_OWNERS, FLOW_NAME, ORG, RETENTION_DAYS, STUCK_LIMIT_MINUTES
from .schedules import schedule

with PipelineFlow(
    FLOW_NAME,
    org=ORG,
    code_owners=CODE_OWNERS,
    schedule=schedule,
    needs=("PREFECT__SERVER__HOST",),  # it tidies the server: nothing to do locally
) as flow:
    dry_run = Parameter("dry_run", default=True)
    stuck = cancel_stuck_runs(
        Parameter("stuck_limit_minutes", default=STUCK_LIMIT_MINUTES),
        Parameter("per_flow_minutes", default=None),
        dry_run=dry_run,
    )
    stale = archive_stale_versions(
        Parameter("project", default="main"),
        Parameter("current_flows", default=None),
        dry_run=dry_run,
    )
    old = delete_old_runs(Parameter("retention_days", default=RETENTION_DAYS), dry_run=dry_run)
