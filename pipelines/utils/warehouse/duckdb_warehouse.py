"""A warehouse in an embedded DuckDB file, for the local environment."""

from __future__ import annotations

import csv
import datetime as dt
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.constants import DEFAULT_LOCK_TIMEOUT_S, DUCKDB_CONFIG, WAREHOUSE_BLOCK_SIZE
from pipelines.errors import WarehouseError
from pipelines.utils.datalake.base import (
    PARTITION_KEYS,
    SUFFIXED_KEYS,
    Datalake,
    check_table_name,
)
from pipelines.utils.datalake.local import LocalDatalake
from pipelines.utils.datalake.schema import select_list
from pipelines.utils.naming import staging_dataset
from pipelines.utils.warehouse.base import LoadedTable, Preview, TableFiles, Warehouse

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

# One writer at a time per process: DuckDB allows a single read-write handle per file.
_LOCK = threading.Lock()
# DuckDB's words when another process holds the file.
_HELD = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")
# Which write of the datalake each table holds (see Datalake.begin_write).
_LOADS = '"_pipelines"."loads"'
# When each table was last loaded (the freshness checks read it).
_LOAD_TIMES = '"_pipelines"."load_times"'
# DuckDB's words for a CSV line longer than its max_line_size (a quoted value cut by it reads
# as an unterminated quote).
_LONG_LINE = re.compile(r"CSV Error.*(unterminated quote|[Mm]aximum line size)", re.S)
# Files x columns one load statement reads. Read by position a footer costs little once read
# (400 columns: 256 files a statement); matched by name DuckDB keeps about 1.75 KB per column
# of each file till the statement ends (400 columns x 400 files: 280 MB), so 50 at a time.
_AT_ONCE_BY_POSITION = 100_000
_AT_ONCE_BY_NAME = 20_000


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

    def __init__(
        self,
        path: Path,
        readable: Path | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
        memory_mb: int = 100,
    ) -> None:
        """
        Args:
            path: The DuckDB file.
            readable: The one folder a query may read files from (the local datalake, which
                the staging views read); queries reach nothing else on the host.
            lock_timeout: Seconds to wait for another process (a notebook, another run) to
                release the file.
            memory_mb: The memory cap of each connection (loads stream; a cap keeps a
                pipeline's memory flat on big tables).
        """
        self.path = Path(path)
        self.readable = Path(readable) if readable is not None else None
        self.lock_timeout = lock_timeout
        self.memory_mb = memory_mb

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def reads_from(self) -> type[Datalake]:
        return LocalDatalake  # files on this machine, under `readable`

    def _connect(self, read_only: bool = False, sandboxed: bool = False):
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # No extension is ever downloaded or loaded behind a statement's back.
        config: dict[str, str | bool | int | float | list[str]] = {
            **DUCKDB_CONFIG,
            "default_block_size": WAREHOUSE_BLOCK_SIZE,  # a file made now; see the constant
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
        }
        connection = self._open(read_only, config)
        # Loads stream from Parquet; a cap keeps a pipeline's memory flat on big tables.
        connection.execute(
            f"SET memory_limit = '{int(self.memory_mb)}MB'; SET preserve_insertion_order = false"
        )
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

    def _open(self, read_only: bool, config: dict):
        """Connect, waiting up to lock_timeout while another process holds the file."""
        import duckdb

        deadline = time.monotonic() + self.lock_timeout
        told = False
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only, config=config)
            except duckdb.IOException as error:
                held = _HELD.search(str(error))
                if held is None:
                    raise
                holder = _describe(int(held["pid"]), held["program"])
                if time.monotonic() >= deadline:
                    raise WarehouseError(
                        f"The warehouse {self.path} is held by {holder}; waited "
                        f"{self.lock_timeout:g} s. Close that process's connection (a notebook?) "
                        "or raise PIPELINES_WAREHOUSE_LOCK_TIMEOUT_S."
                    ) from None
                if not told:
                    _logger().info(
                        "Waiting up to %g s for %s to release %s",
                        self.lock_timeout,
                        holder,
                        self.path,
                    )
                    told = True
                time.sleep(0.2)

    def recover(self, datalake: Datalake) -> None:
        """Settle the writes of runs that ended before their load finished: a table whose
        load committed keeps the new files; one whose did not gets its old files back."""
        pending = datalake.pending_writes()
        if not pending or not self.path.exists():
            for prefix in pending:
                datalake.settle(prefix, loaded=True)  # no table to disagree with
            return
        with _LOCK, self._connect(read_only=True) as connection:
            tables = {
                f"{schema}/{table}"
                for schema, table in connection.execute(
                    "SELECT schema_name, table_name FROM duckdb_tables()"
                ).fetchall()
            }
            loaded = set()
            if "_pipelines/loads" in tables:
                rows = connection.execute(f"SELECT write_id FROM {_LOADS}").fetchall()
                loaded = {write_id for (write_id,) in rows}
        for prefix, write_id in pending.items():
            keep = write_id in loaded or prefix not in tables
            _logger().warning(
                "A run ended between writing %s and loading it; %s",
                prefix,
                "it had loaded: keeping its files"
                if keep
                else "putting back the files the warehouse holds",
            )
            datalake.settle(prefix, loaded=keep)

    def _shape(self, datalake: Datalake, files: TableFiles) -> tuple[int, int, str]:
        """What met the memory cap: the warehouse file's block size (older files have
        DuckDB's 256 KB), the table's width (declared, or its first file's) and, for a
        narrower Parquet table, its biggest column chunk (which column holds the huge value)."""
        biggest = ""
        with _LOCK, self._connect(read_only=True) as connection:
            (block,) = connection.execute(
                "SELECT block_size FROM pragma_database_size()"
            ).fetchone()
            width = len(files.declared or files.columns or {})
            if files.format == "parquet":
                paths = [datalake.uri(key) for key in files.keys]
                reader = "read_parquet(?, hive_partitioning = false)"
                width = width or _width(connection, reader, paths[0])
                if width < 100:  # the footers of a wide table's files cost memory themselves
                    found = connection.execute(
                        "SELECT path_in_schema, row_group_num_rows, total_uncompressed_size FROM "
                        f"parquet_metadata({_listed(paths)}) "
                        "ORDER BY total_uncompressed_size DESC LIMIT 1"
                    ).fetchone()
                    if found and found[2] >= 1 << 20:
                        column, rows, size = found
                        biggest = (
                            f": column {column!r} holds {size / (1 << 20):,.1f} MB in a row group "
                            f"of {rows} row(s)"
                        )
        return int(block), width, biggest

    def _load(
        self, datalake: Datalake, files: TableFiles, partitions: list[str] | None
    ) -> LoadedTable:
        self.recover(datalake)
        write_id = datalake.write_id(files.prefix)
        try:
            try:
                loaded = self._replace(datalake, files, write_id)
            except Exception as error:
                if files.format != "csv" or not _LONG_LINE.search(str(error)):
                    raise
                # A line past DuckDB's 2 MB (a value of megabytes): read again with room for
                # the longest file's whole length, only then (a buffer that big per file).
                loaded = self._replace(datalake, files, write_id, long_lines=True)
        except BaseException as error:
            too_big = None
            if type(error).__name__ == "OutOfMemoryException":
                try:  # while the new files are still in place
                    shape = self._shape(datalake, files)
                except Exception as failed:  # never in the way of settling the folder
                    shape = (0, 0, f" (its shape could not be read: {type(failed).__name__})")
                too_big = self._too_big(files, error, *shape)
            # The table and its view are as they were: so is the datalake folder.
            datalake.settle(files.prefix, loaded=False)
            if too_big is not None:
                raise too_big from None
            raise
        datalake.settle(files.prefix, loaded=True)
        return loaded

    def _too_big(
        self, files: TableFiles, error: BaseException, block: int, width: int, biggest: str = ""
    ) -> WarehouseError:
        """DuckDB's out-of-memory error in the project's words: the cap, the setting that
        raises it, and the shape that met it (a wide table, or a single huge value)."""
        # DuckDB writes a table two blocks per column at a time, whatever its rows.
        needed = 32 + (width * 2 * block >> 20)
        wide = width >= 100 and needed > self.memory_mb
        shape = (
            f"a table of {width} columns needs about {needed} MB while it is written"
            if wide
            else f"a single value of tens of MB does that{biggest}"
        )
        suggested = needed if wide else self.memory_mb * 8
        older = ""
        if wide and block > WAREHOUSE_BLOCK_SIZE:
            older = (
                f" This warehouse file was made with {block >> 10} KB blocks; a new file takes "
                f"{WAREHOUSE_BLOCK_SIZE >> 10} KB, {block // WAREHOUSE_BLOCK_SIZE} times less "
                f"memory per column: move {self.path} away and each flow's next run loads its "
                "table into a new one."
            )
        return WarehouseError(
            f"loading {files.dataset_id}.{files.table_id} ({len(files.keys)} file(s)) into the "
            f"local warehouse ran past its memory cap of {self.memory_mb} MB "
            f"({str(error).splitlines()[0]}): {shape}. Raise the setting "
            f"PIPELINES_WAREHOUSE_MEMORY_MB (e.g. to {suggested}); the table is as it was." + older
        )

    def _replace(
        self,
        datalake: Datalake,
        files: TableFiles,
        write_id: str | None,
        long_lines: bool = False,
    ) -> LoadedTable:
        # One transaction rebuilds the whole table: local tables are small, so `partitions`
        # is not needed to keep a load cheap.
        assert isinstance(datalake, LocalDatalake)  # load_from_datalake checked it
        dataset_id, table_id, keys = files.dataset_id, files.table_id, files.keys
        schema, table = _quoted(dataset_id, "dataset_id"), _quoted(table_id, "table_id")
        # Partition keys have one type whatever folders exist ('mes=02' is no text, a
        # __HIVE_DEFAULT_PARTITION__ folder makes no column text): BigQuery's INT64, DATE.
        hive = _hive_types(keys)
        # Matching columns by name makes DuckDB hold every file's footer at once (5 GB for
        # 7,300 files of 400 columns): only when the history says the files' columns differ.
        union = "false" if files.uniform else "true"
        reader = f"read_parquet(?, hive_partitioning = true, union_by_name = {union}{hive})"
        paths = [datalake.uri(k) for k in keys]
        if files.format == "csv":
            longest = max(Path(path).stat().st_size for path in paths) if long_lines else None
            reader = _csv_reader(paths, files.columns, hive, longest)
        # <dataset>_staging.<table> reads the files themselves, as BigQuery's external table
        # does: dbt models select from it, so a model may share its table's name.
        staging = _quoted(staging_dataset(dataset_id), "dataset_id")
        glob = datalake.uri(files.prefix) + "/**/*" + Path(keys[0]).suffix
        with _LOCK, self._connect() as connection:
            # Each reading thread holds a buffer per column of the file it reads, and each
            # file's own: at the memory cap, 2 threads over 365 day files of 15 text columns
            # ran out (CSV and Parquet alike); one does not, and local tables are small.
            connection.execute("SET threads = 1")
            connection.execute("BEGIN TRANSACTION")
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            # The files as literals, not a parameter: a list parameter makes DuckDB's Python
            # module import pandas and pyarrow (80 MB more in a dump's process).
            declared, seen = _fill(connection, f"{schema}.{table}", reader, paths, files)
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {staging}")
            # CSV files are read as written (by position) only when their headers were
            # checked: the view names the files checked, not whatever a glob finds later.
            viewed = (
                _over(reader, paths)
                if files.format == "csv"
                else reader.replace("?", _literal(glob), 1)
            )
            connection.execute(
                f"CREATE OR REPLACE VIEW {staging}.{table} AS SELECT "
                f"{_declared_select(declared, seen)} FROM {viewed}"
            )
            _note_loads(connection, [f"{dataset_id}.{table_id}"], dt.datetime.now(dt.UTC))
            if write_id is not None:  # in the same transaction: a kill after it is settled
                connection.execute(
                    f"CREATE TABLE IF NOT EXISTS {_LOADS} (prefix VARCHAR PRIMARY KEY, "
                    "write_id VARCHAR)"
                )
                connection.execute(
                    f"INSERT OR REPLACE INTO {_LOADS} VALUES "
                    f"({_literal(files.prefix)}, {_literal(write_id)})"
                )
            connection.execute("COMMIT")
            (rows,) = connection.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()
        name = f"{dataset_id}.{table_id}"
        return LoadedTable(
            table=name,
            location=(
                f"table {name} in {self.path} ({rows} rows); query it with: "
                + query_command(self.path.parent, f"SELECT * FROM {name} LIMIT 10")
            ),
            rows=rows,
        )

    @property
    def public_path(self) -> Path:
        """The open-data warehouse of a local run: public.duckdb beside this one."""
        return self.path.parent / "public.duckdb"

    def publish(self, dataset_id: str, table_id: str) -> str:
        schema, table = _quoted(dataset_id, "dataset_id"), _quoted(table_id, "table_id")
        with _LOCK, self._connect() as connection:
            connection.execute(f"ATTACH {_literal(str(self.public_path))} AS public")
            try:
                connection.execute("BEGIN TRANSACTION")
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS public.{schema}")
                connection.execute(
                    f"CREATE OR REPLACE TABLE public.{schema}.{table} AS "
                    f"SELECT * FROM {schema}.{table}"
                )
                connection.execute("COMMIT")
            finally:
                connection.execute("DETACH public")
        return f"table {dataset_id}.{table_id} in {self.public_path}"

    @contextmanager
    def _user_query(self) -> Iterator:
        """The sandboxed read-only connection a user's SQL runs on, after a killed run's
        write is settled (so the table and its folder agree)."""
        if not self.path.exists():
            raise FileNotFoundError(f"No warehouse at {self.path} yet: run a pipeline first.")
        if self.readable is not None:
            self.recover(LocalDatalake(self.readable))
        with _LOCK, self._connect(read_only=True, sandboxed=True) as connection:
            yield connection

    def query(self, sql: str) -> pd.DataFrame:
        with self._user_query() as connection:
            return connection.execute(sql).df()

    def rows(self, sql: str) -> list[tuple]:
        with self._user_query() as connection:
            return connection.execute(sql).fetchall()

    def preview(self, sql: str, limit: int) -> Preview:
        with self._user_query() as connection:
            cursor = connection.execute(sql)  # fetchmany streams: the rest is never read
            columns = [column[0] for column in cursor.description or []]
            rows = cursor.fetchmany(limit + 1)
        return Preview(columns, rows[:limit], len(rows) > limit)

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

    def record_builds(self, tables: Iterable[str], when: dt.datetime) -> None:
        names = sorted(set(tables))
        if not names:
            return
        with _LOCK, self._connect() as connection:
            connection.execute("BEGIN TRANSACTION")
            _note_loads(connection, names, when)
            connection.execute("COMMIT")

    def load_times(self, tables: Iterable[str]) -> dict[str, dt.datetime]:
        wanted = sorted(set(tables))
        if not wanted or not self.path.is_file():  # nothing loaded yet: do not make the file
            return {}
        with _LOCK, self._connect(read_only=True) as connection:
            known = connection.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = '_pipelines' AND table_name = 'load_times'"
            ).fetchone()
            if not known or not known[0]:
                return {}
            rows = connection.execute(
                f"SELECT table_name, loaded_at FROM {_LOAD_TIMES} "
                "WHERE list_contains(?, table_name)",
                [wanted],
            ).fetchall()
        return {name: when.astimezone(dt.UTC) for name, when in rows}

    def row_count(self, dataset_id: str, table_id: str) -> int:
        frame = self.query(f"SELECT count(*) AS n FROM {_quoted(dataset_id)}.{_quoted(table_id)}")
        return int(frame["n"].iloc[0])


