"""Pick the warehouse that settings describe."""

from __future__ import annotations

from pipelines.settings import Settings, SettingsError, load_settings
from pipelines.utils.warehouse.base import Warehouse


def get_warehouse(settings: Settings | None = None) -> Warehouse:
    """The warehouse of the current environment.

    Args:
        settings: Settings to read; default: the environment and .env.

    Returns:
        DuckDBWarehouse at PIPELINES_DATA_DIR/warehouse.duckdb in `local`.

    Raises:
        SettingsError: dev/prod, whose BigQuery warehouse is not available yet.
    """
    settings = settings or load_settings()
    if settings.env == "local":
        from pipelines.utils.warehouse.duckdb_warehouse import DuckDBWarehouse

        return DuckDBWarehouse(settings.data_dir / "warehouse.duckdb")
    raise SettingsError(
        f"PIPELINES_ENV={settings.env}: the BigQuery warehouse is not implemented yet; "
        f"use PIPELINES_ENV=local to load tables into DuckDB."
    )
