"""Tasks that write DataFrames into the datalake as date-partitioned Parquet."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pandas as pd
import prefect
import pyarrow as pa
import pyarrow.parquet as pq
from prefect import task

from pipelines.constants import TIMEZONE
from pipelines.errors import DatalakeError
from pipelines.utils.datalake.base import (
    MODES,
    DatalakeWrite,
    grain_depth,
    null_partition,
    partition_columns,
    partition_keys,
    partition_path,
    table_prefix,
)
from pipelines.utils.datalake.factory import get_datalake
from pipelines.utils.datalake.publish import publish_files
from pipelines.utils.datalake.schema import (
    arrow_columns,
    check_on_schema_change,
    conform_file,
    conform_table,
    conforms,
    parquet_columns,
    schema_plan,
)
from pipelines.utils.scratch import temporary_folder
from pipelines.utils.warehouse.factory import begin_table_write


def _partition_days(frame: pd.DataFrame, column: str, partition_by: str = "day") -> pd.Series:
    """The city's calendar day of each row, from a date or timestamp column; at the year
    grain, an integer year column gives its year's first day, and two whole-number columns
    (year,month) their month's."""
    names = partition_columns(column, partition_by)
    if len(names) == 2:
        years, months = frame[names[0]], frame[names[1]]
        if not all(pd.api.types.is_integer_dtype(v) for v in (years, months)):
            raise TypeError(f"partition_column {column!r}: both must hold whole numbers.")
        return pd.Series(
            [dt.date(int(y), int(m), 1) for y, m in zip(years, months, strict=True)],
            index=frame.index,
        )
    values = frame[column]
    if partition_by == "year" and pd.api.types.is_integer_dtype(values):
        return values.map(lambda year: None if pd.isna(year) else dt.date(int(year), 1, 1))
    if pd.api.types.is_integer_dtype(values):
        raise TypeError(
            f"partition_column {column!r} holds whole numbers; it must hold dates or timestamps "
            "(a year column partitions with partition_by='year')."
        )
    if pd.api.types.is_datetime64_any_dtype(values):
        if values.dt.tz is not None:
            values = values.dt.tz_convert(TIMEZONE)
        return values.dt.date
    if values.map(lambda v: isinstance(v, dt.date)).all():
        return values.map(lambda v: v.date() if isinstance(v, dt.datetime) else v)
    raise TypeError(
        f"partition_column {column!r} has dtype {values.dtype}; it must hold dates or "
        f"timestamps (cast it first, e.g. with cast_columns)."
    )


@task
def write_parquet_partitions(
    frame: pd.DataFrame,
    dataset_id: str,
    table_id: str,
    partition_column: str | None = None,
    mode: str = "append",
    partition_by: str = "day",
    on_schema_change: str = "append_new_columns",
) -> DatalakeWrite:
    """Write a DataFrame to the datalake as Parquet, one folder per day (or month, or year).

    Partitions are Hive-style ano=YYYY/mes=MM/data=YYYY-MM-DD folders under
    <dataset_id>/<table_id> (ano_particao=/mes_particao=/data_particao= when the frame has
    its own ano, mes or data column, as dump_db does). Each partition is written whole and
    swapped in, so rerunning a period replaces its rows instead of duplicating them.

    Args:
        frame: The rows to write.
        dataset_id: Dataset (folder, warehouse schema) of the table.
        table_id: Table name.
        partition_column: A date or timestamp column to partition by; None for one file.
        mode: "append" keeps the partitions the rows do not touch and replaces those they do;
            "overwrite" makes the table hold exactly these rows.
        partition_by: "day" (ano=/mes=/data= folders), "month" (ano=/mes=) or "year" (ano=);
            at the year grain the column may be an integer year, and by month
            partition_column may name two whole-number columns, "year,month".
        on_schema_change: What the rows may change of the table's columns (mode="overwrite"
            takes any): "append_new_columns" adds new columns and widens types exactly,
            refusing other type changes; "fail" refuses any change; "sync_all_columns"
            makes the table take the rows' columns, rewriting the partitions it keeps.

    Returns:
        Where the rows went, how many, which partitions, and any schema change.

    Raises:
        DatalakeError: Unknown mode, missing column, columns named like both sets of
            partition keys, or two columns whose names differ only in case.
        TypeError: The partition column holds neither dates nor timestamps.
        DatalakeError: A written file does not hold the rows it was given.
        SchemaContractError: A schema change on_schema_change refuses (nothing is published).
    """
    if mode not in MODES:
        raise DatalakeError(f"mode={mode!r} must be one of {', '.join(MODES)}.")
    grain_depth(partition_by)
    check_on_schema_change(on_schema_change)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    prefix = table_prefix(dataset_id, table_id)
    folded: dict[str, str] = {}
    for column in map(str, frame.columns):
        if column.casefold() in folded:
            raise DatalakeError(
                f"columns {folded[column.casefold()]!r} and {column!r} differ only in case, and "
                "DuckDB and BigQuery take such names for one column: rename one before writing."
            )
        folded[column.casefold()] = column
    if partition_column is not None:
        for name in partition_columns(partition_column, partition_by):
            if name not in frame.columns:
                raise DatalakeError(
                    f"partition_column {name!r} is not a column; columns: "
                    f"{', '.join(map(str, frame.columns))}."
                )
        # A frame with its own ano, mes or data column gets ano_particao=... folders, as
        # dump_db does: a partition key never shadows a column.
        partition_names = partition_keys(map(str, frame.columns), partition_by)
    logger = prefect.context.get("logger")
    datalake = get_datalake()
    groups: list[tuple[str, pd.DataFrame]]
    if partition_column is None:
        groups = [("", frame)]
    else:
        days = _partition_days(frame, partition_column, partition_by)
        # Grouped by folder, not by day: a month's (or a year's) days are one partition.
        folders = days.map(
            lambda day: (
                null_partition(partition_names)
                if day is None or pd.isna(day)
                else partition_path(day, partition_names)
            )
        )
        groups = list(frame.groupby(folders, sort=True))
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    begin_table_write(datalake, prefix)
    partitions: list[str] = []
    files: dict[str, dict[str, Path]] = {}
    with temporary_folder("pipelines-parquet-") as tmp:
        # Every partition is built with the frame's schema: its columns are read once.
        columns = arrow_columns(schema)
        plan = schema_plan(
            datalake, prefix, columns, on_schema_change, mode, tmp, logger,
            "cast {column} back to {type} before writing (cast_columns does)",
        )  # fmt: skip
        for partition, part in groups:
            name = f"{table_id}-{uuid.uuid4().hex[:12]}.parquet"
            local = tmp / name
            table = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
            pq.write_table(conform_table(table, plan.table, columns), local)
            written_rows = pq.read_metadata(local).num_rows
            if written_rows != len(part):
                raise DatalakeError(
                    f"{partition or prefix}: wrote {written_rows} rows but was given {len(part)}."
                )
            files[partition] = {name: local}
            partitions.append(partition or name)
        keys = publish_files(
            datalake, prefix, files, mode, partition_column is not None, plan, tmp, move=True
        )
    for partition, part in groups:
        target = f"{prefix}/{partition}" if partition else prefix
        logger.info("Wrote %s rows to %s", len(part), datalake.uri(target))
    summary = f"; {plan.summary()}" if plan.summary() else ""
    return DatalakeWrite(
        dataset_id=dataset_id,
        table_id=table_id,
        location=(
            f"{datalake.uri(prefix)} ({len(frame)} rows in {len(partitions)} partition(s))"
            + summary
        ),
        rows=len(frame),
        partitions=partitions,
        keys=keys,
        mode=mode,
    )


