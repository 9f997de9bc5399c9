"""The watchdog: late runs, schedules switched off, flows that stopped running, failing
streaks and stale tables, each told to its owners once, and once more when it clears.

Started by hand it is a dry run (it lists the messages it would send); the schedule acts.
"""

from prefect import Parameter

from pipelines.utils.health.tasks import watch
from pipelines.utils.pipeline_flow import PipelineFlow

from .constants import CODE_OWNERS, FLOW_NAME, ORG
from .schedules import schedule

with PipelineFlow(
    FLOW_NAME,
    org=ORG,
    code_owners=CODE_OWNERS,
    schedule=schedule,
    # Every few minutes: one pass at a time is enough.
    skip_if_running=True,
    needs=("PREFECT__SERVER__HOST",),  # it reads the server: nothing to watch locally
) as flow:
    dry_run = Parameter("dry_run", default=True)
    found = watch(dry_run)
