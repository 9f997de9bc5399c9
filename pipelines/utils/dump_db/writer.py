"""Write a stream of Arrow batches as Parquet or CSV files, one folder per day, counting rows."""

from __future__ import annotations

import datetime as dt
import logging
import struct
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from pipelines.constants import TIMEZONE
from pipelines.errors import DumpError
from pipelines.utils.datalake.base import (
    null_partition,
    partition_columns,
    partition_keys,
    partition_path,
)
from pipelines.utils.dump_db import staged
from pipelines.utils.dump_db.staged import FORMATS, Staged, count_written, write_row_groups

if TYPE_CHECKING:
    from pipelines.utils.dump_db.sources import Request, Source

BUFFERED_PARTITIONS = 64  # partitions holding rows in memory at once; the oldest is flushed
BUFFER_ROWS = 32_768  # rows kept per partition before a row group is written
PROGRESS_EVERY_S = 5.0
CLOSERS = 2  # files finished at once when the dump ends


# Arrow converts a Python value (a scalar, a separator, a list) through code that imports
# pandas: 80 MB more in a dump's process, which never needs it. Constants are made from
# buffers instead, and compute functions get Arrow values only.
def _text(value: str) -> pa.Scalar:
    """A string scalar made without converting a Python object."""
    data = value.encode()
    offsets = pa.py_buffer(struct.pack("<ii", 0, len(data)))
    return pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(data)])[0]


def partition_days(column: pa.Array | pa.ChunkedArray, partition_by: str = "day") -> pa.Array:
    """The day of each value: dates as they are, naive timestamps by their date, aware
    timestamps by their date in America/Sao_Paulo; at the year grain, an integer year as
    its first day."""
    kind = column.type
    if pa.types.is_integer(kind) and partition_by == "year":
        text = pc.binary_join_element_wise(pc.cast(column, pa.string()), _text("-01-01"), _text(""))
        return pc.cast(pc.strptime(text, format="%Y-%m-%d", unit="s"), pa.date32())
    if pa.types.is_date(kind):
        return column.cast(pa.date32())
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            column = pc.local_timestamp(column.cast(pa.timestamp(kind.unit, tz=TIMEZONE)))
        return column.cast(pa.date32())
    also = (
        " (or a whole-number year, with partition_by='year')" if pa.types.is_integer(kind) else ""
    )
    raise DumpError(
        f"the partition column has type {kind}; it must be a date or a timestamp{also}. Cast "
        f"it in the query, e.g. CAST(col AS DATE)."
    )


def month_days(years: pa.Array, months: pa.Array) -> pa.Array:
    """The first day of each (year, month) pair of whole numbers (null where either is)."""
    for column in (years, months):
        if not pa.types.is_integer(column.type):
            raise DumpError(
                f"a year and a month column must both be whole numbers; one has type {column.type}."
            )
    month = pc.utf8_lpad(pc.cast(months, pa.string()), 2, "0")
    text = pc.binary_join_element_wise(pc.cast(years, pa.string()), month, _text("01"), _text("-"))
    return pc.cast(pc.strptime(text, format="%Y-%m-%d", unit="s"), pa.date32())


