"""The dump_to_gcs flow factory."""

from __future__ import annotations

from prefect import Parameter

from pipelines.utils.dump_to_gcs.tasks import dump_to_gcs
from pipelines.utils.pipeline_flow.factory import flow_factory


@flow_factory
def create_dump_to_gcs_flow() -> None:
    """Build a flow that exports a warehouse table or query as a zipped CSV.

    Parameters of the flow: dataset_id, table_id, query (None), max_mb (None).
    """
    dump_to_gcs(
        Parameter("dataset_id"),
        Parameter("table_id"),
        query=Parameter("query", default=None),
        max_mb=Parameter("max_mb", default=None),
    )
