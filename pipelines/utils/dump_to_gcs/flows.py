"""The dump_to_gcs flow factory."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prefect import Flow, Parameter

from pipelines.utils.dump_to_gcs.tasks import dump_to_gcs
from pipelines.utils.flow_defaults import PipelineFlow


def create_dump_to_gcs_flow(
    name: str, org: str, code_owners: Iterable[str] = (), **flow_kwargs: Any
) -> Flow:
    """Build a flow that exports a warehouse table or query as a zipped CSV.

    Parameters of the flow: dataset_id, table_id, query (None), max_mb (None).

    Args:
        name: Flow name, unique in the repo.
        org: The org that owns it.
        code_owners: People named in failure alerts.
        **flow_kwargs: Passed to PipelineFlow (schedule, ...).

    Returns:
        The flow.
    """
    with PipelineFlow(name, org=org, code_owners=code_owners, **flow_kwargs) as flow:
        dump_to_gcs(
            Parameter("dataset_id"),
            Parameter("table_id"),
            query=Parameter("query", default=None),
            max_mb=Parameter("max_mb", default=None),
        )
    return flow
