"""The example ETL a new project copies from: CSV -> pandas -> Parquet -> warehouse -> dbt.

Every step but the project's own transform is a shared task from pipelines.utils.
"""

from prefect import Parameter

from pipelines.utils.dataframe import cast_columns, clean_dataframe, read_csv
from pipelines.utils.datalake.tasks import write_parquet_partitions
from pipelines.utils.dbt import materialize
from pipelines.utils.pipeline_flow import PipelineFlow
from pipelines.utils.warehouse.tasks import load_to_warehouse

from .constants import (
    CODE_OWNERS,
    COLUMN_FORMATS,
    COLUMN_TYPES,
    DATASET_ID,
    FLOW_NAME,
    MODEL_TABLE_ID,
    NA_VALUES,
    ORG,
    SOURCE,
    TABLE_ID,
)
from .schedules import schedule
from .tasks import rain_per_hour

with PipelineFlow(
    FLOW_NAME,
    org=ORG,
    code_owners=CODE_OWNERS,
    schedule=schedule,
    # Its pod: a quarter of a core and 512 MiB guaranteed, killed above 1 GiB
    # (docs/cloud.md, "Sizing a flow").
    cpu="250m",
    memory="512Mi",
    memory_limit="1Gi",
) as flow:
    source = Parameter("source", default=SOURCE)
    dataset_id = Parameter("dataset_id", default=DATASET_ID)
    table_id = Parameter("table_id", default=TABLE_ID)

    raw = read_csv(source, na_values=NA_VALUES)
    readings = cast_columns(clean_dataframe(raw), COLUMN_TYPES, formats=COLUMN_FORMATS)
    hourly = rain_per_hour(readings)
    written = write_parquet_partitions(hourly, dataset_id, table_id, partition_column="hora")
    loaded = load_to_warehouse(written)
    # Daily totals per gauge, from the table just loaded (a child run on the server).
    daily = materialize(DATASET_ID, MODEL_TABLE_ID, upstream_tasks=[loaded])
