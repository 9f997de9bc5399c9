"""DuckDB warehouse: loads mirror the datalake, types survive, errors are specific."""

from __future__ import annotations

import decimal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.utils.datalake import LocalDatalake
from pipelines.utils.warehouse.duckdb_warehouse import DuckDBWarehouse


def write(lake: LocalDatalake, tmp_path, key_prefix: str, table: pa.Table, name: str = "f.parquet"):
    local = tmp_path / name
    pq.write_table(table, local)
    lake.replace_prefix(key_prefix, {name: local})


def test_load_mirrors_the_datalake_with_partition_columns(tmp_path):
    lake, warehouse = LocalDatalake(tmp_path / "lake"), DuckDBWarehouse(tmp_path / "w.duckdb")
    table = pa.table(
        {
            "amount": pa.array([decimal.Decimal("12345678.91")], pa.decimal128(12, 2)),
            "note": ['a, "quoted"\nline ção'],
            "ok": [True],
        }
    )
    write(lake, tmp_path, "ds/t/ano=2024/mes=01/data=2024-01-01", table)

    loaded = warehouse.load_from_datalake(lake, "ds", "t")

    assert loaded.rows == 1
    assert loaded.table == "ds.t"
    row = warehouse.query("SELECT * FROM ds.t").iloc[0]
    assert row["amount"] == decimal.Decimal("12345678.91") or float(row["amount"]) == 12345678.91
    assert row["note"] == 'a, "quoted"\nline ção'
    assert str(row["data"]).startswith("2024-01-01")
    # A second load after a partition was replaced holds the new rows only.
    write(lake, tmp_path, "ds/t/ano=2024/mes=01/data=2024-01-01", pa.concat_tables([table, table]))
    assert warehouse.load_from_datalake(lake, "ds", "t").rows == 2


def test_load_without_files_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="write the table to the datalake first"):
        DuckDBWarehouse(tmp_path / "w.duckdb").load_from_datalake(
            LocalDatalake(tmp_path / "lake"), "ds", "t"
        )


def test_names_are_checked_before_sql(tmp_path):
    with pytest.raises(ValueError, match="not a valid table or dataset name"):
        DuckDBWarehouse(tmp_path / "w.duckdb").load_from_datalake(
            LocalDatalake(tmp_path / "lake"), "ds", 't"; drop table x; --'
        )


def test_query_before_any_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="run a pipeline first"):
        DuckDBWarehouse(tmp_path / "none.duckdb").query("SELECT 1")


def test_query_returns_a_dataframe(tmp_path):
    lake, warehouse = LocalDatalake(tmp_path / "lake"), DuckDBWarehouse(tmp_path / "w.duckdb")
    write(lake, tmp_path, "ds/t/part", pa.table({"x": [1, 2, 3]}))
    warehouse.load_from_datalake(lake, "ds", "t")
    assert isinstance(warehouse.query("SELECT sum(x) AS s FROM ds.t"), pd.DataFrame)
    assert warehouse.row_count("ds", "t") == 3


def test_a_datalake_of_another_environment_is_refused_before_reading_it(tmp_path, gcs_bucket):
    from pipelines.errors import WarehouseError
    from pipelines.utils.datalake.gcs import GCSDatalake
    from pipelines.utils.warehouse.duckdb_warehouse import DuckDBWarehouse

    client, bucket = gcs_bucket
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb", readable=tmp_path / "lake")
    with pytest.raises(WarehouseError) as refused:
        warehouse.load_from_datalake(GCSDatalake(bucket, client=client), "ds", "t")
    assert str(refused.value) == (
        "DuckDBWarehouse loads from a LocalDatalake, not a GCSDatalake: take both from the "
        "same settings (get_datalake() and get_warehouse(), or pipelines.utils.resources)."
    )
    assert not (tmp_path / "w.duckdb").exists()


def test_load_times_are_recorded_with_each_load_and_absent_before(tmp_path):
    import datetime as dt

    import pandas as pd

    from pipelines.utils.datalake.local import LocalDatalake
    from pipelines.utils.warehouse.duckdb_warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb", readable=tmp_path / "lake")
    assert warehouse.load_times(["ds.t"]) == {}
    assert not (tmp_path / "w.duckdb").exists()  # asking does not make the file
    (tmp_path / "lake" / "ds" / "t").mkdir(parents=True)
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "lake" / "ds" / "t" / "a.parquet")
    before = dt.datetime.now(dt.UTC)
    warehouse.load_from_datalake(LocalDatalake(tmp_path / "lake"), "ds", "t")
    found = warehouse.load_times(["ds.t", "ds.other"])
    assert list(found) == ["ds.t"] and before <= found["ds.t"] <= dt.datetime.now(dt.UTC)


def test_a_dbt_build_recorded_is_a_load_time_and_a_later_build_moves_it(tmp_path):
    import datetime as dt

    from pipelines.utils.warehouse.duckdb_warehouse import DuckDBWarehouse

    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb", readable=tmp_path / "lake")
    warehouse.record_builds([], dt.datetime.now(dt.UTC))
    assert not (tmp_path / "w.duckdb").exists()  # nothing built: nothing written
    first = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
    warehouse.record_builds(["ds.model", "ds.other"], first)
    assert warehouse.load_times(["ds.model", "ds.other"]) == {"ds.model": first, "ds.other": first}
    later = first + dt.timedelta(hours=1)
    warehouse.record_builds(["ds.model"], later)
    assert warehouse.load_times(["ds.model", "ds.other"]) == {"ds.model": later, "ds.other": first}