class _File:
    """One open output file of a partition.

    Partitioned Parquet is spooled: rows go to an Arrow stream beside the file and become
    Parquet when the file closes, in row groups of ROW_GROUP_ROWS. An open ParquetWriter holds
    its encoders (365 open ones held ~110 MB more than 365 Arrow streams), and rows of
    interleaved days written as they came made row groups of a few thousand rows, which DuckDB
    scanned 5.9 times slower than one file (bench/dump_db.py --partitioned). The stream is
    not compressed: LZ4 made a MariaDB dump of 2M rows by day 20% slower; the price is disk,
    about the rows' Arrow size while the dump runs.
    """

    def __init__(self, path: Path, schema: pa.Schema, fmt: str, spool: bool = False) -> None:
        self.path = path
        self.schema = schema
        self.rows = 0
        self.buffer: list[pa.RecordBatch] = []
        self.buffered = 0
        self.spool: Path | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer: Any
        if fmt == "parquet" and spool:
            self.spool = path.with_name(f".{path.name}.arrows")
            self.writer = pa.ipc.new_stream(str(self.spool), schema)
        elif fmt == "parquet":
            self.writer = pq.ParquetWriter(path, schema, compression="snappy")
        else:
            self.writer = pcsv.CSVWriter(path, schema)

    def add(self, batch: pa.RecordBatch) -> None:
        self.buffer.append(batch)
        self.buffered += batch.num_rows
        if self.buffered >= BUFFER_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.writer.write_table(pa.Table.from_batches(self.buffer))
            self.rows += self.buffered
            self.buffer, self.buffered = [], 0

    def close(self) -> None:
        self.flush()
        self.writer.close()
        if self.spool is not None:
            with pa.memory_map(str(self.spool)) as source:
                write_row_groups(pa.ipc.open_stream(source), self.schema, self.path)
            self.spool.unlink()


class PartitionedWriter:
    """Files under a staging folder, one sub-folder per partition day.

    Args:
        folder: Staging folder (empty).
        fmt: "parquet" or "csv".
        partition_column: Column to partition by, or None for a single folder "part".
        stem: File name stem.
    """

    def __init__(
        self,
        folder: Path,
        fmt: str,
        partition_column: str | None,
        stem: str,
        partition_by: str = "day",
    ) -> None:
        if fmt not in FORMATS:
            raise DumpError(f"format={fmt!r} must be one of {', '.join(FORMATS)}.")
        self.folder = folder
        self.fmt = fmt
        self.column = partition_column
        self.partition_by = partition_by
        # Checked and split once, not for every batch.
        self._names = partition_columns(partition_column, partition_by) if partition_column else ()
        self.stem = stem
        self.read: dict[str, int] = {}  # partition -> rows read
        self.files: dict[str, list[Path]] = {}
        self._open: OrderedDict[str, _File] = OrderedDict()
        self._buffered: OrderedDict[str, _File] = OrderedDict()  # open files holding rows
        self._schema: pa.Schema | None = None
        self._keys: tuple[str, ...] = ()

    def write(self, batch: pa.RecordBatch) -> None:
        """Route one batch's rows to their partitions."""
        if batch.num_rows == 0:
            return
        if self.fmt == "csv":
            batch = csv_safe(batch)
        if self._schema is None:
            if self.fmt == "csv":
                refuse_for_csv(batch.schema)
            self._schema = batch.schema
            for name in self._names:
                if name not in batch.schema.names:
                    raise DumpError(f"partition_column {name!r} is not in the result.")
            self._keys = partition_keys(batch.schema.names, self.partition_by)
        if self.column is None:
            self._file("").add(batch)
            self.read[""] = self.read.get("", 0) + batch.num_rows
            return
        names = self._names
        if len(names) == 2:  # whole-number year and month: the month's first day
            days = month_days(batch.column(names[0]), batch.column(names[1]))
        else:
            days = partition_days(batch.column(names[0]), self.partition_by)
        # Rows sorted by day, then each day's run taken at once: one pass, where a filter per
        # day made as many passes as the batch has days (365 days x 400 columns), and each
        # day's rows a compact copy (a slice would pin the whole batch while it waits).
        # A batch of one day (a source read in day order) goes whole: no sort, no copy.
        runs = pc.run_end_encode(days)
        order = None
        if len(runs.values) > 1:
            order = pc.array_sort_indices(days, null_placement="at_end")
            runs = pc.run_end_encode(days.take(order))
        start = 0
        for index in range(len(runs.values)):
            day = runs.values[index]  # an Arrow scalar: see _text
            end = runs.run_ends[index].as_py()
            rows = batch if order is None else batch.take(order.slice(start, end - start))
            start = end
            key = (
                partition_path(day.as_py(), self._keys)
                if day.is_valid
                else null_partition(self._keys)
            )
            self._file(key).add(rows)
            self.read[key] = self.read.get(key, 0) + rows.num_rows

    def _file(self, key: str) -> _File:
        """The open file of a partition; holding rows in memory for at most
        BUFFERED_PARTITIONS partitions (the least recent is written out as a row group)."""
        if key in self._open:
            handle = self._open[key]
            self._open.move_to_end(key)
        else:
            if len(self._open) >= staged.ARROW_OPEN_FILES:  # bound open files
                old_key, oldest = self._open.popitem(last=False)
                self._buffered.pop(old_key, None)
                oldest.close()
            paths = self.files.setdefault(key, [])
            suffix = "parquet" if self.fmt == "parquet" else "csv"
            path = self.folder / key / f"{self.stem}-{len(paths):05d}.{suffix}"
            paths.append(path)
            assert self._schema is not None
            spool = self.column is not None
            handle = self._open[key] = _File(path, self._schema, self.fmt, spool)
        self._buffered[key] = handle
        self._buffered.move_to_end(key)
        if len(self._buffered) > BUFFERED_PARTITIONS:  # bound memory
            _, flushed = self._buffered.popitem(last=False)
            flushed.flush()
        return handle

    def close(self, schema: pa.Schema | None = None) -> Staged:
        """Finish every file; returns the files, rows read and rows written per partition.

        Args:
            schema: The result's schema, given when there were no rows: one empty file keeps
                the table's columns (an empty source is an empty table, not an error).
        """
        if not self.files and schema is not None:
            if self.fmt == "csv":
                refuse_for_csv(schema)
                schema = pa.schema([f.with_type(_csv_type(f.type)) for f in schema])
            self._schema = schema
            # Partitioned, the empty file goes where rows without a day would.
            key = (
                ""
                if self.column is None
                else null_partition(partition_keys(schema.names, self.partition_by))
            )
            self._file(key)
            self.read[key] = 0
        # Spooled partitions become Parquet here; pyarrow encodes without the GIL, so two at once.
        with ThreadPoolExecutor(CLOSERS) as pool:
            list(pool.map(_File.close, self._open.values()))
        self._open.clear()
        return Staged(
            files=self.files,
            read=self.read,
            written=count_written(self.files, self.fmt),
            schema=self._schema,
        )


