"""write_parquet_partitions: partition layout, modes, row checks and input errors."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow.parquet as pq
import pytest
from prefect import Flow

from pipelines.utils.datalake.tasks import write_parquet_partitions


@pytest.fixture(autouse=True)
def local_env(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_ENV", "local")
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))


def run_write(frame, **kwargs):
    with Flow("write") as flow:
        result = write_parquet_partitions(frame, "ds", "tbl", **kwargs)
    state = flow.run()
    return state.result[result]


def frame_of(days: list[str]) -> pd.DataFrame:
    stamps = pd.to_datetime(days).tz_localize("America/Sao_Paulo")
    return pd.DataFrame({"at": stamps, "value": range(len(days))})


def test_partitions_by_the_city_calendar_day(tmp_path):
    # 02:30 UTC on the 2nd is still the 1st in Sao Paulo (UTC-3).
    frame = pd.DataFrame(
        {"at": pd.to_datetime(["2024-01-02 02:30", "2024-01-02 04:00"], utc=True), "v": [1, 2]}
    )
    written = run_write(frame, partition_column="at").result
    assert written.partitions == [
        "ano=2024/mes=01/data=2024-01-01",
        "ano=2024/mes=01/data=2024-01-02",
    ]
    assert written.rows == 2


def test_append_replaces_touched_partitions_and_keeps_the_others(tmp_path):
    run_write(frame_of(["2024-01-01", "2024-01-02"]), partition_column="at")
    run_write(frame_of(["2024-01-02", "2024-01-02", "2024-01-03"]), partition_column="at")
    files = sorted((tmp_path / "datalake/ds/tbl").rglob("*.parquet"))
    rows = {f.parent.name: pq.read_metadata(f).num_rows for f in files}
    assert rows == {"data=2024-01-01": 1, "data=2024-01-02": 2, "data=2024-01-03": 1}


def test_overwrite_drops_partitions_not_in_the_data(tmp_path):
    run_write(frame_of(["2024-01-01", "2024-01-02"]), partition_column="at")
    run_write(frame_of(["2024-01-03"]), partition_column="at", mode="overwrite")
    assert [f.parent.name for f in (tmp_path / "datalake/ds/tbl").rglob("*.parquet")] == [
        "data=2024-01-03"
    ]


def test_dates_partition_too():
    frame = pd.DataFrame({"day": [dt.date(2024, 5, 1)], "v": [1]})
    assert run_write(frame, partition_column="day").result.partitions == [
        "ano=2024/mes=05/data=2024-05-01"
    ]


def test_a_frame_with_its_own_data_column_partitions_as_dump_db_does():
    """A city table often has its own `data` (a date) or `ano`: the partition folders take
    the suffixed names, and the warehouse reads both, typed, side by side."""
    from pipelines.utils.warehouse import get_warehouse
    from pipelines.utils.warehouse.tasks import load_to_warehouse

    frame = frame_of(["2024-01-01", "2024-02-10"]).assign(
        data=["01/01/2024", "10/02/2024"], ano=[2023, 2024]
    )
    with Flow("write and load") as flow:
        written = write_parquet_partitions(frame, "ds", "tbl", partition_column="at")
        load_to_warehouse(written)
    state = flow.run()
    assert state.is_successful(), state.result
    assert state.result[written].result.partitions == [
        "ano_particao=2024/mes_particao=01/data_particao=2024-01-01",
        "ano_particao=2024/mes_particao=02/data_particao=2024-02-10",
    ]
    rows = get_warehouse().rows(
        "SELECT data, ano, ano_particao, mes_particao, data_particao FROM ds.tbl ORDER BY ano"
    )
    assert rows == [
        ("01/01/2024", 2023, 2024, 1, dt.date(2024, 1, 1)),
        ("10/02/2024", 2024, 2024, 2, dt.date(2024, 2, 10)),
    ]


@pytest.mark.parametrize(
    ("kwargs", "frame", "message"),
    [
        ({"mode": "upsert"}, frame_of(["2024-01-01"]), "mode='upsert' must be one of"),
        ({"partition_column": "nope"}, frame_of(["2024-01-01"]), "partition_column 'nope' is not"),
        ({"partition_column": "value"}, frame_of(["2024-01-01"]), "must hold dates or timestamps"),
        (
            {"partition_column": "at"},
            frame_of(["2024-01-01"]).assign(data=1, mes_particao=2),
            "the table has columns named like the partition keys ano/mes/data and "
            "ano_particao/mes_particao/data_particao",
        ),
        (
            {},
            frame_of(["2024-01-01"]).assign(Value=1),
            "columns 'value' and 'Value' differ only in case",
        ),
    ],
)
def test_bad_input_fails_with_a_specific_message(kwargs, frame, message):
    state = run_write(frame, **kwargs)
    assert state.is_failed()
    assert message in str(state.result)


@pytest.mark.parametrize(
    ("partition_by", "column", "values", "folders", "keys"),
    [
        ("month", "at", ["2024-01-05", "2024-01-20", "2024-02-10"],
         ["ano=2024/mes=01", "ano=2024/mes=02"], "ano, mes"),
        ("year", "at", ["2023-12-31", "2024-01-01", "2024-06-30"], ["ano=2023", "ano=2024"],
         "ano"),
        ("year", "exercicio", [2023, 2024, 2024], ["ano=2023", "ano=2024"], "ano"),
        ("month", "exercicio,mes_ref", [(2024, 1), (2024, 1), (2024, 2)],
         ["ano=2024/mes=01", "ano=2024/mes=02"], "ano, mes"),
    ],
)  # fmt: skip
def test_a_table_partitions_by_month_or_year_and_reads_typed_keys(
    partition_by, column, values, folders, keys
):
    from pipelines.utils.warehouse import get_warehouse
    from pipelines.utils.warehouse.tasks import load_to_warehouse

    if column == "at":
        frame = frame_of(values)
    elif "," in column:  # whole-number year and month columns
        years, months = zip(*values, strict=True)
        frame = pd.DataFrame({"exercicio": years, "mes_ref": months, "value": range(len(values))})
    else:  # an integer year column, as budget tables have
        frame = pd.DataFrame({column: values, "value": range(len(values))})
    with Flow("by grain") as flow:
        written = write_parquet_partitions(frame, "ds", "tbl", partition_column=column,
                                           partition_by=partition_by)  # fmt: skip
        load_to_warehouse(written)
    state = flow.run()
    assert state.is_successful(), state.result
    assert state.result[written].result.partitions == folders
    rows = get_warehouse().rows(f"SELECT {keys}, count(*) FROM ds.tbl GROUP BY ALL ORDER BY ALL")
    expected = {"month": [(2024, 1, 2), (2024, 2, 1)], "year": [(2023, 1), (2024, 2)]}
    assert rows == expected[partition_by]

    # The last row alone, appended, replaces its whole month (year) and keeps the others:
    # February held only it; 2024 held two rows.
    with Flow("again") as flow:
        again = write_parquet_partitions(frame.iloc[-1:], "ds", "tbl", partition_column=column,
                                         partition_by=partition_by)  # fmt: skip
        load_to_warehouse(again)
    assert flow.run().is_successful()
    assert get_warehouse().row_count("ds", "tbl") == {"month": 3, "year": 2}[partition_by]


@pytest.mark.parametrize(
    ("partition_by", "frame", "message"),
    [
        ("week", frame_of(["2024-01-01"]), "partition_by='week' must be one of year, month, day"),
        ("month", pd.DataFrame({"ano": [2024]}), "holds whole numbers; it must hold dates or "
         "timestamps (a year column partitions with partition_by='year')"),
    ],
)  # fmt: skip
def test_a_grain_that_cannot_be_is_refused(partition_by, frame, message):
    column = "ano" if "ano" in frame.columns else "at"
    state = run_write(frame, partition_column=column, partition_by=partition_by)
    assert state.is_failed() and message in str(state.result)
