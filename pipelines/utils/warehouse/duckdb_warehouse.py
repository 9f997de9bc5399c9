"""A warehouse in an embedded DuckDB file, for the local environment."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pandas as pd

from pipelines.utils.datalake.base import Datalake, table_prefix
from pipelines.utils.datalake.local import LocalDatalake
from pipelines.utils.warehouse.base import LoadedTable, Warehouse

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# One writer at a time per process: DuckDB allows a single read-write handle per file.
_LOCK = threading.Lock()


def _quoted(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a valid table or dataset name (letters, digits, _).")
    return f'"{name}"'


class DuckDBWarehouse(Warehouse):
    """Tables in one DuckDB file; a load replaces the table in one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def location(self) -> str:
        return str(self.path)

    def _connect(self, read_only: bool = False):
        import duckdb

        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(self.path), read_only=read_only)

    def load_from_datalake(self, datalake: Datalake, dataset_id: str, table_id: str) -> LoadedTable:
        if not isinstance(datalake, LocalDatalake):
            raise TypeError("DuckDBWarehouse loads from a LocalDatalake (the local environment).")
        schema, table = _quoted(dataset_id), _quoted(table_id)
        keys = [
            k
            for k in datalake.list_keys(table_prefix(dataset_id, table_id))
            if k.endswith(".parquet")
        ]
        if not keys:
            raise FileNotFoundError(
                f"No Parquet files under {datalake.uri(table_prefix(dataset_id, table_id))}; "
                f"write the table to the datalake first."
            )
        files = [datalake.uri(k) for k in keys]
        with _LOCK, self._connect() as connection:
            connection.execute("BEGIN TRANSACTION")
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            connection.execute(
                f"CREATE OR REPLACE TABLE {schema}.{table} AS "
                f"SELECT * FROM read_parquet(?, hive_partitioning = true, union_by_name = true)",
                [files],
            )
            connection.execute("COMMIT")
            (rows,) = connection.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()
        name = f"{dataset_id}.{table_id}"
        return LoadedTable(
            table=name,
            location=(
                f"table {name} in {self.path} ({rows} rows); query it with: "
                f'python manage.py query "SELECT * FROM {name} LIMIT 10"'
            ),
            rows=rows,
        )

    def query(self, sql: str) -> pd.DataFrame:
        if not self.path.exists():
            raise FileNotFoundError(f"No warehouse at {self.path} yet: run a pipeline first.")
        with _LOCK, self._connect(read_only=True) as connection:
            return connection.execute(sql).df()

    def row_count(self, dataset_id: str, table_id: str) -> int:
        frame = self.query(f"SELECT count(*) AS n FROM {_quoted(dataset_id)}.{_quoted(table_id)}")
        return int(frame["n"].iloc[0])
