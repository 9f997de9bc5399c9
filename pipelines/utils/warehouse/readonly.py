"""What `manage.py query` accepts: one read-only statement."""

from __future__ import annotations

import re

from pipelines.errors import NotReadOnlyError

__all__ = ["NotReadOnlyError", "check_read_only"]


# Statements that only read. Locally DuckDB's own parser decides; elsewhere (BigQuery) the
# statement must be a plain SELECT, as the production warehouse is shared.
_LOCAL_TYPES = ("SELECT", "EXPLAIN")
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


_ENGINE = {"duckdb": "DuckDB", "bigquery": "BigQuery"}


def check_read_only(sql: str, dialect: str) -> None:
    """Refuse anything but one read-only statement.

    Args:
        sql: The text the user gave.
        dialect: The warehouse's (Resources.dialect): "duckdb" or "bigquery".

    Raises:
        NotReadOnlyError: Empty text, several statements, or a statement that writes (COPY ...
            TO a file, CREATE, INSERT, ATTACH, INSTALL ...); on BigQuery, anything but SELECT.
    """
    if not _COMMENTS.sub("", sql).strip().strip(";").strip():
        raise NotReadOnlyError(
            'Nothing to run: give one SQL statement, e.g. "SELECT * FROM dataset.table LIMIT 5".'
        )
    if dialect == "duckdb":
        import duckdb

        try:
            statements = duckdb.connect().extract_statements(sql)
        except duckdb.Error as error:
            raise NotReadOnlyError(f"Query does not parse: {error}") from None
        kinds = [statement.type.name for statement in statements]
        allowed: tuple[str, ...] = _LOCAL_TYPES
    else:
        body = _COMMENTS.sub("", sql).strip().rstrip(";").strip()
        kinds = ["MULTIPLE"] * 2 if ";" in body else [body.split(None, 1)[0].upper()]
        kinds = ["SELECT" if kind == "WITH" else kind for kind in kinds]
        allowed = ("SELECT",)
    if len(kinds) != 1:
        raise NotReadOnlyError(
            f"query runs one statement at a time; this text holds {len(kinds)}. Run them one "
            "by one."
        )
    if kinds[0] not in allowed:
        raise NotReadOnlyError(
            f"query is read-only and this is a {kinds[0]} statement; it runs "
            f"{' or '.join(allowed)} only (on {_ENGINE[dialect]}). Write data with a flow."
        )
