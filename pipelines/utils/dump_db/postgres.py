"""PostgreSQL dumps through DuckDB's postgres scanner: binary COPY in; Parquet out through
DuckDB's parallel writer (partition folders written directly), CSV through PartitionedWriter."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

from pipelines.constants import DUCKDB_CONFIG, TIMEZONE
from pipelines.errors import DumpError
from pipelines.utils.datalake.base import null_partition, partition_columns, partition_keys
from pipelines.utils.dump_db import drivers
from pipelines.utils.dump_db.connections import Connection
from pipelines.utils.dump_db.identifiers import check_distinct, quote, quote_ident, split_name
from pipelines.utils.dump_db.sources import (
    Request,
    Source,
    base_query,
    batch_rows,
    bound_test,
)
from pipelines.utils.dump_db.staged import MAX_OPEN_FILES, Staged


def _relation(table: str | None, query: str | None) -> str:
    if table:  # a table scan: parallel, with filters pushed down to PostgreSQL
        parts = split_name(table)
        schema, name = parts if len(parts) == 2 else ["public", parts[0]]
        return f"src.{quote_ident('postgres', schema)}.{quote_ident('postgres', name)}"
    sql = base_query("postgres", None, query).replace("$pg$", "")
    return f"postgres_query('src', $pg${sql}$pg$)"


def _attach(connection: Connection, memory_mb: int = 64):
    import duckdb

    db = duckdb.connect(config=DUCKDB_CONFIG)
    db.execute(f"LOAD '{drivers.postgres_extension()}'")
    # Two threads and a memory cap keep the footprint flat whatever the table size; a file
    # stays open per partition (DuckDB's default, 100, closed and reopened files: 1,159 files
    # for 365 days); the session zone makes a timestamptz's day the city's day.
    db.execute(
        f"SET threads = {_THREADS}; SET memory_limit = '{int(memory_mb)}MB'; "
        "SET preserve_insertion_order = false;"
        f"SET partitioned_write_flush_threshold = 50000; "
        f"SET partitioned_write_max_open_files = {MAX_OPEN_FILES}; SET TimeZone = '{TIMEZONE}'"
    )
    url = connection.url.replace("'", "''")  # ATTACH takes no parameters; never logged
    db.execute(f"ATTACH '{url}' AS src (TYPE postgres, READ_ONLY)")
    return db


# PostgreSQL types DuckDB would read with a loss, read as their exact text instead:
# numeric without precision (or wider than DuckDB's 38 digits) would become a double,
# timetz would lose its offset, interval its microseconds (and overflow past 2^31 ms).
_AS_TEXT = {"timetz", "interval", "_timetz", "_interval"}
_NUMERIC = {"numeric", "_numeric"}


def source_columns(connection: Connection, sql: str) -> list[tuple[str, str, int | None]]:
    """(name, PostgreSQL type name, numeric precision or None) of each column of sql,
    asked of PostgreSQL itself: DuckDB's view of the types is already the converted one."""
    psycopg = drivers.require("postgres", "psycopg")

    with psycopg.connect(connection.url, autocommit=True) as pg, pg.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({sql}) q LIMIT 0")  # noqa: S608 (sql is the dump's own)
        description = cursor.description or []
        oids = sorted({column.type_code for column in description})
        cursor.execute("SELECT oid, typname FROM pg_type WHERE oid = ANY(%s)", [oids])
        names: dict[int, str] = dict(cursor.fetchall())
    return [(c.name, names.get(c.type_code, "?"), c.precision) for c in description]


