"""Prefect tasks to read a CSV, clean it and give its columns types."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import prefect
from prefect import task

from pipelines.utils.context import current_settings
from pipelines.utils.dataframe.cleaning import cast, clean, snake_case_names
from pipelines.utils.dataframe.separators import (
    SAMPLE_BYTES,
    one_column_problem,
    shown,
    sniff_separator,
)


@task
def read_csv(
    source: str, separator: str | None = None, na_values: list[str] | None = None
) -> pd.DataFrame:
    """Read a CSV file as text columns, so nothing is guessed before cast_columns.

    Args:
        source: Path of the file; relative paths are read from the repository root, so the
            same parameter works locally and in the flow-run image.
        separator: Field separator; by default read from the file (, ; tab or |) and logged.
        na_values: Extra markers of missing values (only the empty field by default, so text
            such as "None of the above" or "NA" survives).

    Returns:
        The rows, every column as text.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It read as one column whose header holds another separator.
    """
    path = Path(source)
    if not path.is_absolute():
        path = current_settings().root / path
    if not path.is_file():
        raise FileNotFoundError(f"CSV file {path} does not exist.")
    logger = prefect.context.get("logger")
    if separator is None:
        with path.open(encoding="utf-8", errors="replace", newline="") as file:
            separator = sniff_separator(file.read(SAMPLE_BYTES)) or ","
        logger.info(
            "Separator: %s (read from the file; pass separator= to set it)", shown(separator)
        )
    frame = pd.read_csv(
        path,
        sep=separator,
        dtype=str,
        keep_default_na=False,
        na_values=["", *(na_values or [])],
    )
    problem = one_column_problem([str(c) for c in frame.columns], separator)
    if problem:
        raise ValueError(f"{path.name}: {problem}")
    logger.info("Read %s rows x %s columns from %s", *frame.shape, path)
    return frame


@task
def clean_dataframe(frame: pd.DataFrame) -> pd.DataFrame:
    """Snake-case column names, trim text, turn blank text into NA, drop empty/duplicate rows.

    Args:
        frame: Rows to clean.

    Returns:
        The cleaned rows (a new DataFrame).

    Raises:
        ValueError: Two columns get the same snake_case name.
    """
    cleaned, dropped = clean(frame)
    prefect.context.get("logger").info(
        "Cleaned %s rows: dropped %s empty and %s duplicate row(s)",
        len(cleaned),
        dropped["empty_rows"],
        dropped["duplicate_rows"],
    )
    return cleaned


@task
def snake_case_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename columns to snake_case ASCII and keep every row and value as it is.

    Args:
        frame: Rows whose column names come from a file's header.

    Returns:
        The same rows, renamed.

    Raises:
        ValueError: Two columns get the same name.
    """
    return frame.set_axis(snake_case_names(frame.columns), axis=1)


@task
def cast_columns(
    frame: pd.DataFrame,
    types: dict[str, str],
    formats: dict[str, str] | None = None,
    decimal: str = ".",
) -> pd.DataFrame:
    """Give columns types: string, int, float, bool, date or timestamp. Nothing is guessed:
    dates and numbers are read in the form given, or refused.

    Args:
        frame: Rows to convert.
        types: Column -> type. Timestamps without an offset are read in America/Sao_Paulo.
        formats: Column -> its date or timestamp form (strftime codes), e.g.
            {"data": "%d/%m/%Y"}; without one, only ISO 8601 text (2024-03-04) is read.
        decimal: The decimal mark of numbers given as text: "." or "," ("1.234,56").

    Returns:
        The converted rows.

    Raises:
        ValueError: Unknown type, missing column, or values that do not parse: the column,
            examples and the option that reads them (with formats=, the first row that does
            not match).

    Example:
        cast_columns(frame, {"data": "date", "valor": "float"},
                     formats={"data": "%d/%m/%Y"}, decimal=",")
    """
    return cast(frame, types, formats, decimal)