@pytest.mark.parametrize(
    "partitions",
    [
        ["ano=2024/mes=02/data=2024-02-01"],  # 'mes=02' read alone was text
        [
            "ano=2024/mes=12/data=2024-12-01",
            "ano=__HIVE_DEFAULT_PARTITION__/"
            "mes=__HIVE_DEFAULT_PARTITION__/data=__HIVE_DEFAULT_PARTITION__",
        ],  # fmt: skip
        ["ano=0000/mes=01/data=0000-01-01", "ano=2024/mes=01/data=2024-01-01"],  # year 0
    ],
)
def test_partition_keys_have_one_type_whatever_partitions_exist(tmp_path, partitions):
    lake, warehouse = LocalDatalake(tmp_path / "lake"), DuckDBWarehouse(tmp_path / "w.duckdb")
    for number, partition in enumerate(partitions):
        write(lake, tmp_path, f"ds/t/{partition}", pa.table({"v": [number]}), f"{number}.parquet")

    warehouse.load_from_datalake(lake, "ds", "t")

    for schema in ("ds", "ds_staging"):
        types = dict(
            warehouse.rows(
                "SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_schema = '{schema}' AND table_name = 't'"
            )
        )
        assert {k: types[k] for k in ("ano", "mes", "data")} == {
            "ano": "BIGINT", "mes": "BIGINT", "data": "DATE"
        }, schema  # fmt: skip
    assert warehouse.rows("SELECT count(*) FROM ds.t WHERE mes BETWEEN 1 AND 12") == [
        (sum("__HIVE" not in p for p in partitions),)
    ]


def _days(lake: LocalDatalake, tmp_path, tables: list[pa.Table]) -> None:
    """One file per day, the i-th day holding tables[i]."""
    for number, table in enumerate(tables):
        day = f"2024-01-{number + 1:02d}" if number < 31 else f"2024-02-{number - 30:02d}"
        key = f"ds/t/ano=2024/mes={day[5:7]}/data={day}"
        write(lake, tmp_path, key, table, f"{number}.parquet")


@pytest.mark.parametrize("conflict", [False, True])
def test_many_files_load_a_group_at_a_time_with_the_union_of_their_columns(
    tmp_path, monkeypatch, conflict
):
    # A statement holds every footer it reads: groups keep that bounded. Without a declared
    # schema, groups that agree on types are read with their union (NULL where a file lacks
    # a column); groups that disagree are read at once, as DuckDB unites them.
    from pipelines.utils.warehouse import duckdb_warehouse

    monkeypatch.setattr(duckdb_warehouse, "_AT_ONCE_BY_NAME", 8)
    lake = LocalDatalake(tmp_path / "lake")
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb", readable=tmp_path / "lake")
    old = [pa.table({"id": [n], "v": [f"old {n}"]}) for n in range(20)]
    extra = pa.array(["1.5"], pa.string()) if conflict else pa.array([n * 10 for n in [0]])
    new = [pa.table({"id": [n], "v": [f"new {n}"], "extra": extra}) for n in range(20, 40)]
    if conflict:  # the same column, text in the newer files and a number in the older
        old = [t.append_column("extra", pa.array([7])) for t in old]
    _days(lake, tmp_path, old + new)

    loaded = warehouse.load_from_datalake(lake, "ds", "t")

    assert loaded.rows == 40
    rows = warehouse.rows("SELECT id, v, extra FROM ds.t ORDER BY id")
    assert rows[0] == (0, "old 0", "7" if conflict else None)
    assert rows[-1] == (39, "new 39", "1.5" if conflict else 0)
    assert warehouse.rows("SELECT count(*), count(extra) FROM ds_staging.t") == [
        (40, 40 if conflict else 20)
    ]


def test_a_new_warehouse_file_takes_64_kb_blocks_and_an_older_one_is_named_when_too_wide(
    tmp_path,
):
    import duckdb

    from pipelines.errors import WarehouseError

    lake = LocalDatalake(tmp_path / "lake")
    wide = pa.table({f"c{i}": [f"value {i} " + "x" * 40] if i % 2 else [i] for i in range(800)})
    _days(lake, tmp_path, [wide] * 40)
    new = DuckDBWarehouse(tmp_path / "new.duckdb", memory_mb=60)
    with pytest.raises(WarehouseError) as raised:
        new.load_from_datalake(lake, "ds", "t")
    message = str(raised.value)
    assert "a table of 800 columns needs about 132 MB" in message
    assert "PIPELINES_WAREHOUSE_MEMORY_MB (e.g. to 132)" in message
    assert "blocks" not in message  # a new file: nothing to move
    assert new.rows("SELECT block_size FROM pragma_database_size()") == [(65536,)]

    duckdb.connect(str(tmp_path / "old.duckdb")).close()  # DuckDB's own 256 KB blocks
    with pytest.raises(WarehouseError) as raised:
        DuckDBWarehouse(tmp_path / "old.duckdb", memory_mb=60).load_from_datalake(lake, "ds", "t")
    assert "needs about 432 MB" in str(raised.value)
    assert (
        "This warehouse file was made with 256 KB blocks; a new file takes 64 KB, 4 times less "
        f"memory per column: move {tmp_path / 'old.duckdb'} away and each flow's next run loads "
        "its table into a new one." in str(raised.value)
    )
    # A new file loads it once the cap is raised as the message says.
    loaded = DuckDBWarehouse(tmp_path / "new.duckdb", memory_mb=132).load_from_datalake(
        lake, "ds", "t"
    )
    assert loaded.rows == 40