def table_columns(db, table: str) -> list[tuple[str, str, int | None]]:
    """source_columns of a table, read from PostgreSQL's catalog over DuckDB's attachment
    (no second connection and no client library for the common case)."""
    parts = split_name(table)
    schema, name = parts if len(parts) == 2 else ["public", parts[0]]
    regclass = f"{quote_ident('postgres', schema)}.{quote_ident('postgres', name)}"
    catalog = (
        "SELECT a.attname::text, t.typname::text, CASE WHEN t.typname IN ('numeric', "
        "'_numeric') AND a.atttypmod >= 4 THEN ((a.atttypmod - 4) >> 16) & 65535 END "
        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        f"WHERE a.attrelid = '{regclass.replace(chr(39), chr(39) * 2)}'::regclass "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
    ).replace("$pg$", "")
    exists = f"SELECT to_regclass('{regclass.replace(chr(39), chr(39) * 2)}') IS NOT NULL"
    (found,) = db.execute(f"SELECT * FROM postgres_query('src', $pg${exists}$pg$)").fetchone()
    if not found:
        raise DumpError(f"table {schema}.{name} does not exist (or this login cannot see it).")
    rows = db.execute(f"SELECT * FROM postgres_query('src', $pg${catalog}$pg$)").fetchall()
    return [(column, kind, precision) for column, kind, precision in rows]


def _describe(db, select: str) -> dict[str, str]:
    """Column names and DuckDB types of a SELECT."""
    return {row[0]: row[1] for row in db.execute(f"DESCRIBE {select}").fetchall()}


def _exact_select(
    db, connection: Connection, table: str | None, query: str | None, guard: bool = True
) -> tuple[str, dict[str, str] | None]:
    """A DuckDB SELECT of the source in which every value keeps its exact meaning, and its
    column types when they were needed to build it (with guard).

    Types DuckDB would convert with a loss are cast to text on the PostgreSQL side (then the
    scan is a postgres_query). With guard, 'infinity' dates and timestamps, which Parquet
    and CSV cannot hold, stop the dump with an error naming the column (the Parquet path
    checks the written files' statistics instead: cheaper than a test on every row).
    """
    sql = base_query("postgres", table, query)
    columns = table_columns(db, table) if table else source_columns(connection, sql)
    check_distinct([name for name, _, _ in columns])
    casts = [
        name
        for name, kind, precision in columns
        if kind in _AS_TEXT or (kind in _NUMERIC and (precision is None or precision > 38))
    ]
    if casts:
        select = ", ".join(
            f"{quote_ident('postgres', name)}::text AS {quote_ident('postgres', name)}"
            if name in casts
            else quote_ident("postgres", name)
            for name, _, _ in columns
        )
        inner = f"SELECT {select} FROM ({sql}) q".replace("$pg$", "")
        relation = f"postgres_query('src', $pg${inner}$pg$)"
    else:
        relation = _relation(table, query)
    if not guard:
        return f"SELECT * FROM {relation}", None
    types = _describe(db, f"SELECT * FROM {relation}")
    outer = []
    for name, kind in types.items():
        column = quote_ident("postgres", name)
        # Scalar dates and timestamps only; arrays (TIMESTAMP[]) have no CSV form anyway.
        if (kind == "DATE" or kind.startswith("TIMESTAMP")) and not kind.endswith("]"):
            message = (
                f"column {name!r} ({kind}) holds infinity, which Parquet and CSV cannot hold: "
                f"map it in a query=, e.g. CASE WHEN isfinite({name}) THEN {name} END. "
                "Nothing was published."
            ).replace("'", "''")
            wrapped = ""
            if kind.startswith("TIMESTAMP"):
                past = _past_range(name, kind).replace("'", "''")
                wrapped = f"WHEN CAST({column} AS TIMESTAMP) < {_WRAPPED} THEN error('{past}') "
            column = (
                f"CASE WHEN isinf({column}) THEN error('{message}') {wrapped}"
                f"ELSE {column} END AS {column}"
            )
        outer.append(column)
    # The guards keep each column's name and type.
    return f"SELECT {', '.join(outer)} FROM {relation}", types


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# PostgreSQL's timestamps reach the year 294276; DuckDB's stop at 294247, and its reader
# wraps a later one around to about 290,300 BC, silently. PostgreSQL holds nothing before
# 4713 BC, so a value before 5000 BC can only be such a wrapped one.
_WRAPPED = "TIMESTAMP '5000-01-01 (BC) 00:00:00'"


