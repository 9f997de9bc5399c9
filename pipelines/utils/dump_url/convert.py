"""A downloaded CSV or Excel file to one Parquet file of text columns, in bounded memory."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any, TypedDict

from pipelines.constants import DUCKDB_CONFIG
from pipelines.errors import DumpUrlError
from pipelines.utils.dataframe.cleaning import snake_case_names
from pipelines.utils.dataframe.separators import one_column_problem
from pipelines.utils.dump_url.csv_problems import csv_problem, locate
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
        found = locate(path, encoding, separator)
        raise DumpUrlError(
            f"{path.name}: {found}."
            if found
            else f"{path.name}: rows have {len(columns)} fields but the header names "
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
CONVERT_CONFIG = {
    **DUCKDB_CONFIG,
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
            "config": {**CONVERT_CONFIG, "temp_directory": str(tmp)},
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
                why = str(header.get("error"))
                raise DumpUrlError(
                    _unreadable(path.name, source, why, separator, native or "utf-8")
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
            raise DumpUrlError(
                _unreadable(path.name, source, str(why), separator, native or "utf-8")
            )
    count = int(result["rows"])
    written = pq.read_metadata(out).num_rows
    if written != count:
        raise DumpUrlError(f"{out} holds {written} rows but {count} were read.")
    return Converted(path=str(out), rows=count, columns=names)


def _unreadable(name: str, source: Path, error: str, separator: str, encoding: str) -> str:
    """Why DuckDB could not read the CSV: found again in the file (line, column, what was
    expected), else DuckDB's own diagnosis in this project's words."""
    found = locate(source, encoding, separator)
    if found:
        return f"{name} is not a CSV readable as given: {found}."
    return csv_problem(name, error, separator, encoding)


def excel_to_parquet(
    path: Path,
    out: Path,
    sheet: str | int = 0,
    cells: str | None = None,
    header_row: int | None = None,
) -> Converted:
    """Read a sheet (an Excel sheet holds at most 1,048,576 rows) as text and write it to
    Parquet, with the same rules as csv_to_parquet.

    Args:
        path: The workbook.
        out: The Parquet file to write.
        sheet: The sheet's name, or its position from 0.
        cells: A range such as "A2:I1000": its first row is the header, columns and rows
            outside it are ignored.
        header_row: The header's row number (from 1) when title rows sit above it.

    Raises:
        DumpUrlError: No such sheet, a bad range, no header row, column names that collide,
            or formula cells with no saved value (named: no value was computed for them).
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    first, last, columns = _window(cells, header_row)
    with path.open("rb") as start:
        is_xlsx = start.read(4) == b"PK\x03\x04"  # a zip: .xlsx (.xls keeps no formulas here)
    if is_xlsx:
        _refuse_uncomputed(path, sheet, first, last, columns)
    try:
        frame = pd.read_excel(
            path, sheet_name=sheet, dtype=str, keep_default_na=False, na_values=[""],
            skiprows=first - 1, nrows=None if last is None else last - first,
            usecols=columns,
        )  # fmt: skip
    except (ValueError, IndexError, KeyError) as error:
        if "not found" in str(error) or isinstance(error, IndexError):
            raise DumpUrlError(f"{path.name} has no sheet {sheet!r}: {error}") from None
        raise
    if frame.columns.empty:
        raise DumpUrlError(f"{path.name} has no header row.")
    frame = frame.set_axis(_names(frame.columns), axis=1)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out)
    return Converted(path=str(out), rows=len(frame), columns=list(frame.columns))


def _window(cells: str | None, header_row: int | None) -> tuple[int, int | None, str | None]:
    """(header row, last row or None, columns like "A:I" or None) of a range or header row."""
    if cells and header_row:
        raise DumpUrlError("Give range= (its first row is the header) or header_row=, not both.")
    if header_row is not None:
        if not isinstance(header_row, int) or header_row < 1:
            raise DumpUrlError(f"header_row={header_row!r} must be a row number from 1.")
        return header_row, None, None
    if not cells:
        return 1, None, None
    match = re.fullmatch(r"\s*([A-Za-z]{1,3})(\d+):([A-Za-z]{1,3})(\d+)?\s*", cells)
    if not match or int(match.group(2)) < 1:
        raise DumpUrlError(f"range={cells!r} is not a range such as 'A2:I1000' (or 'A2:I').")
    left, top, right, bottom = match.groups()
    last = int(bottom) if bottom else None
    if last is not None and last <= int(top):
        raise DumpUrlError(f"range={cells!r} holds no row below its header row {top}.")
    return int(top), last, f"{left.upper()}:{right.upper()}"


def _refuse_uncomputed(
    path: Path, sheet: str | int, first: int, last: int | None, columns: str | None
) -> None:
    """Refuse formula cells saved without their value (a workbook written by a program, never
    opened in Excel): they would read as empty."""
    from openpyxl import load_workbook

    # Opened as files: openpyxl judges a path by its extension, and a download has none.
    with path.open("rb") as one, path.open("rb") as other:
        formulas = load_workbook(one, read_only=True, data_only=False)
        values = load_workbook(other, read_only=True, data_only=True)
        _compare(path, formulas, values, sheet, first, last, columns)


def _compare(
    path: Path,
    formulas: Any,
    values: Any,
    sheet: str | int,
    first: int,
    last: int | None,
    columns: str | None,
) -> None:
    from openpyxl.utils import column_index_from_string

    try:
        names = formulas.sheetnames
        if (
            isinstance(sheet, int)
            and not 0 <= sheet < len(names)
            or (isinstance(sheet, str) and sheet not in names)
        ):
            raise DumpUrlError(
                f"{path.name} has no sheet {sheet!r}; its sheets: {', '.join(names)}."
            )
        name = names[sheet] if isinstance(sheet, int) else sheet
        left, right = (
            (column_index_from_string(c) for c in columns.split(":")) if columns else (None, None)
        )
        window = {"min_row": first, "max_row": last, "min_col": left, "max_col": right}
        found = []
        for row_f, row_v in zip(
            formulas[name].iter_rows(**window), values[name].iter_rows(**window), strict=False
        ):
            for cell_f, cell_v in zip(row_f, row_v, strict=False):
                text = getattr(cell_f, "value", None)
                if isinstance(text, str) and text.startswith("=") and cell_v.value is None:
                    found.append(cell_f.coordinate)
        if found:
            shown = ", ".join(found[:10]) + (
                f" and {len(found) - 10} more" if len(found) > 10 else ""
            )
            raise DumpUrlError(
                f"{path.name}, sheet {name!r}: formula cell(s) {shown} were saved without their "
                "value (the workbook was written by a program and never recalculated), so they "
                "would read as empty: open and save it in a spreadsheet program, or export it "
                "with values."
            )
    finally:
        formulas.close()
        values.close()
