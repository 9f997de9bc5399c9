"""Tasks that read, clean and type pandas DataFrames."""

from pipelines.utils.dataframe.tasks import (
    cast_columns,
    clean_dataframe,
    read_csv,
    snake_case_columns,
)

__all__ = ["cast_columns", "clean_dataframe", "read_csv", "snake_case_columns"]