def _past_range(name: str, kind: str) -> str:
    return (
        f"column {name!r} ({kind.lower()}) holds a timestamp past the year 294246, beyond what "
        "the reader holds (it would wrap it to about 290,000 BC): map it in a query=, e.g. "
        f"CASE WHEN {name} < '294000-01-01' THEN {name} END. Nothing was published."
    )


def refuse_numeric_nan(db, table: str | None, query: str | None, where: str | None) -> None:
    """Refuse 'NaN' in a numeric(p,s) column: DuckDB's PostgreSQL reader turns it into 0,
    silently. One query on PostgreSQL, only when such columns exist, over the rows the dump
    reads (`where`: the incremental bound), stopping at the first NaN.

    Raises:
        DumpError: Naming the column and the fix; nothing is published.
    """
    sql = base_query("postgres", table, query)
    columns = table_columns(db, table) if table else _query_columns(db, sql)
    numerics = [n for n, kind, precision in columns if kind == "numeric" and precision is not None
                and precision <= 38]  # fmt: skip
    if not numerics:
        return
    quoted = [quote_ident("postgres", n) for n in numerics]
    pairs = zip(quoted, numerics, strict=True)
    first = " ".join(f"WHEN {q} = 'NaN' THEN {_literal(n)}" for q, n in pairs)
    tests = " OR ".join(f"{q} = 'NaN'" for q in quoted)
    bound = f" AND {where}" if where else ""
    check = f"SELECT CASE {first} END FROM ({sql}) q WHERE ({tests}){bound} LIMIT 1"
    found = db.execute(
        f"SELECT * FROM postgres_query('src', $pg${check.replace('$pg$', '')}$pg$)"
    ).fetchone()
    if found:
        name = found[0]
        raise DumpError(
            f"column {name!r} (numeric) holds 'NaN', which no DECIMAL can hold (the reader would "
            f"make it 0): map it in a query=, e.g. NULLIF({name}, 'NaN') AS {name}, or fix it "
            "in the source. Nothing was published."
        )


# PostgreSQL types whose single values may be megabytes long.
_LONG_TYPES = {"text", "varchar", "bpchar", "bytea", "json", "jsonb", "xml"}


def largest_value(request: Request) -> tuple[str, str | None, int] | None:
    """The longest value of the dump's rows: (column, its row's primary key as 'k=v', or
    None for a query or a table without one, bytes), or None when no column can be long.
    One scan on PostgreSQL; asked only after the reader ran out of memory, to say why."""
    psycopg = drivers.require("postgres", "psycopg")
    sql = base_query("postgres", request.table, request.query)
    columns = source_columns(request.connection, sql)
    long = [(name, kind) for name, kind, _ in columns if kind.lstrip("_") in _LONG_TYPES]
    if not long:
        return None
    with psycopg.connect(request.connection.url, autocommit=True) as pg, pg.cursor() as cursor:
        key: list[str] = []
        if request.table:
            cursor.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
                [quote("postgres", request.table)],
            )
            key = [row[0] for row in cursor.fetchall()]
        sizes = ", ".join(
            f"octet_length({quote_ident('postgres', name)}{'' if kind == 'bytea' else '::text'})"
            for name, kind in long
        )
        shown = ", ".join(f"{_literal(k + '=')} || {quote_ident('postgres', k)}::text" for k in key)
        row_key = f"concat_ws(', ', {shown})" if key else "NULL"
        names = ", ".join(_literal(name) for name, _ in long)
        cursor.execute(
            f"SELECT name, row_key, size FROM (SELECT {row_key} AS row_key, "
            f"unnest(ARRAY[{names}]) AS name, unnest(ARRAY[{sizes}]) AS size FROM ({sql}) q) s "
            "ORDER BY size DESC NULLS LAST LIMIT 1"
        )
        found = cursor.fetchone()
    if found is None or found[2] is None:
        return None
    return found[0], found[1], int(found[2])


