"""The Warehouse interface."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import WarehouseError
from pipelines.utils.datalake.base import Datalake, table_prefix
from pipelines.utils.datalake.schema import read_history, uniform_files

if TYPE_CHECKING:  # pandas is heavy; dumps that never query should not load it
    import pandas as pd


@dataclass(frozen=True)
class LoadedTable:
    """A table after a load: its name, where it lives, its rows, and how to look at it."""

    table: str
    location: str
    rows: int


@dataclass(frozen=True)
class Preview:
    """The first rows of a query's result, fetched without the rest."""

    columns: list[str]
    rows: list[tuple]  # exact Python values (Decimal, aware datetime, None for NULL)
    more: bool  # the result holds rows past these


@dataclass(frozen=True)
class TableFiles:
    """A table's data files in the datalake, as a load receives them."""

    dataset_id: str
    table_id: str
    prefix: str  # <dataset_id>/<table_id>
    keys: list[str]  # the data files: all Parquet, or (a CSV dump) all CSV
    format: str  # "parquet" or "csv"
    columns: dict[str, str]  # CSV: declared DuckDB types; Parquet carries its own
    # The table's declared columns (schema history): every file is read with exactly these,
    # NULL where an older file lacks a column. None: a table written before histories.
    declared: dict[str, str] | None = None
    uniform: bool = False  # the history says every file holds exactly the declared columns


class Warehouse(ABC):
    """Tables named <dataset_id>.<table_id>, loaded from the datalake's Parquet files."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the warehouse is, for humans."""

    @property
    @abstractmethod
    def reads_from(self) -> type[Datalake]:
        """The kind of datalake this warehouse loads (the same environment's)."""

    def load_from_datalake(
        self,
        datalake: Datalake,
        dataset_id: str,
        table_id: str,
        columns: dict[str, str] | None = None,
        partitions: list[str] | None = None,
    ) -> LoadedTable:
        """Make the table hold exactly the rows of its datalake folder.

        Args:
            datalake: Where the files are.
            dataset_id: Dataset (schema).
            table_id: Table.
            columns: Declared column types (DuckDB names) for CSV files; Parquet carries its
                own.
            partitions: The partition folders a write replaced, when only they changed (an
                append); a warehouse may then replace just those. None: the whole folder.
        """
        if not isinstance(datalake, self.reads_from):
            raise WarehouseError(
                f"{type(self).__name__} loads from a {self.reads_from.__name__}, not a "
                f"{type(datalake).__name__}: take both from the same settings "
                "(get_datalake() and get_warehouse(), or pipelines.utils.resources)."
            )
        prefix = table_prefix(dataset_id, table_id)
        keys = datalake.list_keys(prefix)
        found = [k for k in keys if k.endswith(".parquet")]
        kind = "parquet" if found else "csv"
        found = found or [k for k in keys if k.endswith(".csv")]
        if not found:
            raise FileNotFoundError(
                f"No Parquet or CSV files under {datalake.uri(prefix)}; write the table to the "
                "datalake first."
            )
        history = read_history(datalake, prefix)
        declared = {n: k for n, k in history[-1]["columns"]} if history else None
        files = TableFiles(
            dataset_id, table_id, prefix, found, kind, dict(columns or {}), declared,
            uniform=uniform_files(history),
        )  # fmt: skip
        return self._load(datalake, files, partitions)

    @abstractmethod
    def _load(
        self, datalake: Datalake, files: TableFiles, partitions: list[str] | None
    ) -> LoadedTable:
        """Load the files found by load_from_datalake (names checked, files present)."""

    def recover(self, datalake: Datalake) -> None:  # noqa: B027 (optional)
        """Settle the datalake writes of runs that ended before their load (see
        Datalake.begin_write); a no-op where the datalake keeps no old folders."""

    def check_select(self, sql: str) -> None:  # noqa: B027 (optional: a no-op locally)
        """Raise unless the engine itself reads `sql` as a SELECT (manage.py query runs only
        those). Locally DuckDB's parser already decided (readonly.check_read_only).

        Raises:
            WarehouseError: The statement would not only read.
        """

    @abstractmethod
    def query(self, sql: str) -> pd.DataFrame:
        """Run a read-only query."""

    @abstractmethod
    def rows(self, sql: str) -> list[tuple]:
        """Run a read-only query; values as exact Python objects (Decimal, aware datetime)."""

    @abstractmethod
    def preview(self, sql: str, limit: int) -> Preview:
        """Run a read-only query and fetch at most `limit` rows of it (and whether more exist):
        a preview of a huge result reads, and on BigQuery downloads, no more than that."""

    @abstractmethod
    def estimate_csv_bytes(self, sql: str) -> int:
        """Estimated size of the query's result as CSV, without exporting it."""

    @abstractmethod
    def export_csv(self, sql: str, path: Path) -> int:
        """Write the query's result as CSV (with a header) to path; returns the row count."""

    @abstractmethod
    def row_count(self, dataset_id: str, table_id: str) -> int:
        """Rows in a table."""

    @abstractmethod
    def record_builds(self, tables: Iterable[str], when: dt.datetime) -> None:
        """Note that dbt built these tables (models) at `when`, for `load_times`."""

    @abstractmethod
    def load_times(self, tables: Iterable[str]) -> dict[str, dt.datetime]:
        """When each table ('<dataset_id>.<table_id>') last got new data, in UTC, in a few
        requests however many tables are asked; tables never loaded are left out."""

    @abstractmethod
    def publish(self, dataset_id: str, table_id: str) -> str:
        """Copy a table, whole, to the open-data place (the public project); returns where
        it went. A copy, not a view: the public table changes only when published again."""
