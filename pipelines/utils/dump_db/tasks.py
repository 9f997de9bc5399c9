"""The dump_db task: stream a table or query into the datalake, verified per partition."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pendulum
import prefect
from prefect import task

from pipelines.constants import TIMEZONE
from pipelines.errors import DumpError
from pipelines.utils.datalake.base import (
    MODES,
    Datalake,
    DatalakeWrite,
    grain_depth,
    partition_start,
    table_prefix,
)
from pipelines.utils.datalake.publish import publish_files
from pipelines.utils.datalake.schema import (
    UNKNOWN,
    Columns,
    SchemaPlan,
    check_on_schema_change,
    conform_file,
    conforms,
    parquet_columns,
    schema_plan,
)
from pipelines.utils.dump_db.connections import get_connection, mask
from pipelines.utils.dump_db.postgres import open_postgres, stage_postgres
from pipelines.utils.dump_db.sources import ZERO_DATES, Request, open_source
from pipelines.utils.dump_db.staged import FORMATS, Staged, merge_partitions
from pipelines.utils.resources import resources
from pipelines.utils.retries import with_retries
from pipelines.utils.scratch import release, scratch_dir
from pipelines.utils.warehouse.factory import begin_table_write

_LEADING = re.compile(r"\A(?:\s+|--[^\n]*\n?|/\*.*?\*/|\()*", re.S)


def check_select(query: str) -> None:
    """Refuse a query= that is not a SELECT (WITH ... SELECT, VALUES): dump_db only reads.

    Raises:
        DumpError: The statement starts with another keyword, naming it.
    """
    text = _LEADING.sub("", query)
    word = re.match(r"[A-Za-z]*", text)
    first = word.group(0).upper() if word else ""
    if first not in ("SELECT", "WITH", "VALUES", "TABLE"):
        got = f"it starts with {first}" if first else "it does not start with a keyword"
        raise DumpError(
            f"query= must be one SELECT (or WITH ... SELECT); {got}. dump_db only reads: "
            "give the SELECT whose rows to dump."
        )


def check_inputs(
    dataset_id: str,
    table_id: str,
    table: str | None,
    query: str | None,
    format: str,
    batch_size: int,
    partition_column: str | None,
    incremental: bool,
    since: str | None,
    mode: str,
) -> dt.date | None:
    """Validate dump parameters before connecting; returns the `since` day, if any."""
    table_prefix(dataset_id, table_id)
    if bool(table) == bool(query):
        raise DumpError("Give exactly one of table (schema.table) or query (a SELECT).")
    if query is not None:
        check_select(query)
    if format not in FORMATS:
        raise DumpError(f"format={format!r} must be one of {', '.join(FORMATS)}.")
    if not isinstance(batch_size, int) or batch_size < 1_000:
        raise DumpError(f"batch_size={batch_size!r} must be an integer of at least 1000.")
    if mode not in MODES:
        raise DumpError(f"mode={mode!r} must be one of {', '.join(MODES)}.")
    if (incremental or since) and not partition_column:
        raise DumpError("incremental and since need partition_column (a date or timestamp column).")
    if incremental and since:
        raise DumpError("Give incremental=True or since=, not both.")
    if (incremental or since) and mode == "overwrite":
        raise DumpError("incremental/since dumps a part of the table; use mode='append'.")
    if since is None:
        return None
    return since_day(since, pendulum.now(TIMEZONE).date())


_OFFSET = re.compile(r"^-(\d{1,5})([dwmy])$")


def since_day(since: str, today: dt.date) -> dt.date:
    """The first day a `since` names: a date (2024-01-31), the start of the current year,
    month or day ("current_year", "current_month", "current_day"), or an offset back from
    today ("-7d", "-2w", "-3m", "-1y": days, weeks, calendar months, years).

    Raises:
        DumpError: Anything else, listing the forms.
    """
    if since == "current_year":
        return today.replace(month=1, day=1)
    if since == "current_month":
        return today.replace(day=1)
    if since == "current_day":
        return today
    offset = _OFFSET.match(since.strip()) if isinstance(since, str) else None
    if offset:
        count, unit = int(offset.group(1)), offset.group(2)
        day = pendulum.date(today.year, today.month, today.day)
        back = {"d": "days", "w": "weeks", "m": "months", "y": "years"}[unit]
        shifted = day.subtract(**{back: count})
        return dt.date(shifted.year, shifted.month, shifted.day)
    try:
        return dt.date.fromisoformat(since)
    except (TypeError, ValueError):
        raise DumpError(
            f"since={since!r} is not a day: give a date (2024-01-31), current_year, "
            "current_month, current_day or an offset back from today (-7d, -2w, -3m, -1y)."
        ) from None


def _stage(
    request: Request, folder: Path, logger: logging.Logger | logging.LoggerAdapter
) -> Staged:
    """One attempt: write the source's rows into staging files, counting them."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    dialect = request.connection.dialect
    if dialect == "postgres" and request.format == "parquet":
        try:
            return merge_partitions(stage_postgres(request, folder, logger), request.format)
        except Exception as error:
            # DuckDB's Parquet writer holds a 256 KB block per column in its memory cap: a
            # table of a few hundred columns does not fit (400 did not in 100 MB). Arrow's
            # writer has no such floor: those dumps go through a stream instead.
            if type(error).__name__ != "OutOfMemoryException":
                raise
            logger.warning(
                "Too wide a table for DuckDB's Parquet writer in its memory cap (a block per "
                "column); writing from a stream instead."
            )
            shutil.rmtree(folder)
            folder.mkdir(parents=True)
    # The Arrow path (other servers, CSV) loads pyarrow; PostgreSQL to Parquet never does.
    from pipelines.utils.dump_db.writer import write_stream

    try:
        source = open_postgres(request) if dialect == "postgres" else open_source(request)
        return merge_partitions(write_stream(source, request, folder, logger), request.format)
    except BaseException as error:
        if type(error).__name__ == "OutOfMemoryException":
            raise _too_big_for_memory(request, error) from None
        own = str(error).removeprefix("Invalid Input Error: ")
        if type(error).__name__ == "InvalidInputException" and "Nothing was published" in own:
            raise DumpError(own) from None  # a guard of the reader's query refused a value
        # A Rust reader's panic is a BaseException: it would end the process (no summary, no
        # record, no alert). A value it cannot convert fails this dump instead.
        if type(error).__name__ != "PanicException":
            raise
        first = (str(error).strip().splitlines() or ["no message"])[0][:300]
        raise DumpError(
            f"the database driver could not convert a value of the source ({first}); nothing "
            "was published. Cast that column in query= (e.g. to text), or fix the value."
        ) from None