def _query_columns(db, sql: str) -> list[tuple[str, str, int | None]]:
    """source_columns of a query, asked of PostgreSQL over DuckDB's attachment."""
    described = db.execute(
        f"DESCRIBE SELECT * FROM postgres_query('src', $pg${sql.replace('$pg$', '')}$pg$)"
    ).fetchall()
    # DuckDB shows numeric(p,s) as DECIMAL(p,s): the columns NaN can hide in.
    found = []
    for name, kind, *_ in described:
        precision = int(kind[8:].split(",")[0]) if kind.startswith("DECIMAL(") else None
        found.append((name, "numeric" if precision else kind.lower(), precision))
    return found


def _footers(db, files: list[str]) -> dict[str, int]:
    """Rows in each written file, read back from its footer, and a DumpError when a date or
    timestamp column holds ±infinity (from the column statistics: no data is read).

    DuckDB reads the footers: pyarrow would add 75 MB to the process for this alone.

    Raises:
        DumpError: Naming the column(s) and what to do; the staged files are not published.
    """
    counts: dict[str, int] = {}
    # A few hundred files at a time: every footer of thousands of files at once held 70 MB.
    for start in range(0, len(files), 256):
        counts.update(_footer_group(db, files[start : start + 256]))
    return counts


def _footer_group(db, files: list[str]) -> dict[str, int]:
    # The paths go in as literals: a bound parameter makes DuckDB's Python module import
    # pandas (and with it pyarrow) to check its type.
    paths = "[" + ", ".join(_literal(f) for f in files) + "]"
    counts = dict(
        db.execute(f"SELECT file_name, num_rows FROM parquet_file_metadata({paths})").fetchall()
    )
    # Leaf columns in footer order; dates and timestamps are the integer leaves DuckDB shows
    # as (-)infinity (integers never print so; text saying "infinity" is a BYTE_ARRAY).
    leaves = db.execute(
        f"SELECT name, duckdb_type FROM parquet_schema({_literal(files[0])}) "
        "WHERE type IS NOT NULL ORDER BY column_id"
    ).fetchall()
    infinite = db.execute(
        f"SELECT DISTINCT column_id FROM parquet_metadata({paths}) "
        "WHERE type IN ('INT32', 'INT64') AND (stats_min_value IN ('infinity', '-infinity') "
        "OR stats_max_value IN ('infinity', '-infinity'))"
    ).fetchall()
    if infinite:
        names = ", ".join(sorted(f"{leaves[i][0]!r} ({leaves[i][1].lower()})" for (i,) in infinite))
        raise DumpError(
            f"column(s) {names} hold infinity, which Parquet and CSV cannot hold: map it in a "
            "query=, e.g. CASE WHEN isfinite(col) THEN col END. Nothing was published."
        )
    wrapped = db.execute(
        f"SELECT DISTINCT column_id, stats_min_value FROM parquet_metadata({paths}) "
        "WHERE type = 'INT64' AND stats_min_value LIKE '%(BC)%'"
    ).fetchall()
    for column_id, value in sorted(wrapped):
        name, kind = leaves[column_id]
        if (kind or "").startswith("TIMESTAMP") and int(value.split("-")[0]) >= 5000:
            raise DumpError(_past_range(name, kind))
    return counts


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}


def _partition_type(described: dict[str, str], column: str, partition_by: str = "day") -> str:
    """Check the partition column among the described columns; returns its kind: "aware" (a
    timestamp with time zone), "integer" (a year, at the year grain) or "date"."""
    kind = described.get(column)
    if kind is None:
        raise DumpError(f"partition_column {column!r} is not a column: {list(described)}")
    if kind in _INTEGERS and partition_by == "year":
        return "integer"
    if not (kind == "DATE" or kind.startswith("TIMESTAMP")):
        also = " (or a whole-number year, with partition_by='year')" if kind in _INTEGERS else ""
        raise DumpError(
            f"partition_column {column!r} has type {kind}; it must be a date or a "
            f"timestamp{also}. Cast it in the query, e.g. CAST(col AS DATE)."
        )
    return "aware" if kind == "TIMESTAMP WITH TIME ZONE" else "date"


