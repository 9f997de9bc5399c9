"""Staged dump files: rows counted as read and as written, one file per partition."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import DumpError

# pyarrow is imported where it is used: a PostgreSQL dump to Parquet never loads it, which
# keeps 75 MB out of the flow's process (bench/dump_db.py).
if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("parquet", "csv")
# A file stays open per partition (so a partition is one file) up to this many; past it the
# oldest is closed and merge_partitions joins the pieces. DuckDB's writer holds little per
# open file; the Arrow writer about 65 KB each (3,650 days of 60 columns: 402 MB with 2,048
# open, 285 MB with 256).
MAX_OPEN_FILES = 2048
ARROW_OPEN_FILES = 256
ROW_GROUP_ROWS = 61_440  # row groups of merged files (DuckDB's own size)


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
    nulled: dict[str, int] = field(default_factory=dict)  # column -> zero dates read as NULL

    def duckdb_columns(self) -> dict[str, str]:
        """Each column's type by DuckDB's name for it (declared when CSV is loaded)."""
        if self.source_types:
            return dict(self.source_types)
        if self.schema is None:
            return {}
        from pipelines.utils.datalake.schema import arrow_columns

        return arrow_columns(self.schema)

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


def count_written(files: dict[str, list[Path]], fmt: str) -> dict[str, int]:
    """Rows per partition, read back from the files (Parquet footers; CSV parsed)."""
    import pyarrow.parquet as pq

    written = {}
    for key, paths in files.items():
        if fmt == "parquet":
            written[key] = sum(pq.read_metadata(p).num_rows for p in paths)
        else:
            written[key] = sum(csv_rows(p) for p in paths)
    return written


# Bytes of a CSV file parsed at a time when its rows are counted; a row longer than that (a
# value of tens of MB) is parsed again with blocks twice as big, up to CSV_MAX_BLOCK.
CSV_BLOCK = 16 << 20
CSV_MAX_BLOCK = 1 << 30


def csv_rows(path: Path) -> int:
    """The rows of a CSV file written by a dump, read a block at a time (never the whole file
    at once: a partition may hold gigabytes).

    Raises:
        DumpError: A single row is longer than CSV_MAX_BLOCK.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    parse = pcsv.ParseOptions(newlines_in_values=True)
    block = CSV_BLOCK
    while True:
        try:
            reader = pcsv.open_csv(
                path, read_options=pcsv.ReadOptions(block_size=block), parse_options=parse
            )
            return sum(batch.num_rows for batch in reader)
        except pa.ArrowInvalid as error:
            # pyarrow's words for a row longer than the block ("straddling object ...").
            if "straddl" not in str(error) or block >= CSV_MAX_BLOCK:
                raise DumpError(
                    f"{path.name}: its rows could not be counted back ({error}); nothing was "
                    "published."
                ) from None
            block *= 2


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
            import pyarrow.parquet as pq  # only when a partition had several files

            staged.written[key] = pq.read_metadata(merged).num_rows
    return staged


def _merge_parquet(paths: list[Path], out: Path) -> None:
    import pyarrow.parquet as pq

    schema = pq.read_schema(paths[0])
    batches = (
        batch
        for path in paths
        for batch in pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP_ROWS)
    )
    write_row_groups(batches, schema, out)


def write_row_groups(batches: Iterable[pa.RecordBatch], schema: pa.Schema, out: Path) -> None:
    """Write batches as one Parquet file in row groups of ROW_GROUP_ROWS rows, holding one
    row group's rows at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pq.ParquetWriter(out, schema, compression="snappy") as writer:
        pending: list[pa.RecordBatch] = []
        count = 0
        for batch in batches:
            pending.append(batch)
            count += batch.num_rows
            if count >= ROW_GROUP_ROWS:  # whole row groups out, the remainder kept
                table = pa.Table.from_batches(pending, schema)
                whole = count - count % ROW_GROUP_ROWS
                writer.write_table(table.slice(0, whole), ROW_GROUP_ROWS)
                rest = table.slice(whole)
                pending, count = rest.to_batches(), rest.num_rows
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
