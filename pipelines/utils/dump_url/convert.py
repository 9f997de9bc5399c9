"""A downloaded CSV or Excel file to one Parquet file of text columns, in bounded memory."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import TypedDict

from pipelines.errors import DumpUrlError
from pipelines.utils.dataframe.cleaning import snake_case_names
from pipelines.utils.dataframe.separators import one_column_problem
from pipelines.utils.scratch import temporary_folder

# Encodings DuckDB's CSV reader decodes itself; any other is re-encoded to UTF-8 first.
_NATIVE = {"utf-8": "utf-8", "latin-1": "latin-1", "iso8859-1": "latin-1"}
CHUNK = 1 << 20


class Converted(TypedDict):
    """A Parquet file written from a download (a mapping, so a flow can pass its items on)."""

    path: str
    rows: int
    columns: list[str]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _native(encoding: str) -> str | None:
    try:
        name = codecs.lookup(encoding).name
    except LookupError as error:
        raise DumpUrlError(f"encoding={encoding!r} is not a text encoding Python knows.") from error
    return _NATIVE.get(name)


def _names(columns: list[str]) -> list[str]:
    try:
        return snake_case_names(columns)
    except ValueError as error:
        raise DumpUrlError(f"{error}: rename them in the file's header.") from error


def _same_width(path: Path, encoding: str, separator: str, columns: list[str]) -> None:
    """Refuse rows wider than the header (DuckDB would name the extra fields column2, ...),
    and a header read as one column that holds another separator.

    Raises:
        DumpUrlError: Naming both widths.
    """
    import csv
    import io

    with io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="") as text:
        header = next(csv.reader(text, delimiter=separator), [])
    problem = one_column_problem(header, separator)
    if problem:
        raise DumpUrlError(f"{path.name}: {problem}")
    if len(columns) > len(header):
        raise DumpUrlError(
            f"{path.name}: rows have {len(columns)} fields but the header names "
            f"{len(header)}: check the separator (separator={separator!r}) or fix the file."
        )


def _to_utf8(path: Path, encoding: str, folder: Path) -> Path:
    """Re-encode a file to UTF-8, a megabyte at a time."""
    target = folder / "utf8.csv"
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as source, target.open("w", encoding="utf-8", newline="") as out:
        while chunk := source.read(CHUNK):
            out.write(decoder.decode(chunk))
        out.write(decoder.decode(b"", final=True))
    return target


# The conversion runs in its own process, holding only DuckDB: the flow's process (Prefect,
# pandas, pyarrow: about 170 MB before a byte is read) never holds the data, and DuckDB's
# buffers are capped there. It sends the header, gets the column names to write, copies.
_CHILD = """
import json, sys
import duckdb
settings = json.loads(sys.argv[1])
try:
    connection = duckdb.connect(config=settings["config"])
    connection.execute("SET enable_progress_bar = false")  # stdout carries the answers
    read = settings["read"]
    columns = connection.sql(f"SELECT * FROM {read} LIMIT 0").columns
    print(json.dumps(columns), flush=True)
    names = json.loads(sys.stdin.readline() or "null")
    if names is None:
        sys.exit(0)
    quoted = [c.replace('"', '""') for c in columns]
    select = ", ".join(f'"{c}" AS "{n}"' for c, n in zip(quoted, names))
    rows = connection.execute(
        f"COPY (SELECT {select} FROM {read}) TO {settings['out']} (FORMAT parquet, "
        f"ROW_GROUP_SIZE {settings['row_group']})"
    ).fetchone()
    print(json.dumps({"rows": rows[0] if rows else 0}), flush=True)
except duckdb.Error as error:
    print(json.dumps({"error": str(error)}), flush=True)
"""
# DuckDB's settings in that process: two threads, buffers capped, and rows written as they
# are read instead of held back to keep the file's order (a table's rows have none).
DUCKDB_CONFIG = {
    "threads": 2,
    "memory_limit": "96MB",
    "preserve_insertion_order": False,
}
ROW_GROUP = 61_440
# Bytes DuckDB reads at a time per thread (its default, 32 MiB, cost 130 MB more peak RSS on
# a 2 GB file); 4x the longest line it accepts by default (2 MiB).
CSV_BUFFER = 8 << 20


def csv_to_parquet(
    path: Path, out: Path, separator: str = ",", encoding: str = "utf-8"
) -> Converted:
    """Stream a CSV into Parquet with DuckDB, in a process of its own: every column text,
    names in snake_case, empty fields null and any other text kept (even "NA" or "None"),
    blank lines skipped, short rows padded with nulls, as pandas' read_csv(dtype=str,
    keep_default_na=False, na_values=[""]) reads it. Row order is not kept.

    Raises:
        DumpUrlError: The file is empty or not a CSV DuckDB can read with these settings, the
            column names collide, or the Parquet file does not hold the rows read.
    """
    import json
    import subprocess
    import sys

    import pyarrow.parquet as pq

    if len(separator) != 1:
        raise DumpUrlError(f"separator={separator!r} must be one character.")
    with path.open("rb") as start:
        if not start.read(CHUNK).strip():
            raise DumpUrlError(f"{path.name} is empty: it has no header row.")
    with temporary_folder("pipelines-url-csv-") as tmp:
        native = _native(encoding)
        source = path if native else _to_utf8(path, encoding, tmp)
        read = (
            f"read_csv({_quote(str(source))}, header = true, delim = {_quote(separator)}, "
            f"quote = '\"', escape = '\"', all_varchar = true, null_padding = true, "
            f"buffer_size = {CSV_BUFFER}, "
            f"encoding = {_quote(native or 'utf-8')})"
        )
        settings = {
            "read": read,
            "out": _quote(str(out)),
            "row_group": ROW_GROUP,
            "config": {**DUCKDB_CONFIG, "temp_directory": str(tmp)},
        }
        with subprocess.Popen(
            [sys.executable, "-c", _CHILD, json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as child:
            assert child.stdin is not None and child.stdout is not None
            header = json.loads(child.stdout.readline() or "{}")
            if isinstance(header, dict):
                raise DumpUrlError(
                    f"{path.name} is not a CSV readable as given: {header.get('error')}"
                )
            try:
                _same_width(source, native or "utf-8", separator, header)
                names = _names(header)
            except DumpUrlError:
                child.stdin.write("null\n")
                raise
            child.stdin.write(json.dumps(names) + "\n")
            child.stdin.flush()
            result = json.loads(child.stdout.readline() or "{}")
        if "rows" not in result:
            why = result.get("error", "the converting process ended without an answer")
            raise DumpUrlError(f"{path.name} is not a CSV readable as given: {why}")
    count = int(result["rows"])
    written = pq.read_metadata(out).num_rows
    if written != count:
        raise DumpUrlError(f"{out} holds {written} rows but {count} were read.")
    return Converted(path=str(out), rows=count, columns=names)


def excel_to_parquet(path: Path, out: Path, sheet: str | int = 0) -> Converted:
    """Read a sheet (an Excel sheet holds at most 1,048,576 rows) as text and write it to
    Parquet, with the same rules as csv_to_parquet."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.read_excel(path, sheet_name=sheet, dtype=str, keep_default_na=False, na_values=[""])
    if frame.columns.empty:
        raise DumpUrlError(f"{path.name} has no header row.")
    frame = frame.set_axis(_names(frame.columns), axis=1)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out)
    return Converted(path=str(out), rows=len(frame), columns=list(frame.columns))