def _partition_kind(described: dict[str, str], column: str, partition_by: str) -> str:
    """The partition column's kind (see _partition_type); two columns (year,month) must
    both be whole numbers."""
    names = partition_columns(column, partition_by)
    kinds = [_partition_type(described, name, "year" if len(names) == 2 else partition_by)
             for name in names]  # fmt: skip
    if len(names) == 2 and kinds != ["integer", "integer"]:
        raise DumpError(
            f"partition_column={column!r}: a year and a month column must both be whole "
            f"numbers; they are {described[names[0]]} and {described[names[1]]}."
        )
    return kinds[0]


def _key_values(column: str, kind: str, depth: int) -> list[str]:
    """The SQL of each partition folder's value, from the partition column(s)."""
    names = [quote("postgres", name) for name in partition_columns(column)]
    if len(names) == 2:
        year, month = names
        return [
            f"CAST({year} AS BIGINT)",
            f"lpad(CAST(CAST({month} AS BIGINT) AS VARCHAR), 2, '0')",
        ]
    if kind == "integer":
        return [f"CAST({names[0]} AS BIGINT)"]
    day = f"CAST({names[0]} AS DATE)"
    return [f"strftime({day}, '{form}')" for form in ("%Y", "%m", "%Y-%m-%d")[:depth]]


def open_postgres(request: Request) -> Source:
    """The rows as a stream of Arrow batches (for CSV output, written by PartitionedWriter)."""
    connection, table, query = request.connection, request.table, request.query
    column, lower = request.partition_column, request.lower_bound
    base_query("postgres", table, query)
    db = _attach(connection, request.memory_mb)
    try:
        select, types = _exact_select(db, connection, table, query)
        assert types is not None  # guarded selects are described
        kind = _partition_kind(types, column, request.partition_by) if column else "date"
        where = None
        if column and lower is not None:
            aware, integer = kind == "aware", kind == "integer"
            where = bound_test("postgres", column, lower, aware, integer)
            select += f" WHERE {where}"
        refuse_numeric_nan(db, table, query, where)
        reader = db.execute(select).to_arrow_reader(batch_rows(request.batch_size, len(types)))
    except BaseException:
        db.close()  # else its open transaction holds the source table's locks
        raise
    return Source(reader=reader, closers=[db.close], types=types)


# What DuckDB's partitioned writer holds per open partition and thread: a 256 KB block at
# least, about 16 KB per column past that (60 columns, 2 threads: 33 days at once ran out of
# 61 MB, 16 did not).
_PARTITION_BLOCK = 256 << 10
_PARTITION_COLUMN = 16 << 10
_THREADS = 2


def _written(cursor) -> list[tuple[str, int]]:
    """(file, rows) of each file a COPY ... RETURN_STATS wrote, read a batch at a time: each
    row also holds every column's statistics (3,650 files of 60 columns: 200 MB as Python
    objects kept)."""
    kept: list[tuple[str, int]] = []
    while batch := cursor.fetchmany(512):
        kept += [(row[0], row[1]) for row in batch]
    return kept


