"""Pick the warehouse that settings describe."""

from __future__ import annotations

from pipelines.constants import DEFAULT_LOCK_TIMEOUT_S
from pipelines.settings import Settings
from pipelines.utils.context import current_settings, datalake_folder, environment, warehouse_file
from pipelines.utils.datalake.base import Datalake
from pipelines.utils.datalake.factory import get_datalake
from pipelines.utils.warehouse.base import Warehouse


def get_warehouse(settings: Settings | None = None) -> Warehouse:
    """The warehouse of the current environment.

    Args:
        settings: Settings to read; default: the run's (pipelines.utils.context).

    Returns:
        DuckDBWarehouse at PIPELINES_DATA_DIR/warehouse.duckdb in `local`, else
        BigQueryWarehouse on PIPELINES_BIGQUERY_PROJECT.

    Raises:
        SettingsError: dev/prod without PIPELINES_BIGQUERY_PROJECT.
    """
    settings = settings or current_settings()
    if environment(settings).warehouse == "duckdb":
        from pipelines.utils.warehouse.duckdb_warehouse import DuckDBWarehouse

        return DuckDBWarehouse(
            warehouse_file(settings),
            readable=datalake_folder(settings),
            lock_timeout=settings.number("PIPELINES_WAREHOUSE_LOCK_TIMEOUT_S"),
            memory_mb=settings.whole("PIPELINES_WAREHOUSE_MEMORY_MB"),
        )
    from pipelines.utils.warehouse.bigquery import BigQueryWarehouse

    return BigQueryWarehouse(settings)


def begin_table_write(datalake: Datalake, prefix: str) -> None:
    """Call before a write changes a table's datalake folder: settles what a run killed
    between its write and its load left, then keeps the folder as the warehouse has it until
    this write's load (which puts it back if it fails)."""
    if not datalake.keeps_unloaded_writes:
        return
    warehouse = get_warehouse()
    warehouse.recover(datalake)
    datalake.begin_write(prefix, getattr(warehouse, "lock_timeout", DEFAULT_LOCK_TIMEOUT_S))


def settle_ended_writes(settings: Settings) -> None:
    """After a run, however it ended: settle the writes it began and never loaded (a disk
    full between the write and the load), so that no later run of this process, a notebook's
    or a backfill's, commits them."""
    datalake = get_datalake(settings)
    if datalake.keeps_unloaded_writes and datalake.has_ended_writes():
        get_warehouse(settings).recover(datalake)