def write_stream(
    source: Source,
    request: Request,
    folder: Path,
    logger: logging.Logger | logging.LoggerAdapter,
) -> Staged:
    """Write a source's batches into folder, logging progress; the source is closed.

    Args:
        source: The open source (its batches and their type fixes).
        request: The dump (format and partition column).
        folder: Empty staging folder.
        logger: Where progress goes, every PROGRESS_EVERY_S seconds.

    Returns:
        The staged files with rows read and written per partition.
    """
    writer = PartitionedWriter(
        folder, request.format, request.partition_column, stem=uuid.uuid4().hex[:12],
        partition_by=request.partition_by,
    )  # fmt: skip
    started = last = time.monotonic()
    rows = 0
    try:
        for batch in source.reader:
            writer.write(source.fix(batch))
            rows += batch.num_rows
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_S:
                last = now
                logger.info(
                    "%s rows (%s rows/s), %s partition(s)",
                    f"{rows:,}", f"{rows / (now - started):,.0f}", len(writer.read),
                )  # fmt: skip
        # An empty source is an empty table: its columns, typed as the batches would be.
        # Built only then: building it after every dump cost a MariaDB dump
        # of 2M rows 10% more time and 16 MB more memory (bench/dump_db.py, 2026-11).
        schema = None
        if not rows:
            kinds = source.reader.schema
            empty = pa.RecordBatch.from_arrays([pa.nulls(0, f.type) for f in kinds], schema=kinds)
            schema = source.fix(empty).schema
    finally:
        source.close()
    staged = writer.close(schema)
    staged.source_types = source.types
    staged.nulled = dict(source.nulled)
    return staged