def _too_big_for_memory(request: Request, error: BaseException) -> DumpError:
    """DuckDB's out-of-memory error in the project's words: the cap, the setting that raises
    it, and the shape that met it (for PostgreSQL, the longest value: column, row, size)."""
    needed = re.search(r"size (\d+(?:\.\d+)? [KMG]iB)", str(error))
    block = f" (it needed a block of {needed.group(1)})" if needed else ""
    shape = "a single value of tens of MB (text, bytea, json) or very wide rows do that"
    suggested = request.memory_mb * 8
    if request.connection.dialect == "postgres":
        from pipelines.utils.dump_db.postgres import largest_value

        try:
            found = largest_value(request)
        except Exception as failed:  # the diagnosis must not hide the error it explains
            found, shape = (
                None,
                f"{shape} (the longest value was not found: {type(failed).__name__})",
            )
        if found is not None and found[2] >= 1 << 20:
            column, key, size = found
            row = f"the row {key}" if key else "one row"
            shape = f"column {column!r} of {row} holds a value of {size / (1 << 20):,.1f} MB"
            # A value takes about 12 times its size in the reader (40 MB fitted in 512).
            suggested = max(suggested, 1 << math.ceil(math.log2(12 * size / (1 << 20))))
    return DumpError(
        f"the rows of this source do not fit the reader's memory cap of {request.memory_mb} MB"
        f"{block}: {shape}. Raise the setting PIPELINES_DUMP_MEMORY_MB (e.g. to {suggested}) "
        "for this dump, or leave the widest columns out with query=. Nothing was published."
    )


def incremental_bound(
    partitions: list[str], logger: logging.Logger | logging.LoggerAdapter
) -> dt.date | None:
    """Where an incremental dump starts: the last partition not after today (in the city's
    time zone). A partition beyond tomorrow (a row dated 9999-12-31) is reported, never the
    bound: it would stop every later run from reading new rows."""
    today = pendulum.now(TIMEZONE).date()
    days = [d for d in map(partition_start, partitions) if d is not None]
    ahead = sorted(d for d in days if d > today + dt.timedelta(days=1))
    if ahead:
        logger.warning(
            "%d partition(s) lie beyond tomorrow (the last: %s): rows dated in the future in "
            "the source; they do not move the incremental bound.",
            len(ahead), ahead[-1],
        )  # fmt: skip
    past = [d for d in days if d <= today]
    lower = max(past) if past else None
    logger.info("Incremental: from %s", lower or "the beginning (no partition yet)")
    return lower


