"""Table and column names from users: parsed, validated and quoted for each SQL dialect."""

from __future__ import annotations

import re

from pipelines.errors import DumpError

_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_QUOTES = ('"', "`")


def split_name(name: str, max_parts: int = 2) -> list[str]:
    """The parts of a dotted name; each part bare (`schema`) or quoted (`"Weird Table"`,
    `` `Weird Table` ``, a quote inside written twice).

    Raises:
        DumpError: An empty or unterminated part, a NUL character, or too many parts.
    """
    if not isinstance(name, str) or not name or "\0" in name:
        raise DumpError(f"{name!r} is not a name.")
    parts: list[str] = []
    position = 0
    while True:
        if name[position : position + 1] in _QUOTES:
            quote = name[position]
            position += 1
            text = []
            while True:
                end = name.find(quote, position)
                if end == -1:
                    raise DumpError(f"{name!r}: a {quote} quote is not closed.")
                text.append(name[position:end])
                if name[end + 1 : end + 2] == quote:  # a doubled quote is one quote character
                    text.append(quote)
                    position = end + 2
                    continue
                position = end + 1
                break
            part = "".join(text)
            if not part:
                raise DumpError(f"{name!r}: an empty quoted name.")
        else:
            match = _BARE.match(name, position)
            if not match:
                raise DumpError(
                    f"{name!r} is not a name: use letters, digits, _ and $, or quote a part "
                    'with double quotes, e.g. "My Schema"."Weird Table".'
                )
            part, position = match.group(), match.end()
        parts.append(part)
        if position == len(name):
            break
        if name[position] != ".":
            raise DumpError(f"{name!r}: expected a dot after {part!r}.")
        position += 1
    if len(parts) > max_parts:
        raise DumpError(f"{name!r} has {len(parts)} parts; at most {max_parts} (schema.table).")
    return parts


def quote_ident(dialect: str, part: str) -> str:
    """One identifier quoted for the dialect (MySQL backticks, others double quotes)."""
    q = "`" if dialect == "mysql" else '"'
    return q + part.replace(q, q + q) + q


def quote(dialect: str, name: str) -> str:
    """A table (schema.table) or column name, parsed by split_name and quoted for dialect."""
    return ".".join(quote_ident(dialect, part) for part in split_name(name))


def check_distinct(names: list[str]) -> None:
    """Refuse columns whose names are equal after case folding (PostgreSQL's "X" and x): the
    warehouses and Parquet readers here take them for one, and would rename or merge them.

    Raises:
        DumpError: Naming each pair.
    """
    seen: dict[str, str] = {}
    pairs = []
    for name in names:
        key = name.casefold()
        if key in seen:
            pairs.append(f"{seen[key]!r} and {name!r}")
        else:
            seen[key] = name
    if pairs:
        raise DumpError(
            f"columns {'; '.join(pairs)} differ only in case, and DuckDB and BigQuery take "
            "such names for one column: alias one of each pair in query= (e.g. "
            'SELECT "X" AS x_upper, x FROM ...); nothing was written.'
        )
