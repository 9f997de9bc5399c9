"""The dump_db flow factory: one flow per org, configured by parameters and schedules."""

from __future__ import annotations

from prefect import Parameter

from pipelines.utils.dbt.flows import materialize_after_dump
from pipelines.utils.dump_db.tasks import dump_db_to_datalake
from pipelines.utils.pipeline_flow.factory import flow_factory
from pipelines.utils.warehouse.tasks import load_to_warehouse


@flow_factory
def create_dump_db_flow() -> None:
    """Build a flow that dumps a database table or query into the datalake and warehouse.

    Parameters of the flow: those of dump_db_to_datalake, plus materialize_after_dump (False),
    dbt_select (default: the model models/<dataset_id>/<table_id>.sql) and dbt_vars (None;
    `secret:<path>#<key>` values are read when dbt runs), which build the dbt model after the
    load.

    Example:
        flow = create_dump_db_flow(
            "sme: dump_db", org="sme",
            schedule=make_schedule(*staggered_clocks(timedelta(days=1), [
                {"connection": "sme_pg", "table": "public.schools",
                 "dataset_id": "educacao", "table_id": "escolas"},
            ])),
        )
    """
    dataset_id, table_id = Parameter("dataset_id"), Parameter("table_id")
    written = dump_db_to_datalake(
        connection=Parameter("connection"),
        dataset_id=dataset_id,
        table_id=table_id,
        table=Parameter("table", default=None),
        query=Parameter("query", default=None),
        format=Parameter("format", default="parquet"),
        batch_size=Parameter("batch_size", default=50_000),
        partition_column=Parameter("partition_column", default=None),
        incremental=Parameter("incremental", default=False),
        since=Parameter("since", default=None),
        mode=Parameter("mode", default=None),
        zero_dates=Parameter("zero_dates", default="fail"),
        partition_by=Parameter("partition_by", default="day"),
        on_schema_change=Parameter("on_schema_change", default="append_new_columns"),
    )
    loaded = load_to_warehouse(written)
    materialize_after_dump(dataset_id, table_id, upstream=loaded)
