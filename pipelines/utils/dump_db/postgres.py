"""PostgreSQL dumps through DuckDB's postgres scanner: binary COPY in, DuckDB's parallel
Parquet/CSV writer out, partition folders written directly, rows counted by the COPY itself."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from pipelines.constants import TIMEZONE
from pipelines.utils.dump_db import drivers
from pipelines.utils.dump_db.connections import Connection
from pipelines.utils.dump_db.sources import base_query, lower_bound_literal, quote
from pipelines.utils.dump_db.writer import Staged, count_written


def _relation(table: str | None, query: str | None) -> str:
    if table:  # a table scan: parallel, with filters pushed down to PostgreSQL
        schema, _, name = table.rpartition(".")
        return f"src.{quote('postgres', schema or 'public')}.{quote('postgres', name)}"
    sql = base_query("postgres", None, query).replace("$pg$", "")
    return f"postgres_query('src', $pg${sql}$pg$)"


def stage_postgres(
    connection: Connection,
    table: str | None,
    query: str | None,
    fmt: str,
    column: str | None,
    lower: dt.date | None,
    folder: Path,
) -> Staged:
    """Write the rows into folder (ano=/mes=/data= sub-folders when partitioned)."""
    import duckdb

    base_query("postgres", table, query)  # exactly one of table / query
    db = duckdb.connect()
    try:
        db.execute(f"LOAD '{drivers.postgres_extension()}'")
        # Two threads and a memory cap keep the footprint flat whatever the table size; the
        # session zone makes a timestamptz's day the city's day.
        db.execute(
            "SET threads = 2; SET memory_limit = '64MB'; SET preserve_insertion_order = false;"
            f"SET partitioned_write_flush_threshold = 50000; SET TimeZone = '{TIMEZONE}'"
        )
        url = connection.url.replace("'", "''")  # ATTACH takes no parameters; never logged
        db.execute(f"ATTACH '{url}' AS src (TYPE postgres, READ_ONLY)")
        relation = _relation(table, query)
        select = f"SELECT * FROM {relation}"
        options = (
            "FORMAT PARQUET, COMPRESSION snappy, ROW_GROUP_SIZE 61440"
            if fmt == "parquet"
            else "FORMAT CSV, HEADER"
        )
        if column:
            described = {r[0]: r[1] for r in db.execute(f"DESCRIBE {select}").fetchall()}
            kind = described.get(column)
            if kind is None:
                raise ValueError(f"partition_column {column!r} is not a column: {list(described)}")
            if not (kind == "DATE" or kind.startswith("TIMESTAMP")):
                raise TypeError(
                    f"partition_column {column!r} has type {kind}; it must be a date or a "
                    f"timestamp. Cast it in the query, e.g. CAST(col AS DATE)."
                )
            aware = kind == "TIMESTAMP WITH TIME ZONE"
            col = quote("postgres", column)
            if lower is not None:
                select += f" WHERE {col} >= '{lower_bound_literal(lower, aware)}'"
            day = f"CAST({col} AS DATE)"
            select = (
                f"SELECT *, strftime({day}, '%Y') AS ano, strftime({day}, '%m') AS mes, "
                f"strftime({day}, '%Y-%m-%d') AS data FROM ({select})"
            )
            options += ", PARTITION_BY (ano, mes, data), FILENAME_PATTERN 'part-{uuid}'"
            target = folder
        else:
            target = folder / "part.parquet" if fmt == "parquet" else folder / "part.csv"
        stats = db.execute(f"COPY ({select}) TO '{target}' ({options}, RETURN_STATS)").fetchall()
    finally:
        db.close()
    files: dict[str, list[Path]] = defaultdict(list)
    read: dict[str, int] = defaultdict(int)
    for filename, count, *_ in stats:
        path = Path(filename)
        key = str(path.parent.relative_to(folder)) if column else ""
        files[key].append(path)
        read[key] += count
    return Staged(files=dict(files), read=dict(read), written=count_written(files, fmt))
