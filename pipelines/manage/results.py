"""Print a query's rows as a text table: exact values, NULL never confused with text."""

from __future__ import annotations

import datetime as dt
import decimal

NULL = "NULL"


def cell(value: object) -> str:
    """One value as text: decimals and floats exactly (no scientific rounding), NULL as
    NULL, and a text that would read as NULL or has edge spaces in quotes."""
    if value is None:
        return NULL
    if isinstance(value, str):
        if value == NULL or value != value.strip() or value == "":
            return "'" + value.replace("'", "''") + "'"
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    return str(value)


def render(columns: list[str], rows: list[tuple]) -> str:
    """A table with a header, numbers right-aligned, one line per row (newlines escaped)."""
    texts = [[cell(v).replace("\n", "\\n") for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in texts:
        widths = [max(w, len(t)) for w, t in zip(widths, row, strict=True)]
    numeric = [
        bool(rows) and all(isinstance(row[i], int | float | decimal.Decimal) for row in rows
                           if row[i] is not None and not isinstance(row[i], bool))
        and any(row[i] is not None for row in rows)
        for i in range(len(columns))
    ]  # fmt: skip

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(list(columns)), *(line(row) for row in texts)])