@task
def write_parquet_file(
    path: str,
    rows: int,
    dataset_id: str,
    table_id: str,
    mode: str = "append",
    on_schema_change: str = "append_new_columns",
) -> DatalakeWrite:
    """Publish a Parquet file written elsewhere (a streamed conversion) as an unpartitioned
    table: the file is moved, not read into memory.

    Args:
        path: The local Parquet file; it is gone afterwards.
        rows: Rows it must hold (checked against its metadata before anything is published).
        dataset_id: Dataset (folder, warehouse schema) of the table.
        table_id: Table name.
        mode: "overwrite" makes the table this file alone; "append" adds it.
        on_schema_change: What the file may change of the table's columns when appended:
            "append_new_columns", "fail" or "sync_all_columns" (see write_parquet_partitions).

    Returns:
        Where the rows went and how many.

    Raises:
        DatalakeError: Unknown mode, or the file does not hold `rows` rows.
        SchemaContractError: A schema change on_schema_change refuses (nothing is published).
    """
    if mode not in MODES:
        raise DatalakeError(f"mode={mode!r} must be one of {', '.join(MODES)}.")
    check_on_schema_change(on_schema_change)
    prefix = table_prefix(dataset_id, table_id)
    local = Path(path)
    written_rows = pq.read_metadata(local).num_rows
    if written_rows != rows:
        raise DatalakeError(f"{local.name} holds {written_rows} rows, not {rows}.")
    datalake = get_datalake()
    logger = prefect.context.get("logger")
    name = f"{table_id}-{uuid.uuid4().hex[:12]}.parquet"
    begin_table_write(datalake, prefix)
    columns = parquet_columns([local])
    with temporary_folder("pipelines-parquet-") as tmp:
        plan = schema_plan(
            datalake, prefix, columns, on_schema_change, mode, tmp, logger,
            "cast {column} back to {type} before writing",
        )  # fmt: skip
        if not conforms(columns, plan.table):
            conform_file(local, tmp / name, plan.table)
            local.unlink()
            local = tmp / name
        keys = publish_files(datalake, prefix, {"": {name: local}}, mode, False, plan, tmp, True)
    target = prefix if mode == "overwrite" else f"{prefix}/{name}"
    logger.info("Wrote %s rows to %s", rows, datalake.uri(target))
    summary = f"; {plan.summary()}" if plan.summary() else ""
    return DatalakeWrite(
        dataset_id=dataset_id,
        table_id=table_id,
        location=f"{datalake.uri(prefix)} ({rows} rows in 1 file){summary}",
        rows=rows,
        partitions=[name],
        keys=keys,
        mode=mode,
    )
