"""The dump_url flow factory: a file at a URL -> datalake (Parquet) -> warehouse."""

from __future__ import annotations

from prefect import Parameter

from pipelines.utils.datalake.tasks import write_parquet_file
from pipelines.utils.dbt.flows import materialize_after_dump
from pipelines.utils.dump_url.tasks import download, remove_download, to_parquet
from pipelines.utils.pipeline_flow.factory import flow_factory
from pipelines.utils.warehouse.tasks import load_to_warehouse


@flow_factory
def create_dump_url_flow() -> None:
    """Build a flow that loads a CSV or Excel file at a URL into the datalake and warehouse.

    Parameters of the flow: url, dataset_id, table_id, format ("auto"), separator (None: read
    from the file, and logged), encoding ("utf-8"), timeout_s (3600, the whole download),
    max_mb (None: PIPELINES_DOWNLOAD_MAX_MB), sheet (0: a name or a position), range (None:
    the whole sheet; "A2:I1000"), header_row (None: the first row), mode ("overwrite"),
    on_schema_change ("append_new_columns": what an appended file may change of the table's
    columns; "fail", "sync_all_columns"),
    materialize_after_dump (False), dbt_select (default: the model
    models/<dataset_id>/<table_id>.sql) and dbt_vars (None). Column names are snake_cased;
    every row and value is kept as text; rows read = rows written is checked when Parquet is
    written. A CSV streams from the download to one Parquet file, so memory stays bounded
    whatever the file's size.
    A Google Sheets link reads its own tab; sheet, range or header_row read the workbook, so
    a clock can name any tab. A Sheets or Drive link not shared publicly is read as the
    service account of GOOGLE_APPLICATION_CREDENTIALS.
    """
    url = Parameter("url")
    sheet = Parameter("sheet", default=0)
    cells = Parameter("range", default=None)
    header_row = Parameter("header_row", default=None)
    path = download(
        url,
        timeout_s=Parameter("timeout_s", default=3600),
        max_mb=Parameter("max_mb", default=None),
        sheet=sheet,
        range=cells,
        header_row=header_row,
    )
    converted = to_parquet(
        path,
        source=url,
        format=Parameter("format", default="auto"),
        separator=Parameter("separator", default=None),
        encoding=Parameter("encoding", default="utf-8"),
        sheet=sheet,
        range=cells,
        header_row=header_row,
    )
    remove_download(path, upstream_tasks=[converted])
    dataset_id, table_id = Parameter("dataset_id"), Parameter("table_id")
    written = write_parquet_file(
        converted["path"],
        converted["rows"],
        dataset_id,
        table_id,
        mode=Parameter("mode", default="overwrite"),
        on_schema_change=Parameter("on_schema_change", default="append_new_columns"),
    )
    remove_download(converted, upstream_tasks=[written])
    loaded = load_to_warehouse(written)
    materialize_after_dump(dataset_id, table_id, upstream=loaded)
