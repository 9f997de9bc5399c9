"""Pick the warehouse that settings describe."""

from __future__ import annotations

from pipelines.settings import Settings, load_settings
from pipelines.utils.warehouse.base import Warehouse


def get_warehouse(settings: Settings | None = None) -> Warehouse:
    """The warehouse of the current environment.

    Args:
        settings: Settings to read; default: the environment and .env.

    Returns:
        DuckDBWarehouse at PIPELINES_DATA_DIR/warehouse.duckdb in `local`, else
        BigQueryWarehouse on PIPELINES_BIGQUERY_PROJECT.

    Raises:
        SettingsError: dev/prod without PIPELINES_BIGQUERY_PROJECT.
    """
    settings = settings or load_settings()
    if settings.env == "local":
        from pipelines.utils.warehouse.duckdb_warehouse import DuckDBWarehouse

        return DuckDBWarehouse(
            settings.data_dir / "warehouse.duckdb", readable=settings.data_dir / "datalake"
        )
    from pipelines.utils.warehouse.bigquery import BigQueryWarehouse

    return BigQueryWarehouse(settings)
