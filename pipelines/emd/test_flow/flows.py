"""The smallest flow: one parameter, echoed by one task (the original README's example)."""

from prefect import Parameter

from pipelines.utils.pipeline_flow import PipelineFlow

from .constants import CODE_OWNERS, FLOW_NAME, ORG
from .schedules import schedule
from .tasks import echo

with PipelineFlow(
    FLOW_NAME,
    org=ORG,
    code_owners=CODE_OWNERS,
    schedule=schedule,
) as flow:
    param = Parameter("param", default="default")
    echoed = echo(param)