def _split(db, select: str, keys: Sequence[str], folder: Path, options: str, memory_mb: int):
    """Write the rows into partition folders a group of partitions at a time, through one
    spool file sorted by partition: every partition open at once does not fit the cap
    (hundreds of days of a table of tens of columns), a group sized to it does. The source
    is read once; each group reads only the spool's row groups that hold it.

    Returns:
        (file name, rows) of every file written.
    """
    spool = folder / "_spool.parquet"
    # One text key per partition (NULL keys: the empty text), compared as text: the groups
    # are ranges of the sorted keys, so each row falls in exactly one.
    key = "concat_ws('/', " + ", ".join(keys) + ")"
    db.execute(
        f"COPY (SELECT *, {key} AS _partition FROM ({select}) ORDER BY _partition) "
        f"TO '{spool}' (FORMAT PARQUET, COMPRESSION snappy, ROW_GROUP_SIZE 8192)"
    )
    width = len(db.execute(f"DESCRIBE SELECT * FROM '{spool}'").fetchall())
    per_partition = _THREADS * max(_PARTITION_BLOCK, width * _PARTITION_COLUMN)
    group = max(1, (int(memory_mb) << 20) // 2 // per_partition)
    found = [row[0] for row in db.execute(
        f"SELECT DISTINCT _partition FROM '{spool}' ORDER BY 1"
    ).fetchall()]  # fmt: skip
    stats: list[tuple[str, int]] = []
    for start in range(0, len(found), group):
        first, last = found[start], found[min(start + group, len(found)) - 1]
        stats += _written(db.execute(
            f"COPY (SELECT * EXCLUDE (_partition) FROM '{spool}' WHERE _partition BETWEEN "
            f"{_literal(first)} AND {_literal(last)}) TO '{folder}' "
            f"({options}, APPEND, RETURN_STATS)"
        ))  # fmt: skip
    spool.unlink()
    return stats


@contextmanager
def _progress(db, logger: logging.Logger | logging.LoggerAdapter | None, every_s: float = 5.0):
    """Log DuckDB's progress of the running statement every few seconds, from a side thread
    (query_progress is meant to be called while another thread runs the query)."""
    done = threading.Event()
    started = time.monotonic()

    def report() -> None:
        while not done.wait(every_s):
            percent = db.query_progress()
            if logger is not None and percent >= 0:
                logger.info("%.0f%% read (%.0f s)", percent, time.monotonic() - started)

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def stage_postgres(
    request: Request,
    folder: Path,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
) -> Staged:
    """Write the rows as Parquet into folder (ano=/mes=/data= sub-folders when partitioned),
    with DuckDB's parallel writer; rows are counted by the COPY itself."""
    connection, table, query = request.connection, request.table, request.query
    column, lower = request.partition_column, request.lower_bound
    base_query("postgres", table, query)  # exactly one of table / query
    db = _attach(connection, request.memory_mb)
    try:
        select, _ = _exact_select(db, connection, table, query, guard=False)
        options = "FORMAT PARQUET, COMPRESSION snappy, ROW_GROUP_SIZE 61440"
        where = None
        if column:
            described = _describe(db, select)
            kind = _partition_kind(described, column, request.partition_by)
            if lower is not None:  # rows without a day: every run
                aware, integer = kind == "aware", kind == "integer"
                where = bound_test("postgres", column, lower, aware, integer)
                select += f" WHERE {where}"
        refuse_numeric_nan(db, table, query, where)
        if column:
            keys = partition_keys(described, request.partition_by)
            values = _key_values(column, kind, len(keys))
            rows_select = select
            added = ", ".join(f"{value} AS {key}" for value, key in zip(values, keys, strict=True))
            select = f"SELECT *, {added} FROM ({select})"
            options += f", PARTITION_BY ({', '.join(keys)}), FILENAME_PATTERN 'part-{{uuid}}'"
            target = folder
        else:
            target = folder / "part.parquet"
        with _progress(db, logger):
            try:
                stats = _written(
                    db.execute(f"COPY ({select}) TO '{target}' ({options}, RETURN_STATS)")
                )
            except Exception as error:
                if not column or type(error).__name__ != "OutOfMemoryException":
                    raise
                shutil.rmtree(folder)
                folder.mkdir()
                if logger is not None:
                    logger.info(
                        "Too many days x columns to write every partition at once in the "
                        "memory cap: writing them a group of days at a time."
                    )
                stats = _split(db, select, keys, folder, options, request.memory_mb)
        if column and not stats:  # no rows: one empty file keeps the table's columns
            empty = folder / null_partition(keys) / "part-empty.parquet"
            empty.parent.mkdir(parents=True)
            db.execute(
                f"COPY (SELECT * FROM ({rows_select}) LIMIT 0) TO '{empty}' (FORMAT PARQUET)"
            )
            stats = [(str(empty), 0)]
        counts = _footers(db, [row[0] for row in stats])
    finally:
        db.close()
    files: dict[str, list[Path]] = defaultdict(list)
    read: dict[str, int] = defaultdict(int)
    written: dict[str, int] = defaultdict(int)
    for filename, count in stats:
        path = Path(filename)
        key = str(path.parent.relative_to(folder)) if column else ""
        files[key].append(path)
        read[key] += count
        written[key] += counts[filename]
    return Staged(files=dict(files), read=dict(read), written=dict(written))
