"""Pick the warehouse that settings describe."""

from __future__ import annotations

from pipelines.constants import DEFAULT_LOCK_TIMEOUT_S
from pipelines.settings import Settings
from pipelines.utils.datalake.base import Datalake
from pipelines.utils.warehouse.base import Warehouse


def get_warehouse(settings: Settings | None = None) -> Warehouse:
    """The warehouse of the current environment.

    Args:
        settings: Settings to read; default: the run's (pipelines.utils.resources).

    Returns:
        DuckDBWarehouse at PIPELINES_DATA_DIR/warehouse.duckdb in `local`, else
        BigQueryWarehouse on PIPELINES_BIGQUERY_PROJECT.

    Raises:
        SettingsError: dev/prod without PIPELINES_BIGQUERY_PROJECT.
    """
    from pipelines.utils.resources import resources

    return resources(settings).warehouse()


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
    from pipelines.utils.resources import resources

    found = resources(settings)
    datalake = found.datalake()
    if datalake.keeps_unloaded_writes and datalake.has_ended_writes():
        found.warehouse().recover(datalake)
