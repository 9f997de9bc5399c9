"""Why a CSV cannot be read, in this project's words: the line, the column, what was
expected there and which of dump_url's own options (separator=, encoding=, format=) may fix
it; never DuckDB's options."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

# The longest field a CSV line may hold here (DuckDB's own line limit is the same order).
FIELD_LIMIT = 2 << 20
# A failing file is read again, in Python, up to this many bytes to find where it fails.
SCAN_LIMIT = 256 << 20


def locate(path: Path, encoding: str, separator: str) -> str | None:
    """Where and what a CSV's first problem is ("line 3, column 'b' (field 2): ..."), or
    None when none is found in its first SCAN_LIMIT bytes."""
    problem = _undecodable(path, encoding, separator)
    if problem:
        return problem
    previous_limit = csv.field_size_limit(FIELD_LIMIT)
    try:
        return _first_bad_record(path, encoding, separator)
    finally:
        csv.field_size_limit(previous_limit)


def _undecodable(path: Path, encoding: str, separator: str) -> str | None:
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    header: list[str] = []
    with path.open("rb") as file:
        for number, raw in enumerate(_lines(file), start=1):
            try:
                text = decoder.decode(raw)
            except UnicodeDecodeError as error:
                before = decoder.decode(raw[: error.start], final=False) if error.start else ""
                column = _column(header, before.count(separator))
                return (
                    f"line {number}, {column}: the bytes {raw[error.start : error.end]!r} are "
                    f"not {encoding} text; pass the file's encoding= (e.g. "
                    "encoding='latin-1' for an export from a Brazilian Excel)"
                )
            if number == 1:
                header = next(csv.reader([text], delimiter=separator), [])
    return None


def _lines(file: io.BufferedReader):
    """The file's lines (each at most FIELD_LIMIT bytes), up to SCAN_LIMIT bytes in all."""
    read = 0
    while read < SCAN_LIMIT and (line := file.readline(FIELD_LIMIT)):
        read += len(line)
        yield line


def _first_bad_record(path: Path, encoding: str, separator: str) -> str | None:
    with io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="") as text:
        reader = csv.reader(text, delimiter=separator, strict=True)
        header: list[str] = []
        start = 1
        try:
            for record in reader:
                if not header:
                    header = record
                elif len(record) > len(header):
                    return (
                        f"line {start} has {len(record)} fields where the header has "
                        f"{len(header)} (expected at most {len(header)}; the first without a "
                        f"name is field {len(header) + 1}): check separator= (it is "
                        f"{separator!r}) or the quotes on that line"
                    )
                start = reader.line_num + 1
                if text.buffer.tell() > SCAN_LIMIT:
                    return None
        except csv.Error as error:
            return _broken_record(path, encoding, separator, header, start, str(error))
    return None


def _broken_record(
    path: Path, encoding: str, separator: str, header: list[str], start: int, error: str
) -> str:
    """The record starting at line `start` broke the reader: an unclosed quote, a stray
    quote, or a field longer than FIELD_LIMIT."""
    line, number = "", 1
    with io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="") as text:
        # Line by line, at most FIELD_LIMIT at a time: a file with no line breaks stays bounded.
        while number <= start and (piece := text.readline(FIELD_LIMIT)):
            if number == start and len(line) < FIELD_LIMIT:
                line += piece
            number += piece.endswith(("\n", "\r"))
    opened = _open_quote_field(line[:FIELD_LIMIT], separator)
    if opened is not None:
        return (
            f"line {start}, {_column(header, opened)}: a quoted field never closes (expected a "
            'closing " before the end of its field); fix the quote in the file, or check '
            f"separator= (it is {separator!r})"
        )
    if "field larger" in error:
        return (
            f"line {start}: a field is longer than {FIELD_LIMIT >> 20} MiB (expected a line "
            "break sooner): a file that is not a CSV, or one with no line breaks; check format= "
            "('csv' or 'excel')"
        )
    stray = re.search(r"'(.)' expected after '\"'", error)
    what = f"expected {stray.group(1)!r} after a closing quote" if stray else error
    return (
        f'line {start}: {what}; a quote inside a field must be doubled (""), or check '
        f"separator= (it is {separator!r})"
    )


def _open_quote_field(line: str, separator: str) -> int | None:
    """The position (from 0) of the field whose opening quote the line does not close."""
    field, quoted, at_start, opened = 0, False, True, None
    index = 0
    while index < len(line):
        char = line[index]
        if quoted:
            if char == '"':
                if line[index + 1 : index + 2] == '"':
                    index += 1  # a doubled quote inside the field
                else:
                    quoted = False
        elif char == '"' and at_start:
            quoted, opened = True, field
        elif char == separator:
            field += 1
            at_start = True
            index += 1
            continue
        at_start = False
        index += 1
    return opened if quoted else None


def _column(header: list[str], position: int) -> str:
    if position < len(header):
        return f"column {header[position]!r} (field {position + 1})"
    return f"field {position + 1} (past the header's {len(header)})"


def csv_problem(name: str, error: str, separator: str, encoding: str) -> str:
    """DuckDB's reading error in this project's words, when the file itself was not read
    again (or showed nothing): where, what, and which option may fix it."""
    low = error.lower()
    line = re.search(r"\bline:? (\d+)", error, re.I)
    where = f" (line {line.group(1)})" if line else ""
    if "maximum line size" in low or "max_line_size" in low and "exceed" in low:
        what = (
            "a line is longer than a CSV line can be here (2 MiB): a file that is not a CSV, "
            "one with no line breaks, or a quote that never closes; check format= ('csv' or "
            "'excel') and the file"
        )
    elif "unicode" in low or "invalid utf" in low or "encoding" in low and "invalid" in low:
        what = (
            f"its bytes are not {encoding}: pass the file's encoding= (e.g. encoding='latin-1' "
            "for an export from a Brazilian Excel)"
        )
    elif "expected number of columns" in low or "too many columns" in low:
        what = f"rows have more fields than the header: check separator= (it is {separator!r})"
    elif "quote" in low or "dialect" in low:
        what = (
            'a quoted field ("...") never closes, or the text is not a CSV of this kind: fix '
            f"the quote in the file, or check separator= (it is {separator!r}) and encoding="
        )
    else:
        first = error.strip().splitlines()[0] if error.strip() else "no message"
        what = f"{first} (check separator=, encoding= and format=)"
    return f"{name} is not a CSV readable as given{where}: {what}."
