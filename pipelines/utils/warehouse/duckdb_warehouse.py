"""A warehouse in an embedded DuckDB file, for the local environment."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.utils.datalake.base import Datalake, check_table_name
from pipelines.utils.datalake.local import LocalDatalake
from pipelines.utils.warehouse.base import LoadedTable, TableFiles, Warehouse

if TYPE_CHECKING:
    import pandas as pd

# One writer at a time per process: DuckDB allows a single read-write handle per file.
_LOCK = threading.Lock()


def writer_lock() -> threading.Lock:
    """The lock our DuckDB connections take: held, none of them is open (dbt may write)."""
    return _LOCK


def _literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _quoted(name: str, label: str = "name") -> str:
    return f'"{check_table_name(label, name)}"'


class DuckDBWarehouse(Warehouse):
    """Tables in one DuckDB file; a load replaces the table in one transaction."""

    def __init__(self, path: Path, readable: Path | None = None) -> None:
        """
        Args:
            path: The DuckDB file.
            readable: The one folder a query may read files from (the local datalake, which
                the staging views read); queries reach nothing else on the host.
        """
        self.path = Path(path)
        self.readable = Path(readable) if readable is not None else None

    @property
    def location(self) -> str:
        return str(self.path)

    def _connect(self, read_only: bool = False, sandboxed: bool = False):
        import duckdb

        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # No extension is ever downloaded or loaded behind a statement's back.
        config: dict[str, str | bool | int | float | list[str]] = {
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
        }
        connection = duckdb.connect(str(self.path), read_only=read_only, config=config)
        # Loads stream from Parquet; a cap keeps a pipeline's memory flat on big tables.
        connection.execute("SET memory_limit = '100MB'; SET preserve_insertion_order = false")
        if sandboxed:
            # What a user's query may reach: the warehouse file and the datalake folder (the
            # staging views read it); no other file, no network, no extension; locked so the
            # query cannot SET it back.
            allowed = [f"{self.readable.resolve()}/"] if self.readable is not None else []
            listed = ", ".join(_literal(folder) for folder in allowed)
            connection.execute(f"SET allowed_directories = [{listed}]")
            connection.execute("SET enable_external_access = false")
            connection.execute("SET lock_configuration = true")
        return connection

    def _load(
        self, datalake: Datalake, files: TableFiles, partitions: list[str] | None
    ) -> LoadedTable:
        # One transaction rebuilds the whole table: local tables are small, so `partitions`
        # is not needed to keep a load cheap.
        if not isinstance(datalake, LocalDatalake):
            raise TypeError("DuckDBWarehouse loads from a LocalDatalake (the local environment).")
        dataset_id, table_id, keys = files.dataset_id, files.table_id, files.keys
        schema, table = _quoted(dataset_id, "dataset_id"), _quoted(table_id, "table_id")
        reader = "read_parquet(?, hive_partitioning = true, union_by_name = true)"
        if files.format == "csv":
            declared = ""
            if files.columns:  # CSV holds text: the dump's types, not guesses (digits, offsets)
                pairs = ", ".join(
                    f"{_literal(name)}: {_literal(kind)}" for name, kind in files.columns.items()
                )
                declared = f", types = {{{pairs}}}"
            # allow_quoted_nulls off: "" is an empty string, an empty field is NULL.
            reader = (
                "read_csv(?, header = true, hive_partitioning = true, union_by_name = true, "
                f"allow_quoted_nulls = false{declared})"
            )
        paths = [datalake.uri(k) for k in keys]
        # <dataset>_staging.<table> reads the files themselves, as BigQuery's external table
        # does: dbt models select from it, so a model may share its table's name.
        staging = _quoted(f"{dataset_id}_staging", "dataset_id")
        glob = datalake.uri(files.prefix) + "/**/*" + Path(keys[0]).suffix
        with _LOCK, self._connect() as connection:
            connection.execute("BEGIN TRANSACTION")
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            connection.execute(
                f"CREATE OR REPLACE TABLE {schema}.{table} AS SELECT * FROM {reader}",
                [paths],
            )
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {staging}")
            connection.execute(
                f"CREATE OR REPLACE VIEW {staging}.{table} AS SELECT * FROM "
                + reader.replace("?", _literal(glob), 1)
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
        with _LOCK, self._connect(read_only=True, sandboxed=True) as connection:
            return connection.execute(sql).df()

    def rows(self, sql: str) -> list[tuple]:
        if not self.path.exists():
            raise FileNotFoundError(f"No warehouse at {self.path} yet: run a pipeline first.")
        with _LOCK, self._connect(read_only=True, sandboxed=True) as connection:
            return connection.execute(sql).fetchall()

    def estimate_csv_bytes(self, sql: str) -> int:
        # rows x the average CSV width of a 1,000-row sample: cheap, and close for caps.
        with _LOCK, self._connect(read_only=True) as connection:
            (rows,) = connection.execute(f"SELECT count(*) FROM ({sql})").fetchone()
            if not rows:
                return 0
            sample = connection.execute(f"SELECT * FROM ({sql}) LIMIT 1000").fetchall()
        width = sum(len(",".join("" if v is None else str(v) for v in row)) + 1 for row in sample)
        return int(rows * width / max(len(sample), 1))

    def export_csv(self, sql: str, path: Path) -> int:
        with _LOCK, self._connect(read_only=True) as connection:
            connection.execute(f"COPY ({sql}) TO '{path}' (FORMAT CSV, HEADER)")
            (rows,) = connection.execute(f"SELECT count(*) FROM ({sql})").fetchone()
        return int(rows)

    def row_count(self, dataset_id: str, table_id: str) -> int:
        frame = self.query(f"SELECT count(*) AS n FROM {_quoted(dataset_id)}.{_quoted(table_id)}")
        return int(frame["n"].iloc[0])
