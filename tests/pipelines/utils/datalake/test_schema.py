"""Schema contracts on write_parquet_partitions and write_parquet_file, on the local datalake
and warehouse: what each on_schema_change takes and refuses, and the history kept."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prefect import Flow

from pipelines.errors import SchemaContractError
from pipelines.utils.datalake import get_datalake
from pipelines.utils.datalake.schema import (
    compare,
    plan_change,
    read_history,
    widens,
)
from pipelines.utils.datalake.tasks import write_parquet_file, write_parquet_partitions
from pipelines.utils.execution import run_local
from pipelines.utils.warehouse import get_warehouse
from pipelines.utils.warehouse.tasks import load_to_warehouse


@pytest.mark.parametrize(
    ("old", "new", "wider"),
    [
        ("SMALLINT", "INTEGER", True), ("INTEGER", "BIGINT", True), ("BIGINT", "INTEGER", False),
        ("UINTEGER", "BIGINT", True), ("BIGINT", "UBIGINT", False), ("FLOAT", "DOUBLE", True),
        ("DOUBLE", "FLOAT", False), ("INTEGER", "DOUBLE", True), ("BIGINT", "DOUBLE", False),
        ("DECIMAL(10,2)", "DECIMAL(12,2)", True), ("DECIMAL(10,2)", "DECIMAL(12,3)", False),
        ("INTEGER", "VARCHAR", False), ("NULL", "VARCHAR", True), ("DATE", "TIMESTAMP", False),
    ],
)  # fmt: skip
def test_only_exact_widenings_widen(old, new, wider):
    assert widens(old, new) is wider


def test_compare_names_every_kind_of_change_and_a_likely_rename():
    change = compare(
        {"id": "INTEGER", "v": "INTEGER", "n": "SMALLINT", "note": "VARCHAR", "t": "TIMESTAMP"},
        {"id": "BIGINT", "v": "VARCHAR", "n": "TINYINT", "remark": "VARCHAR", "t": "TIMESTAMP_NS"},
    )
    assert change.lines() == [
        "new column 'remark' (VARCHAR)",
        "column 'note' (VARCHAR) is not in the new rows",
        "column 'id' widened from INTEGER to BIGINT",
        "column 'v' changed type from INTEGER to VARCHAR",
        "'note' may have been renamed to 'remark'",
    ]  # TINYINT rows in a SMALLINT column, and another timestamp unit, change nothing


def test_overwrite_takes_any_schema_and_append_keeps_missing_columns():
    old = {"a": "INTEGER", "b": "VARCHAR"}
    rebuilt = plan_change("d.t", old, {"a": "VARCHAR"}, "fail", "overwrite", "", first=False)
    assert rebuilt.table == {"a": "VARCHAR"} and not rebuilt.rewrite
    kept = plan_change(
        "d.t", old, {"a": "BIGINT", "c": "DATE"}, "append_new_columns", "append", "", False
    )
    assert kept.table == {"a": "BIGINT", "b": "VARCHAR", "c": "DATE"}
    with pytest.raises(SchemaContractError, match="on_schema_change='fail' refuses any change"):
        plan_change("d.t", old, {"a": "INTEGER"}, "fail", "append", "", first=False)


def _write(frame, on_schema_change="append_new_columns", mode="append", column="day"):
    with Flow("write") as flow:
        written = write_parquet_partitions(
            frame, "tests", "t", partition_column=column, mode=mode,
            on_schema_change=on_schema_change,
        )  # fmt: skip
        load_to_warehouse(written)
    state = run_local(flow)
    failed = [str(s.result) for s in state.result.values() if s.is_failed()]
    return state, failed


def _days(start: int, count: int, **columns) -> pd.DataFrame:
    days = [dt.date(2024, 1, start + i) for i in range(count)]
    return pd.DataFrame({"day": days, **{k: v[:count] for k, v in columns.items()}})


def test_a_new_column_reads_null_in_older_partitions_and_a_missing_one_stays(local_env):
    assert _write(_days(1, 2, v=pd.array([1, 2], "int32"), note=["a", "b"]))[0].is_successful()
    state, _ = _write(_days(3, 1, v=pd.array([3], "int64"), extra=["x"]))
    assert state.is_successful()
    rows = get_warehouse().rows("SELECT day, v, note, extra FROM tests.t ORDER BY day")
    assert rows == [
        (dt.date(2024, 1, 1), 1, "a", None),
        (dt.date(2024, 1, 2), 2, "b", None),
        (dt.date(2024, 1, 3), 3, None, "x"),
    ]
    described = "SELECT column_name, data_type FROM information_schema.columns WHERE "
    kinds = dict(get_warehouse().rows(described + "table_name = 't'"))
    assert kinds["v"] == "BIGINT"  # widened for the whole table
    history = read_history(get_datalake(), "tests/t")
    assert [h["changes"] for h in history] == [
        ["first recorded"],
        ["new column 'extra' (VARCHAR)", "column 'note' (VARCHAR) is not in the new rows",
         "column 'v' widened from INTEGER to BIGINT",
         "'note' may have been renamed to 'extra'"],
    ]  # fmt: skip
    assert history[-1]["columns"] == [
        ["day", "DATE"], ["v", "BIGINT"], ["note", "VARCHAR"], ["extra", "VARCHAR"]
    ]  # fmt: skip
    # The new partition's file holds every declared column; the old ones are untouched.
    files = sorted((local_env / "datalake" / "tests" / "t").rglob("*.parquet"))
    assert [pq.read_schema(f).names for f in files] == [
        ["day", "v", "note"], ["day", "v", "note"], ["day", "v", "note", "extra"]
    ]  # fmt: skip


def test_a_retyped_column_is_refused_and_nothing_changes(local_env):
    assert _write(_days(1, 2, v=[1, 2]))[0].is_successful()
    before = sorted(p.name for p in (local_env / "datalake").rglob("*.parquet"))
    state, failed = _write(_days(3, 1, v=["three"]))
    assert not state.is_successful()
    assert any(
        "tests.t: column 'v' changed type from BIGINT to VARCHAR in the new rows" in m
        and "Nothing was published" in m
        and "cast v back to BIGINT before writing" in m
        for m in failed
    ), failed
    assert sorted(p.name for p in (local_env / "datalake").rglob("*.parquet")) == before
    assert len(read_history(get_datalake(), "tests/t")) == 1
    assert get_warehouse().rows("SELECT count(*) FROM tests.t") == [(2,)]


def test_sync_all_columns_rewrites_kept_partitions_and_refuses_a_changed_value(local_env):
    assert _write(_days(1, 2, v=[1, 2], note=["a", "b"]))[0].is_successful()
    state, _ = _write(_days(3, 1, v=["3"]), on_schema_change="sync_all_columns")
    assert state.is_successful()
    rows = get_warehouse().rows("SELECT * EXCLUDE (ano, mes, data) FROM tests.t ORDER BY day")
    assert rows == [(dt.date(2024, 1, 1), "1"), (dt.date(2024, 1, 2), "2"),
                    (dt.date(2024, 1, 3), "3")]  # fmt: skip
    for file in (local_env / "datalake" / "tests" / "t").rglob("*.parquet"):
        assert pq.read_schema(file).names == ["day", "v"]  # kept partitions rewritten
    # Text to whole numbers: '007' would read back as '7', so the write is refused.
    state, failed = _write(_days(1, 1, v=["007"]), mode="append")
    assert state.is_successful()  # replaces the first day: same type, nothing to cast
    state, failed = _write(_days(4, 1, v=[4]), on_schema_change="sync_all_columns")
    assert not state.is_successful()
    assert any("its value '007' would change" in m for m in failed), failed
    assert get_warehouse().rows("SELECT count(*) FROM tests.t") == [(3,)]


def test_a_failed_load_puts_the_schema_history_back_with_the_folder(local_env, monkeypatch):
    from pipelines.utils.warehouse.duckdb_warehouse import DuckDBWarehouse

    assert _write(_days(1, 1, v=[1]))[0].is_successful()
    history = local_env / "datalake" / "_schemas" / "tests" / "t.json"
    before = history.read_text()

    def broken(*args, **kwargs):
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(DuckDBWarehouse, "_replace", broken)
    state, _ = _write(_days(2, 1, v=[2], extra=["x"]))
    assert not state.is_successful()
    assert history.read_text() == before
    assert json.loads(before)[-1]["columns"] == [["day", "DATE"], ["v", "BIGINT"]]


def test_a_file_appended_by_dump_url_keeps_the_contract(local_env, tmp_path):
    def write(columns: dict, on_schema_change: str):
        path = tmp_path / "part.parquet"
        pq.write_table(pa.table(columns), path)
        with Flow("file") as flow:
            write_parquet_file(str(path), len(next(iter(columns.values()))), "tests", "f",
                               mode="append", on_schema_change=on_schema_change)  # fmt: skip
        state = run_local(flow)
        return state, [str(s.result) for s in state.result.values() if s.is_failed()]

    assert write({"a": ["1"], "b": ["x"]}, "fail")[0].is_successful()
    state, failed = write({"a": ["2"], "c": ["y"]}, "fail")
    assert not state.is_successful()
    assert any("new column 'c' (VARCHAR)" in m and "'b' may have been renamed to 'c'" in m
               for m in failed), failed  # fmt: skip
    assert write({"a": ["2"], "c": ["y"]}, "append_new_columns")[0].is_successful()
    assert read_history(get_datalake(), "tests/f")[-1]["columns"] == [
        ["a", "VARCHAR"], ["b", "VARCHAR"], ["c", "VARCHAR"]
    ]  # fmt: skip


def test_a_refused_change_is_the_failure_alerts_message(local_env, monkeypatch):
    from pipelines.utils.pipeline_flow import PipelineFlow
    from tests.support.webhook import Webhook

    assert _write(_days(1, 1, v=[1]))[0].is_successful()
    hook = Webhook()
    monkeypatch.setenv("PIPELINES_FAILURE_WEBHOOK_URL", hook.url)
    try:
        with PipelineFlow("emd: drift", org="emd", code_owners=["ana"]) as flow:
            write_parquet_partitions(_days(2, 1, v=["two"]), "tests", "t", partition_column="day")
        assert run_local(flow).is_failed()
    finally:
        hook.close()
    (post,) = hook.posts
    assert "\nwrite_parquet_partitions: " in post["text"]
    assert (
        "tests.t: column 'v' changed type from BIGINT to VARCHAR in the new rows; "
        "on_schema_change='append_new_columns' only adds columns"
    ) in post["text"]
