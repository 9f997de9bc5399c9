"""Write a stream of Arrow batches as Parquet or CSV files, one folder per day, counting rows."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from pipelines.constants import TIMEZONE
from pipelines.errors import DumpError
from pipelines.utils.datalake.base import null_partition, partition_keys, partition_path

FORMATS = ("parquet", "csv")
# A file stays open per partition (so a partition is one file) up to this many; past it the
# oldest is closed and merge_partitions joins the pieces.
MAX_OPEN_FILES = 2048
BUFFERED_PARTITIONS = 64  # partitions holding rows in memory at once; the oldest is flushed
BUFFER_ROWS = 32_768  # rows kept per partition before a row group is written
ROW_GROUP_ROWS = 61_440  # row groups of merged files (DuckDB's own size)


def partition_days(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The day of each value: dates as they are, naive timestamps by their date, aware
    timestamps by their date in America/Sao_Paulo."""
    kind = column.type
    if pa.types.is_date(kind):
        return column.cast(pa.date32())
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            column = pc.local_timestamp(column.cast(pa.timestamp(kind.unit, tz=TIMEZONE)))
        return column.cast(pa.date32())
    raise DumpError(
        f"the partition column has type {kind}; it must be a date or a timestamp. Cast it in "
        f"the query, e.g. CAST(col AS DATE)."
    )


class _File:
    """One open output file of a partition."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.path = path
        self.rows = 0
        self.buffer: list[pa.RecordBatch] = []
        self.buffered = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer: Any = (
            pq.ParquetWriter(path, schema, compression="snappy")
            if fmt == "parquet"
            else pcsv.CSVWriter(path, schema)
        )

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


class PartitionedWriter:
    """Files under a staging folder, one sub-folder per partition day.

    Args:
        folder: Staging folder (empty).
        fmt: "parquet" or "csv".
        partition_column: Column to partition by, or None for a single folder "part".
        stem: File name stem.
    """

    def __init__(self, folder: Path, fmt: str, partition_column: str | None, stem: str) -> None:
        if fmt not in FORMATS:
            raise DumpError(f"format={fmt!r} must be one of {', '.join(FORMATS)}.")
        self.folder = folder
        self.fmt = fmt
        self.column = partition_column
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
            if self.column is not None and self.column not in batch.schema.names:
                raise DumpError(f"partition_column {self.column!r} is not in the result.")
            self._keys = partition_keys(batch.schema.names)
        if self.column is None:
            self._file("").add(batch)
            self.read[""] = self.read.get("", 0) + batch.num_rows
            return
        days = partition_days(batch.column(self.column))
        for day in pc.unique(days).to_pylist():
            mask = pc.is_null(days) if day is None else pc.equal(days, pa.scalar(day, pa.date32()))
            rows = batch.filter(mask)
            key = null_partition(self._keys) if day is None else partition_path(day, self._keys)
            self._file(key).add(rows)
            self.read[key] = self.read.get(key, 0) + rows.num_rows

    def _file(self, key: str) -> _File:
        """The open file of a partition; holding rows in memory for at most
        BUFFERED_PARTITIONS partitions (the least recent is written out as a row group)."""
        if key in self._open:
            handle = self._open[key]
            self._open.move_to_end(key)
        else:
            if len(self._open) >= MAX_OPEN_FILES:  # bound open files
                old_key, oldest = self._open.popitem(last=False)
                self._buffered.pop(old_key, None)
                oldest.close()
            paths = self.files.setdefault(key, [])
            suffix = "parquet" if self.fmt == "parquet" else "csv"
            path = self.folder / key / f"{self.stem}-{len(paths):05d}.{suffix}"
            paths.append(path)
            assert self._schema is not None
            handle = self._open[key] = _File(path, self._schema, self.fmt)
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
            key = "" if self.column is None else null_partition(partition_keys(schema.names))
            self._file(key)
            self.read[key] = 0
        for handle in self._open.values():
            handle.close()
        self._open.clear()
        return Staged(
            files=self.files,
            read=self.read,
            written=count_written(self.files, self.fmt),
            schema=self._schema,
        )


@dataclass
class Staged:
    """Files staged for one dump, by partition key ("" when unpartitioned), with row counts:
    as read from the source and as found in the written files."""

    files: dict[str, list[Path]]
    read: dict[str, int]
    written: dict[str, int]
    schema: pa.Schema | None = None  # of the written rows (None: nothing was read)
    # DuckDB's types of the source, when DuckDB read it: finer than Arrow's (UUID, JSON).
    source_types: dict[str, str] | None = None

    def duckdb_columns(self) -> dict[str, str]:
        """Each column's type by DuckDB's name for it (declared when CSV is loaded)."""
        if self.source_types:
            return dict(self.source_types)
        if self.schema is None:
            return {}
        import duckdb

        relation = duckdb.connect().from_arrow(self.schema.empty_table())
        return {
            name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)
        }

    @property
    def rows(self) -> int:
        return sum(self.read.values())

    def mismatches(self) -> dict[str, tuple[int, int | None]]:
        keys = set(self.read) | set(self.written)
        return {
            k: (self.read.get(k, 0), self.written.get(k))
            for k in sorted(keys)
            if self.read.get(k, 0) != self.written.get(k)
        }


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


def csv_safe(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with its columns cast to the types CSV is written with (_csv_type)."""
    columns, changed = [], False
    for column, field_ in zip(batch.columns, batch.schema, strict=True):
        kind = _csv_type(field_.type)
        if kind != field_.type:
            column, changed = column.cast(kind), True
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names) if changed else batch


