"""Tasks that load datalake tables into the warehouse."""

from __future__ import annotations

import prefect
from prefect import task

from pipelines.utils.datalake import get_datalake
from pipelines.utils.datalake.base import DatalakeWrite
from pipelines.utils.warehouse.base import LoadedTable
from pipelines.utils.warehouse.factory import get_warehouse


@task
def load_to_warehouse(written: DatalakeWrite) -> LoadedTable:
    """Make the warehouse table mirror its datalake folder after a write.

    Args:
        written: The result of write_parquet_partitions.

    Returns:
        The loaded table, its location and row count.

    Raises:
        TypeError: `written` is not a DatalakeWrite.
        FileNotFoundError: The datalake holds no files for the table.
    """
    if not isinstance(written, DatalakeWrite):
        raise TypeError(f"written must be a DatalakeWrite, got {type(written).__name__}.")
    # After an append only the partition folders it wrote changed (file names are not folders).
    folders = [p for p in written.partitions if "=" in p]
    changed = folders if written.mode == "append" and folders else None
    loaded = get_warehouse().load_from_datalake(
        get_datalake(), written.dataset_id, written.table_id, written.columns or None, changed
    )
    prefect.context.get("logger").info("Loaded %s rows into %s", loaded.rows, loaded.table)
    return loaded
