"""Open a database query as a stream of Arrow record batches with exact types.

MySQL/MariaDB, SQL Server and Oracle are read through connectorx's Arrow stream (PostgreSQL
goes through DuckDB, in postgres.py). MySQL columns whose
Arrow type connectorx would blur (DECIMAL beyond (38,10), TINYINT(1), TIMESTAMP) are fixed
from the query's own column metadata.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pendulum

from pipelines.constants import TIMEZONE
from pipelines.errors import DumpError
from pipelines.utils.datalake.base import partition_columns
from pipelines.utils.dump_db import drivers
from pipelines.utils.dump_db.connections import Connection
from pipelines.utils.dump_db.identifiers import check_distinct, quote, quote_ident, split_name

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class Request:
    """What one dump reads: the source, the rows wanted, and how they are batched.

    Args:
        connection: Where to read.
        table: A table (schema.table) to dump, or None.
        query: A SELECT to dump, or None.
        format: Output format of the staged files (parquet or csv).
        batch_size: Rows per Arrow batch.
        partition_column: Column whose day partitions the output (and filters lower_bound).
        lower_bound: Only rows whose partition day is on or after it (rows whose
            partition column is NULL always come too).
        zero_dates: What a MySQL zero date ('0000-00-00', '2024-00-00') becomes: "fail"
            refuses the dump naming the column; "null" reads it as NULL, counted.
        memory_mb: The memory cap of the reader of a PostgreSQL source (DuckDB's).
        partition_by: The partition grain: "day", "month" or "year" (an integer year column
            partitions by year).
    """

    connection: Connection
    table: str | None
    query: str | None
    format: str = "parquet"
    batch_size: int = 50_000
    partition_column: str | None = None
    lower_bound: dt.date | None = None
    zero_dates: str = "fail"
    memory_mb: int = 64
    partition_by: str = "day"


ZERO_DATES = ("fail", "null")

# Values (rows x columns) one Arrow batch holds at most: a batch of 50,000 rows of 400
# columns held about 200 MB; narrow tables keep their batch_size (9 columns: 50,000 rows).
BATCH_VALUES = 1_000_000


def batch_rows(batch_size: int, width: int) -> int:
    """Rows per Arrow batch: batch_size, fewer for a wide result (BATCH_VALUES)."""
    return max(256, min(batch_size, BATCH_VALUES // max(1, width)))


@dataclass
class Source:
    """An open source: its batches, and a function that fixes each batch's types."""

    reader: pa.RecordBatchReader
    fix: Callable[[pa.RecordBatch], pa.RecordBatch] = lambda batch: batch
    closers: list[Callable[[], Any]] = field(default_factory=list)
    types: dict[str, str] | None = None  # DuckDB's type names, when DuckDB reads the source
    nulled: dict[str, int] = field(default_factory=dict)  # column -> zero dates read as NULL

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def base_query(dialect: str, table: str | None, query: str | None) -> str:
    """The SELECT to dump: a table, or a query given as is."""
    if bool(table) == bool(query):
        raise DumpError("Give exactly one of table or query.")
    if table:
        return f"SELECT * FROM {quote(dialect, table)}"
    assert query is not None
    return query.strip().rstrip(";")


def lower_bound_literal(day: dt.date, aware: bool, utc_naive: bool = False) -> str:
    """The first instant of a partition day: local midnight for aware columns, written with
    its offset, or as a naive UTC time for sources that read instants as UTC (MySQL here)."""
    if not aware:
        return day.isoformat()
    midnight = pendulum.datetime(day.year, day.month, day.day, tz=TIMEZONE)
    if utc_naive:
        return midnight.in_timezone("UTC").strftime("%Y-%m-%d %H:%M:%S")
    return midnight.isoformat()


def open_source(request: Request) -> Source:
    """Start streaming the request's rows (any source but PostgreSQL).

    Returns:
        The open source; close() it when done.

    Raises:
        DumpError: A bad partition column name, or a PostgreSQL request.
    """
    connection, column, bound = request.connection, request.partition_column, request.lower_bound
    for name in partition_columns(column, request.partition_by) if column is not None else ():
        split_name(name, max_parts=1)
    if connection.dialect == "postgres":
        raise DumpError("PostgreSQL dumps go through postgres.stage_postgres, not a stream.")
    sql = base_query(connection.dialect, request.table, request.query)
    if connection.dialect == "mysql":
        return _mysql(connection, sql, request.batch_size, column, bound, request.zero_dates)
    return _connectorx(connection, sql, request.batch_size, column, bound)


def _filtered(
    dialect: str,
    sql: str,
    column: str | None,
    bound: dt.date | None,
    aware: bool,
    integer: bool = False,
) -> str:
    if column is None or bound is None:
        return sql
    return f"SELECT * FROM ({sql}) q WHERE {bound_test(dialect, column, bound, aware, integer)}"


def bound_test(dialect: str, column: str, bound: dt.date, aware: bool, integer: bool) -> str:
    """The rows from the lower bound's partition on, and those without a partition (they
    come on every run: their partition is replaced whole each time). Two columns
    (year,month) compare as a pair."""
    names = [quote(dialect, name) for name in partition_columns(column)]
    if len(names) == 2:
        year, month = names
        return (
            f"({year} > {bound.year} OR ({year} = {bound.year} AND {month} >= {bound.month}) "
            f"OR {year} IS NULL)"
        )
    literal = bound_literal(bound, aware, integer, utc_naive=dialect == "mysql")
    return f"({names[0]} >= {literal} OR {names[0]} IS NULL)"


def bound_literal(day: dt.date, aware: bool, integer: bool, utc_naive: bool = False) -> str:
    """The SQL literal a partition column is compared with: its first day (or instant), or
    the day's year for an integer year column."""
    if integer:
        return str(day.year)
    return f"'{lower_bound_literal(day, aware, utc_naive)}'"


# MySQL's integer type codes (TINY, SHORT, LONG, LONGLONG, INT24, YEAR): a year column.
_INTEGERS = {1, 2, 3, 8, 9, 13}


# MySQL type codes (PyMySQL's FIELD_TYPE) and the UNSIGNED column flag.
_NEWDECIMAL, _TIMESTAMP, _TIME, _GEOMETRY = 246, 7, 11, 255
_DATES = {10, 12, 14, 7}  # DATE, DATETIME, NEWDATE, TIMESTAMP: they may hold zero dates
_ZERO = "__pipelines_zero_{}"  # a probe column per date column, dropped from every batch
_UNSIGNED = 32
# connectorx reads DECIMAL through a 28-digit decimal with at most 10 decimals; it panics on
# wider values. Those columns are read as text and turned into an exact decimal128 here.
_CX_DECIMAL_DIGITS, _CX_DECIMAL_SCALE = 28, 10


def _mysql(connection, sql, batch_size, column, bound, zero_dates="fail") -> Source:
    import pyarrow as pa  # loaded with the Arrow stream only (PostgreSQL never needs it)

    cx = drivers.require("mysql")
    pymysql = drivers.require("mysql", "pymysql")
    parts = urlsplit(connection.url)
    meta = pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=parts.path.lstrip("/"),
    )
    try:
        with meta.cursor() as cursor:
            try:
                cursor.execute(f"SELECT * FROM ({sql}) q LIMIT 0")
            except pymysql.err.ProgrammingError as error:
                missing = re.search(r"Table '(.+?)' doesn't exist", str(error))
                if missing is None:
                    raise
                raise DumpError(
                    f"table {missing.group(1)} does not exist (or this login cannot see it)."
                ) from None
            description = cursor.description
            flags = [field_.flags for field_ in cursor._result.fields]
            check_distinct([d[0] for d in description])
    finally:
        meta.close()
    select, fixes, probes = [], {}, {}
    for number, ((name, code, _, length, _, scale, _), flag) in enumerate(
        zip(description, flags, strict=True)
    ):
        column_sql = quote_ident("mysql", name)
        raw = column_sql
        # TINYINT(1), MySQL's BOOLEAN, stays an integer: it holds -128..127, not only 0/1.
        if code == _NEWDECIMAL:
            # The display length counts the digits, a decimal point and, if signed, a sign.
            precision = length - (0 if flag & _UNSIGNED else 1) - (1 if scale else 0)
            target = pa.decimal128(precision, scale) if precision <= 38 else pa.string()
            if precision > _CX_DECIMAL_DIGITS or scale > _CX_DECIMAL_SCALE:
                column_sql = f"CAST({column_sql} AS CHAR)"
            fixes[name] = target
        elif code == _TIME:  # a duration (-838:59:59 to 838:59:59), not a time of day: text
            column_sql = f"CAST({column_sql} AS CHAR)"
            fixes[name] = pa.string()
        elif code == _GEOMETRY:  # connectorx cannot read it: its SRID and exact WKT, as text
            column_sql = f"CONCAT('SRID=', ST_SRID({column_sql}), ';', ST_AsText({column_sql}))"
            fixes[name] = pa.string()
        elif code == _TIMESTAMP:  # an instant: read it as UTC whatever the session zone
            column_sql = f"CONVERT_TZ({column_sql}, @@session.time_zone, '+00:00')"
            fixes[name] = pa.timestamp("us", tz="UTC")
        if code in _DATES:  # a zero date panics the Arrow reader: never let one reach it
            checks = " OR ".join(f"{f}({raw}) = 0" for f in ("YEAR", "MONTH", "DAYOFMONTH"))
            zero = f"({raw} IS NOT NULL AND ({checks}))"
            column_sql = f"IF({zero}, NULL, {column_sql})"
            probes[_ZERO.format(number)] = name
            select.append(f"IF({zero}, CAST({raw} AS CHAR), NULL) AS {_ZERO.format(number)}")
        select.append(f"{column_sql} AS {quote_ident('mysql', name)}")
    aware = column is not None and fixes.get(column) == pa.timestamp("us", tz="UTC")
    codes = {d[0]: d[1] for d in description}
    names = partition_columns(column) if column is not None else ()
    for name in names:
        if name not in codes:
            raise DumpError(f"partition_column {name!r} is not a column of the query.")
    integer = bool(names) and codes[names[0]] in _INTEGERS
    typed = f"SELECT {', '.join(select)} FROM ({sql}) q0"
    query = _filtered("mysql", typed, column, bound, aware, integer)
    url = connection.url if parts.password is not None else connection.url.replace("@", ":@", 1)
    rows = batch_rows(batch_size, len(description))
    reader = cx.read_sql(url, query, return_type="arrow_stream", batch_size=rows)

    nulled: dict[str, int] = {}

    def fix(batch: pa.RecordBatch) -> pa.RecordBatch:
        for probe, name in probes.items():
            found = batch.column(probe).drop_null()
            if len(found) and zero_dates != "null":
                raise DumpError(
                    f"column {name!r} holds MySQL zero dates (e.g. {found[0].as_py()!r}), which "
                    "no date type can hold: pass zero_dates='null' to read them as NULL (they "
                    "are counted in the run's log), or fix them in the source."
                )
            if len(found):
                nulled[name] = nulled.get(name, 0) + len(found)
        names = [n for n in batch.schema.names if n not in probes]
        columns = [batch.column(n).cast(fixes[n]) if n in fixes else batch.column(n) for n in names]
        return pa.RecordBatch.from_arrays(columns, names=names)

    return Source(reader=reader, fix=fix, nulled=nulled)


def _connectorx(connection, sql, batch_size, column, bound) -> Source:
    cx = drivers.require(connection.dialect)
    query = _filtered(connection.dialect, sql, column, bound, aware=False)
    reader = cx.read_sql(connection.url, query, return_type="arrow_stream", batch_size=batch_size)
    return Source(reader=reader)