def count_written(files: dict[str, list[Path]], fmt: str) -> dict[str, int]:
    """Rows per partition, read back from the files (Parquet footers; CSV parsed)."""
    written = {}
    for key, paths in files.items():
        if fmt == "parquet":
            written[key] = sum(pq.read_metadata(p).num_rows for p in paths)
        else:
            parse = pcsv.ParseOptions(newlines_in_values=True)
            written[key] = sum(pcsv.read_csv(p, parse_options=parse).num_rows for p in paths)
    return written


def day_of(key: str) -> dt.date | None:
    """The day a partition key stands for (None for the null partition)."""
    value = key.rsplit("=", 1)[-1]
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def merge_partitions(staged: Staged, fmt: str) -> Staged:
    """Make every partition one file: a dump writes a partition's rows as they arrive, in
    several files when other partitions' rows come in between; BigQuery and DuckDB read one
    file per partition faster than many small ones.

    Parquet files are rewritten a row group at a time (groups of ROW_GROUP_ROWS rows); CSV
    files are joined byte for byte, the header kept once. Rows written are counted again
    from the merged files' footers (Parquet) or carried over (CSV: the bytes are the same).

    Raises:
        DumpError: A partition's CSV files do not start with the same header.
    """
    for key, paths in staged.files.items():
        if len(paths) < 2:
            continue
        merged = paths[0].with_name(f"merged-{paths[0].name}")
        if fmt == "parquet":
            _merge_parquet(paths, merged)
        else:
            _merge_csv(paths, merged)
        for path in paths:
            path.unlink()
        staged.files[key] = [merged]
        if fmt == "parquet":
            staged.written[key] = pq.read_metadata(merged).num_rows
    return staged


def _merge_parquet(paths: list[Path], out: Path) -> None:
    schema = pq.read_schema(paths[0])
    with pq.ParquetWriter(out, schema, compression="snappy") as writer:
        pending: list[pa.RecordBatch] = []
        count = 0
        for path in paths:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP_ROWS):
                pending.append(batch)
                count += batch.num_rows
                if count >= ROW_GROUP_ROWS:
                    writer.write_table(pa.Table.from_batches(pending, schema), ROW_GROUP_ROWS)
                    pending, count = [], 0
        if pending:
            writer.write_table(pa.Table.from_batches(pending, schema), ROW_GROUP_ROWS)


def _merge_csv(paths: list[Path], out: Path) -> None:
    with paths[0].open("rb") as first:
        header = first.readline()
    with out.open("wb") as target:
        target.write(header)
        for path in paths:
            with path.open("rb") as part:
                if part.read(len(header)) != header:
                    raise DumpError(f"{path.name} does not start with the header of its partition.")
                while chunk := part.read(1 << 20):
                    target.write(chunk)
