"""The dump_to_gcs task."""

from __future__ import annotations

import prefect
from prefect import task

from pipelines.utils.context import current_settings
from pipelines.utils.datalake import get_datalake
from pipelines.utils.datalake.base import table_prefix
from pipelines.utils.dump_to_gcs.export import Export, export_zipped_csv
from pipelines.utils.retries import with_retries
from pipelines.utils.warehouse import get_warehouse


@task
def dump_to_gcs(
    dataset_id: str,
    table_id: str,
    query: str | None = None,
    max_mb: float | None = None,
) -> Export:
    """Export a warehouse table (or a query) as a zipped CSV into the datalake's bucket.

    Args:
        dataset_id: Dataset of the table; also names the export's folder.
        table_id: Table to export; also names the file.
        query: A SELECT to export instead of the whole table.
        max_mb: Refuse when the CSV would be larger (default PIPELINES_DUMP_TO_GCS_MAX_MB,
            else 1024 MB); checked before exporting.

    Returns:
        Where the zip is, its rows and sizes.

    Raises:
        TableNameError: dataset_id or table_id breaks the naming rule.
        ExportError: An export above the cap.
    """
    return export_table(dataset_id, table_id, query, max_mb)


def export_table(
    dataset_id: str, table_id: str, query: str | None = None, max_mb: float | None = None
) -> Export:
    """What the dump_to_gcs task does, for other tasks (materialize's export_csv)."""
    table_prefix(dataset_id, table_id)  # the one naming rule, before any work
    logger = prefect.context.get("logger")
    settings = current_settings()
    cap = max_mb or settings.number("PIPELINES_DUMP_TO_GCS_MAX_MB")
    sql = query or f'SELECT * FROM "{dataset_id}"."{table_id}"'
    warehouse, datalake = get_warehouse(settings), get_datalake(settings)
    # Safe to repeat: the export replaces its key whole, so a retry never leaves two files.
    export = with_retries(
        lambda: export_zipped_csv(warehouse, datalake, sql, dataset_id, table_id, cap), logger
    )
    logger.info(
        "Exported %s rows (%s bytes of CSV, %s zipped) to %s",
        export.rows, export.csv_bytes, export.zip_bytes, export.location,
    )  # fmt: skip
    return export