def _note_loads(connection: Any, tables: list[str], when: dt.datetime) -> None:
    """Record when each table got new data (inside the caller's transaction)."""
    connection.execute('CREATE SCHEMA IF NOT EXISTS "_pipelines"')
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS {_LOAD_TIMES} (table_name VARCHAR PRIMARY KEY, "
        "loaded_at TIMESTAMPTZ)"
    )
    # Literals, not parameters: a datetime parameter makes DuckDB's module import pandas.
    stamp = _literal(when.astimezone(dt.UTC).isoformat())
    for name in tables:
        connection.execute(
            f"INSERT OR REPLACE INTO {_LOAD_TIMES} VALUES ({_literal(name)}, {stamp}::TIMESTAMPTZ)"
        )


def _csv_header(paths: list[str]) -> list[str] | None:
    """The header every file shares, None when they differ (or one is empty)."""
    shared = None
    for path in paths:
        with open(path, newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
        if header is None or (shared is not None and header != shared):
            return None
        shared = header
    return shared


def _csv_reader(
    paths: list[str], columns: dict[str, str], hive: str, longest: int | None = None
) -> str:
    """read_csv over a table's files (a ? for the paths) with the dump's types, never
    guessed (digits, offsets). When every file has one header naming only known columns,
    they are read as written, without sniffing: sniffing 3,650 day files and matching them
    by name took 37 s; reading them as written, 2 s. `longest`, the size of the largest
    file, makes room for a line that long (DuckDB's own limit is 2 MB)."""
    # allow_quoted_nulls off: "" is an empty string, an empty field is NULL.
    common = "header = true, hive_partitioning = true, allow_quoted_nulls = false"
    if longest is not None:  # no line is longer than its file
        size = max(longest + 1, 2 << 20)
        common += f", max_line_size = {size}, buffer_size = {size}"
    header = _csv_header(paths) if columns else None
    if header is not None and len(set(header)) == len(header) and set(header) <= set(columns):
        typed = ", ".join(f"{_literal(name)}: {_literal(columns[name])}" for name in header)
        return (
            f"read_csv(?, {common}, union_by_name = false, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {{{typed}}}{hive})"
        )
    declared = ""
    if columns:
        pairs = ", ".join(f"{_literal(name)}: {_literal(kind)}" for name, kind in columns.items())
        declared = f", types = {{{pairs}}}"
    return f"read_csv(?, {common}, union_by_name = true{declared}{hive})"


def _hive_types(keys: list[str]) -> str:
    """The read option typing a table's partition keys (either set of names, at whatever
    grain its folders have), if it has any."""
    types = ("BIGINT", "BIGINT", "DATE")
    for names in (PARTITION_KEYS, SUFFIXED_KEYS):
        present = [n for n in names if any(f"/{n}=" in f"/{key}" for key in keys)]
        if present:
            pairs = ", ".join(f"'{n}': {types[names.index(n)]}" for n in present)
            return f", hive_types = {{{pairs}}}"
    return ""


def query_command(data_dir: Path, sql: str) -> str:
    """The command that queries this warehouse, to paste into any shell: the interpreter that
    has the project's packages (the venv's, active or not), and the data folder when it is
    not the checkout's default one."""
    import shlex
    import sys

    from pipelines.settings import REPO_ROOT

    python = Path(sys.executable)
    in_checkout = python.is_relative_to(REPO_ROOT) and Path.cwd() == REPO_ROOT
    command = f"{python.relative_to(REPO_ROOT) if in_checkout else python} "
    command += "manage.py" if Path.cwd() == REPO_ROOT else shlex.quote(str(REPO_ROOT / "manage.py"))
    if data_dir.resolve() != (REPO_ROOT / "data").resolve():
        command = f"PIPELINES_DATA_DIR={shlex.quote(str(data_dir))} {command}"
    return f"{command} query {shlex.quote(sql)}"


def _describe(pid: int, program: str) -> str:
    """'PID 7753 (python -m jupyter)': the holder's program, never its arguments (a command
    line may carry a token); for an interpreter, the script or module it runs."""
    try:
        words = [
            w.decode(errors="replace")
            for w in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        ]
    except OSError:
        words = []
    words = [w for w in words if w] or [program]
    name = [Path(words[0]).name]
    if re.match(r"^(python|pypy)[0-9.]*$", name[0]) and len(words) > 1:
        if words[1] == "-m" and len(words) > 2:
            name += ["-m", words[2]]
        elif not words[1].startswith("-"):
            name.append(Path(words[1]).name)
    return f"PID {pid} ({' '.join(' '.join(name).split())[:80]})"


def _logger():
    import logging

    import prefect

    return prefect.context.get("logger") or logging.getLogger("pipelines.warehouse")


def _fill(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    reader: str,
    paths: list[str],
    files: TableFiles,
) -> tuple[dict[str, str] | None, list[str]]:
    """Create the table `name` from the files a group at a time; returns the columns it was
    read with (None: as the files have them) and every column the files hold.

    A statement reading many files holds each one's footer till it ends (400 columns x 3,650
    files: 413 MB with a 100 MB cap; 193 MB read 256 at a time). Each group is read with the
    table's columns: declared, or the union of the groups' own when they agree on each
    column's type (else all are read at once, matched by name, as DuckDB unites them).
    """
    declared = files.declared
    width = len(declared or {}) or _width(connection, reader, paths[0])
    budget = _AT_ONCE_BY_POSITION if files.uniform else _AT_ONCE_BY_NAME
    step = max(8, min(4096, budget // max(1, width)))
    if not (files.uniform or declared) and len(paths) > step:
        declared = _agreed_columns(connection, reader, paths, step)
        step = step if declared else len(paths)
    seen: dict[str, None] = {}  # every group's columns, in order
    for start in range(0, len(paths), step):
        from_files = _over(reader, paths[start : start + step])
        present = _present(connection, from_files) if declared else []
        seen.update(dict.fromkeys(present))
        into = f"CREATE OR REPLACE TABLE {name} AS" if start == 0 else f"INSERT INTO {name} BY NAME"
        connection.execute(f"{into} SELECT {_declared_select(declared, present)} FROM {from_files}")
    return declared, list(seen)


def _listed(paths: list[str]) -> str:
    """Files as a list of SQL literals."""
    return "[" + ", ".join(_literal(path) for path in paths) + "]"


def _over(reader: str, paths: list[str]) -> str:
    """The reader over these files, listed as literals."""
    return reader.replace("?", _listed(paths), 1)


def _width(connection: duckdb.DuckDBPyConnection, reader: str, path: str) -> int:
    """The number of columns a reader gives for one file."""
    return len(connection.execute(f"DESCRIBE SELECT * FROM {_over(reader, [path])}").fetchall())


def _agreed_columns(
    connection: duckdb.DuckDBPyConnection, reader: str, paths: list[str], step: int
) -> dict[str, str] | None:
    """The union of the columns of each group of files, in order of first appearance, when
    the groups agree on every column's type; None when they do not."""
    union: dict[str, str] = {}
    for start in range(0, len(paths), step):
        described = connection.execute(
            f"DESCRIBE SELECT * FROM {_over(reader, paths[start : start + step])}"
        ).fetchall()
        for name, kind, *_ in described:
            if union.setdefault(name, kind) != kind:
                return None
    return union


def _present(connection: duckdb.DuckDBPyConnection, reader: str) -> list[str]:
    """The columns a reader gives."""
    return [row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]


def _declared_select(declared: dict[str, str] | None, present: list[str]) -> str:
    """The SELECT list that reads files with the table's declared columns and types (NULL
    where the files lack one), then the partition keys; * without declared columns."""
    if not declared:
        return "*"
    extras = [f'"{name}"' for name in present if name not in declared]
    return ", ".join([select_list(declared, present), *extras])