@task
def dump_db_to_datalake(
    connection: str,
    dataset_id: str,
    table_id: str,
    table: str | None = None,
    query: str | None = None,
    format: str = "parquet",
    batch_size: int = 50_000,
    partition_column: str | None = None,
    incremental: bool = False,
    since: str | None = None,
    mode: str | None = None,
    zero_dates: str = "fail",
    partition_by: str = "day",
    on_schema_change: str = "append_new_columns",
) -> DatalakeWrite:
    """Dump a database table or query into the datalake, streaming in bounded memory.

    Rows are staged, counted per partition as read and as written, and published partition
    by partition (each one replaced whole), so a rerun or a run killed midway never leaves
    duplicates. Transient connection errors are retried with backoff.

    Args:
        connection: Name of the connection; its URL is the setting PIPELINES_DB_<NAME>.
        dataset_id: Dataset (datalake folder, warehouse schema).
        table_id: Table name in the datalake and warehouse.
        table: Source table, "schema.table" or "table".
        query: Source SELECT, instead of table.
        format: "parquet" (types kept exactly) or "csv".
        batch_size: Rows per batch read from the source.
        partition_column: Date/timestamp column; output goes to ano=/mes=/data= folders by
            its day (in America/Sao_Paulo for timestamps with time zone).
        incremental: Only rows from the last partition already in the datalake on.
        since: Only rows from this day on: a date (YYYY-MM-DD), "current_year",
            "current_month", "current_day" or an offset back ("-7d", "-2w", "-3m", "-1y"),
            resolved when the task runs, in America/Sao_Paulo, and logged.
        mode: "append" replaces the partitions the rows touch and keeps the others (without
            partitions it adds files); "overwrite" makes the table hold exactly these rows.
            Default: "append" with a partition_column, else "overwrite", so a rerun never
            duplicates rows.
        zero_dates: MySQL/MariaDB zero dates ('0000-00-00', '2024-00-00'): "fail" refuses
            the dump naming the column and a value; "null" reads them as NULL (counted).
        partition_by: "day" (ano=/mes=/data= folders), "month" (ano=/mes=) or "year" (ano=);
            at the year grain partition_column may be a whole-number year (PostgreSQL,
            MySQL/MariaDB). incremental and since work at the grain: the last partition
            (month, year) is dumped again whole.
        on_schema_change: What the rows may change of the table's columns, checked before
            anything is published (mode="overwrite" takes any): "append_new_columns" adds
            new columns and widens types exactly (INTEGER to BIGINT), refusing other type
            changes; "fail" refuses any change; "sync_all_columns" makes the table take the
            rows' columns, rewriting the partitions it keeps.

    Returns:
        What was written where.

    Raises:
        DumpError: Invalid parameters (checked before connecting).
        SettingsError: The connection's setting is missing.
        ImportError: The source's driver is not installed (the message says what to install).
        DumpError: Rows read and written differ for a partition (nothing is published).
        SchemaContractError: A schema change on_schema_change refuses (nothing is published).
    """
    mode, since_day = preflight(locals())  # a relative since resolves now, as the task runs
    logger = prefect.context.get("logger")
    source = get_connection(connection)
    chosen = resources()
    datalake = chosen.datalake()
    prefix = table_prefix(dataset_id, table_id)
    lower = since_day
    if since is not None:
        logger.info("since=%s: rows from %s on", since, since_day)
    if incremental:
        lower = incremental_bound(datalake.partitions(prefix), logger)
    # A new folder named by pid: making it removes what killed runs left there.
    folder = scratch_dir(f"{dataset_id}-{table_id}-", chosen.staging_dir)
    logger.info(
        "Dumping %s from %s into %s (mode %s)",
        table or "a query",
        source,
        datalake.uri(prefix),
        mode,
    )
    started = time.monotonic()
    try:
        memory_mb = chosen.settings.whole("PIPELINES_DUMP_MEMORY_MB")
        request = Request(
            source, table, query, format, batch_size, partition_column, lower, zero_dates,
            memory_mb, partition_by,
        )  # fmt: skip
        staged = with_retries(lambda: _stage(request, folder, logger), logger, mask=mask)
        for column, count in sorted(staged.nulled.items()):
            logger.warning("%s: %s zero date(s) read as NULL (zero_dates='null')", column, count)
        mismatched = staged.mismatches()
        if mismatched:
            raise DumpError(f"rows read != rows written, nothing published: {mismatched}")
        rows = staged.rows
        if rows == 0 and partition_column and datalake.list_keys(prefix):
            # The empty file only gives a new table its columns; published, it would replace
            # the rows without a day. A partitioned table is never emptied by a dump.
            logger.warning("The source returned no rows; the table is left as it was.")
            staged.files = {}
        elif rows == 0:
            logger.warning("The source returned no rows; the table is now empty.")
        begin_table_write(datalake, prefix)
        plan = _schema_plan(datalake, prefix, staged, on_schema_change, mode, folder, logger)
        files = {key: {p.name: p for p in paths} for key, paths in staged.files.items()}
        keys = publish_files(
            datalake, prefix, files, mode, bool(partition_column), plan, folder, move=True
        )
        for key in sorted(staged.files):
            logger.info(
                "%s: %s rows read, %s written", key or prefix, staged.read[key], staged.written[key]
            )
    except Exception as error:
        masked = mask(str(error))
        if masked != str(error):  # drivers may echo the URL: never let it out
            raise DumpError(f"{type(error).__name__}: {masked}") from None
        raise
    finally:
        release(folder)
    seconds = time.monotonic() - started
    logger.info(
        "Dumped %s rows in %s partition(s) in %.1f s (%s rows/s) to %s",
        f"{rows:,}",
        len(staged.files),
        seconds,
        f"{rows / max(seconds, 1e-9):,.0f}",
        datalake.uri(prefix),
    )
    return DatalakeWrite(
        dataset_id=dataset_id,
        table_id=table_id,
        location=(
            f"{datalake.uri(prefix)} ({rows} rows in {len(staged.files)} partition(s))"
            + (f"; {plan.summary()}" if plan.summary() else "")
        ),
        rows=rows,
        partitions=sorted(k for k in staged.files if k),
        keys=keys,
        columns=csv_types(plan.table) if format == "csv" else {},
        mode=mode,
    )


