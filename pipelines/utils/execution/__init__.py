"""Run flows: run_local on this machine, run_cloud on Prefect Server."""

from pipelines.utils.execution.cloud import run_cloud
from pipelines.utils.execution.executors import describe_executor, make_executor
from pipelines.utils.execution.local import failed_tasks, run_local
from pipelines.utils.execution.parameters import FlowParameterError, check_parameters

__all__ = [
    "FlowParameterError",
    "check_parameters",
    "describe_executor",
    "failed_tasks",
    "make_executor",
    "run_cloud",
    "run_local",
]