def refuse_for_csv(schema: pa.Schema) -> None:
    """Refuse, before any file is written, columns CSV cannot hold exactly.

    Raises:
        DumpError: Naming each such column, its type and what to do instead.
    """
    problems = [
        f"{field_.name!r} ({field_.type})"
        for field_ in schema
        if pa.types.is_nested(field_.type)
        or pa.types.is_binary(field_.type)
        or pa.types.is_large_binary(field_.type)
        or pa.types.is_fixed_size_binary(field_.type)
    ]
    if problems:
        raise DumpError(
            f"column(s) {', '.join(problems)} cannot be written as CSV without changing their "
            "values (bytes, arrays and records have no CSV form): use format='parquet', or "
            "convert them in a query=, e.g. encode(col, 'hex') or array_to_string(col, ',')."
        )


def _csv_type(kind: pa.DataType) -> pa.DataType:
    """The type a column is written to CSV as: zoned timestamps in UTC, others unchanged.

    Arrow's CSV writer prints a zoned timestamp in its zone with a minutes-only offset, which
    shifts instants whose offset has seconds (America/Sao_Paulo before 1914 was -03:06:28);
    in UTC every instant is written exactly, with a Z.
    """
    if pa.types.is_timestamp(kind) and kind.tz is not None and kind.tz != "UTC":
        return pa.timestamp(kind.unit, tz="UTC")
    return kind


# The dates a CSV (and BigQuery's DATE, TIMESTAMP) can hold: years 1 to 9999. Arrow holds
# more, and its CSV writer prints a later year as '<value out of range: ...>' (a date) or as a
# wrong year (a timestamp with time zone: 200000 became 3392).
_FIRST_DAY, _LAST_DAY = dt.date(1, 1, 1), dt.date(9999, 12, 31)


def _refuse_out_of_range(column: pa.Array, name: str) -> None:
    """Refuse dates and timestamps outside years 1 to 9999, naming the column and a value."""
    kind = column.type
    if not (pa.types.is_date(kind) or pa.types.is_timestamp(kind)):
        return
    # As int64 days or time units: no conversion that could itself overflow.
    if pa.types.is_date(kind):
        ticks, unit = column.cast(pa.date32()).cast(pa.int32()), 1
        first, last = (
            d.toordinal() - dt.date(1970, 1, 1).toordinal() for d in (_FIRST_DAY, _LAST_DAY)
        )
    else:
        per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[kind.unit]
        ticks, unit = column.cast(pa.int64()), per_second
        epoch = dt.datetime(1970, 1, 1)
        first = int((dt.datetime(1, 1, 1) - epoch).total_seconds()) * per_second
        # The last instant of 9999-12-31, to the unit (its fraction of a second included).
        end = int((dt.datetime(9999, 12, 31) - epoch).total_seconds() + 86_400) * per_second
        last = end - 1
    lowest, highest = pc.min_max(ticks).as_py().values()
    if lowest is not None and (lowest < first or highest > last):
        sample = lowest if lowest < first else highest
        days = sample // unit // 86_400 if unit != 1 else sample
        year = (dt.date(1970, 1, 1).toordinal() + days) // 365.2425 + 1
        raise DumpError(
            f"column {name!r} ({kind}) holds a value outside the years 1 to 9999 (about year "
            f"{int(year)}), which CSV and BigQuery cannot hold: use format='parquet', or map it "
            f"in a query=, e.g. CASE WHEN {name} < '10000-01-01' THEN {name} END. Nothing was "
            "published."
        )


def csv_safe(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with its columns cast to the types CSV is written with (_csv_type), after
    refusing dates and timestamps a CSV cannot hold."""
    for column, field_ in zip(batch.columns, batch.schema, strict=True):
        _refuse_out_of_range(column, field_.name)
    columns, changed = [], False
    for column, field_ in zip(batch.columns, batch.schema, strict=True):
        kind = _csv_type(field_.type)
        if kind != field_.type:
            column, changed = column.cast(kind), True
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names) if changed else batch