def _schema_plan(
    datalake: Datalake,
    prefix: str,
    staged: Staged,
    on_schema_change: str,
    mode: str,
    folder: Path,
    logger: logging.Logger | logging.LoggerAdapter,
) -> SchemaPlan:
    """Check the staged rows' columns against the table's (refusing before anything is
    published), and make every staged Parquet file hold exactly the table's columns."""
    paths = [p for group in staged.files.values() for p in group]
    parquet = [p for p in paths if p.suffix == ".parquet"]
    # One query wrote every file, with one schema: the first file's footer says it (reading
    # thousands of footers of a wide table would cost memory for nothing).
    new = parquet_columns(parquet[:1]) if parquet else staged.duckdb_columns()
    hint = "cast it back in query= (CAST({column} AS {type}) AS {column})"
    plan = schema_plan(datalake, prefix, new, on_schema_change, mode, folder, logger, hint)
    if parquet and not conforms(new, plan.table):  # one query wrote them: one schema
        for path in parquet:
            conformed = path.with_name(f"conformed-{path.name}")
            conform_file(path, conformed, plan.table)
            conformed.replace(path)
    return plan


def csv_types(table: Columns) -> dict[str, str]:
    """The types a CSV table's columns are read with (a column of NULLs only as text)."""
    return {name: "VARCHAR" if kind == UNKNOWN else kind for name, kind in table.items()}


def preflight(arguments: Mapping[str, Any]) -> tuple[str, dt.date | None]:
    """What dump_db_to_datalake refuses before connecting, given its arguments by name (every
    one, defaults included): `check` runs it on each clock's values too, so a copied clock
    fails there, not on the server.

    Returns:
        The mode (its default filled in) and the first day `since` names, if any.

    Raises:
        DumpError: The first argument it refuses, named with its rule.
    """
    given = dict(arguments)
    grain_depth(given.get("partition_by", "day"))
    mode = given["mode"] or ("append" if given["partition_column"] else "overwrite")
    check_on_schema_change(given.get("on_schema_change", "append_new_columns"))
    if given["zero_dates"] not in ZERO_DATES:
        raise DumpError(
            f"zero_dates={given['zero_dates']!r} must be one of {', '.join(ZERO_DATES)}."
        )
    since_day = check_inputs(
        given["dataset_id"], given["table_id"], given["table"], given["query"],
        given["format"], given["batch_size"], given["partition_column"],
        given["incremental"], given["since"], mode,
    )  # fmt: skip
    return mode, since_day


dump_db_to_datalake.preflight = preflight  # type: ignore[attr-defined]
