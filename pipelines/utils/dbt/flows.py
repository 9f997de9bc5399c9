"""The materialization flow factory: one per org, the child that dump flows start on the server."""

from __future__ import annotations

from typing import Any

from prefect import Parameter, Task

from pipelines.utils.dbt.tasks import dbt_selection, materialize, run_dbt
from pipelines.utils.pipeline_flow.factory import flow_factory


@flow_factory
def create_materialize_flow() -> None:
    """Build a flow that runs dbt on a selection of the repo's models.

    Parameters of the flow: select (a dbt selection) or dataset_id and table_id (the model
    models/<dataset_id>/<table_id>.sql) with upstream (False: also the models it reads) and
    downstream (False: also those that read it); command ("build"), full_refresh (False),
    vars (None), warn_only (False). Clocks may say what to build either way: lineage, the
    catalog and run --all read both.
    """
    selection = dbt_selection(
        select=Parameter("select", default=None),
        dataset_id=Parameter("dataset_id", default=None),
        table_id=Parameter("table_id", default=None),
        upstream=Parameter("upstream", default=False),
        downstream=Parameter("downstream", default=False),
    )
    run_dbt(
        select=selection,
        command=Parameter("command", default="build"),
        vars=Parameter("vars", default=None),
        full_refresh=Parameter("full_refresh", default=False),
        warn_only=Parameter("warn_only", default=False),
    )


def materialize_after_dump(dataset_id: Any, table_id: Any, upstream: Task) -> Task:
    """Inside a flow's `with` block: the parameters materialize_after_dump (False),
    dbt_select (None: the table's own model), dbt_vars (None; `secret:<path>#<key>` values
    are read when dbt runs), publish (False: copy the model's table to the open-data project)
    and export_csv (False: then write its zipped CSV download), and the task that builds the
    model after `upstream` (the load)."""
    return materialize(
        dataset_id,
        table_id,
        select=Parameter("dbt_select", default=None),
        enabled=Parameter("materialize_after_dump", default=False),
        vars=Parameter("dbt_vars", default=None),
        publish=Parameter("publish", default=False),
        export_csv=Parameter("export_csv", default=False),
        upstream_tasks=[upstream],
    )
