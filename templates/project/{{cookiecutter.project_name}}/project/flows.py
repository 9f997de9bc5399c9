"""Flows of the {{cookiecutter.project_name}} project.

A full ETL to copy from (dataset -> pandas -> Parquet -> warehouse) is in
pipelines/emd/template_pipeline/flows.py.
"""

from prefect import Parameter

from pipelines.utils.pipeline_flow import PipelineFlow

from .constants import CODE_OWNERS, FLOW_NAME, ORG
from .schedules import schedule
from .tasks import greet

with PipelineFlow(
    FLOW_NAME,
    org=ORG,
    code_owners=CODE_OWNERS,
    schedule=schedule,
) as flow:
    name = Parameter("name", default="world")
    greeting = greet(name)
