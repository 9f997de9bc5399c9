"""The warehouse: one small interface, DuckDB locally, and the task that loads tables."""

from pipelines.utils.warehouse.base import LoadedTable, Warehouse
from pipelines.utils.warehouse.factory import get_warehouse

__all__ = ["LoadedTable", "Warehouse", "get_warehouse"]
