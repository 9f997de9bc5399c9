"""BigQueryWarehouse against the emulated BigQuery API and fake-gcs-server: loads, reads, export."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.settings import load_settings
from pipelines.utils.datalake.gcs import GCSDatalake
from pipelines.utils.warehouse.bigquery import BigQueryWarehouse, csv_column_type


@pytest.fixture
def lake_and_warehouse(bigquery_emulator, gcs_bucket, tmp_path):
    client, bucket = gcs_bucket
    settings = load_settings(
        {
            "PIPELINES_BIGQUERY_PROJECT": bigquery_emulator.project,
            "PIPELINES_BIGQUERY_API_ENDPOINT": bigquery_emulator.endpoint,
        },
        root=tmp_path,
    )
    return GCSDatalake(bucket, client=client, root="staging"), BigQueryWarehouse(settings)


def put_day(lake: GCSDatalake, tmp_path: Path, table: str, day: dt.date, ids: list[int]) -> str:
    """Replace one day partition of ds.<table> with rows `ids`; returns the partition."""
    frame = pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "amount": pa.array([decimal.Decimal("1.25")] * len(ids), pa.decimal128(12, 2)),
            "seen": pa.array([dt.datetime(2024, 1, 1, 12)] * len(ids), pa.timestamp("us")),
            "happened": pa.array(
                [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * len(ids), pa.timestamp("us", "UTC")
            ),
            "name": [f"n{i}" for i in ids],
        }
    )
    partition = f"ano={day.year}/mes={day.month:02d}/data={day}"
    local = tmp_path / f"{table}-{day}-{len(ids)}.parquet"
    pq.write_table(frame, local)
    lake.replace_prefix(f"ds/{table}/{partition}", {"part.parquet": local})
    return partition


def schema(warehouse: BigQueryWarehouse, table: str) -> dict[str, str]:
    found = warehouse.client.get_table(f"{warehouse.project}.{table}")
    return {field.name: field.field_type for field in found.schema}


def by_day(warehouse: BigQueryWarehouse, table: str) -> list[tuple]:
    return warehouse.rows(f"SELECT data, count(*) FROM `{table}` GROUP BY data ORDER BY data")


def test_load_makes_an_external_staging_table_and_a_typed_partitioned_table(
    lake_and_warehouse, tmp_path
):
    lake, warehouse = lake_and_warehouse
    for day in (dt.date(2024, 1, 5), dt.date(2024, 1, 6)):
        put_day(lake, tmp_path, "typed", day, [1, 2])

    loaded = warehouse.load_from_datalake(lake, "ds", "typed")

    assert loaded.rows == 4 and loaded.table == "ds.typed"
    expected = {
        "id": "INTEGER", "amount": "NUMERIC", "seen": "DATETIME", "happened": "TIMESTAMP",
        "name": "STRING", "ano": "INTEGER", "mes": "INTEGER", "data": "DATE",
    }  # fmt: skip
    assert schema(warehouse, "ds_staging.typed") == expected
    assert schema(warehouse, "ds.typed") == expected
    table = warehouse.client.get_table(f"{warehouse.project}.ds.typed")
    assert table.table_type == "TABLE" and table.time_partitioning.field == "data"
    assert warehouse.client.get_table(f"{warehouse.project}.ds_staging.typed").table_type == (
        "EXTERNAL"
    )
    assert warehouse.rows("SELECT amount, mes FROM `ds.typed` LIMIT 1") == [
        (decimal.Decimal("1.25"), 1)
    ]


def test_append_replaces_only_the_touched_days_and_reruns_do_not_duplicate(
    lake_and_warehouse, tmp_path
):
    lake, warehouse = lake_and_warehouse
    first, second = dt.date(2024, 1, 5), dt.date(2024, 1, 6)
    put_day(lake, tmp_path, "events", first, [1, 2])
    put_day(lake, tmp_path, "events", second, [3, 4])
    warehouse.load_from_datalake(lake, "ds", "events")

    touched = put_day(lake, tmp_path, "events", second, [3, 4, 5])
    for _ in range(2):  # the same period twice: same rows
        loaded = warehouse.load_from_datalake(lake, "ds", "events", partitions=[touched])
        assert loaded.rows == 5
        assert by_day(warehouse, "ds.events") == [(first, 2), (second, 3)]


def test_a_partitioned_append_is_one_merge_of_the_touched_days(lake_and_warehouse, tmp_path):
    lake, warehouse = lake_and_warehouse
    put_day(lake, tmp_path, "merged", dt.date(2024, 1, 5), [1])
    warehouse.load_from_datalake(lake, "ds", "merged")
    # A row the datalake does not have, on a day the append does not touch, stays: only the
    # touched day is replaced (a whole reload would drop it).
    warehouse.client.query_and_wait(
        "INSERT INTO `ds.merged` (id, data) VALUES (99, DATE '2023-12-31')"
    )
    touched = put_day(lake, tmp_path, "merged", dt.date(2024, 1, 5), [1, 2])

    warehouse.load_from_datalake(lake, "ds", "merged", partitions=[touched])

    assert warehouse.rows("SELECT id FROM `ds.merged` ORDER BY id") == [(1,), (2,), (99,)]


def test_overwrite_replaces_the_table(lake_and_warehouse, tmp_path):
    lake, warehouse = lake_and_warehouse
    put_day(lake, tmp_path, "snap", dt.date(2024, 1, 5), [1, 2])
    warehouse.load_from_datalake(lake, "ds", "snap")
    lake.delete_prefix("ds/snap")
    put_day(lake, tmp_path, "snap", dt.date(2024, 2, 1), [7])

    assert warehouse.load_from_datalake(lake, "ds", "snap").rows == 1
    assert by_day(warehouse, "ds.snap") == [(dt.date(2024, 2, 1), 1)]


def test_reads_estimates_and_streams_csv(lake_and_warehouse, tmp_path):
    lake, warehouse = lake_and_warehouse
    put_day(lake, tmp_path, "out", dt.date(2024, 1, 5), [1, 2, 3])
    warehouse.load_from_datalake(lake, "ds", "out")

    assert warehouse.row_count("ds", "out") == 3
    assert list(warehouse.query("SELECT id FROM `ds.out` ORDER BY id")["id"]) == [1, 2, 3]
    assert warehouse.estimate_csv_bytes("SELECT * FROM `ds.out`") >= 0
    path = tmp_path / "out.csv"
    assert (
        warehouse.export_csv("SELECT id, amount, happened, name FROM `ds.out` ORDER BY id", path)
        == 3
    )
    with open(path, newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["id", "amount", "happened", "name"]
    assert lines[1] == ["1", "1.25", "2024-01-01T00:00:00+00:00", "n1"]


def test_only_what_bigquery_calls_a_select_is_run_by_query(lake_and_warehouse, tmp_path):
    from pipelines.errors import WarehouseError

    lake, warehouse = lake_and_warehouse
    put_day(lake, tmp_path, "ro", dt.date(2024, 1, 5), [1])
    warehouse.load_from_datalake(lake, "ds", "ro")
    warehouse.check_select("SELECT * FROM `ds.ro`")
    with pytest.raises(WarehouseError, match="DELETE statement; it runs SELECT only"):
        warehouse.check_select("DELETE FROM `ds.ro` WHERE true")
    assert warehouse.row_count("ds", "ro") == 1


def test_missing_files_say_what_to_do(lake_and_warehouse):
    lake, warehouse = lake_and_warehouse
    with pytest.raises(FileNotFoundError, match="write the table to the datalake first"):
        warehouse.load_from_datalake(lake, "ds", "nothing")


@pytest.mark.parametrize(
    ("declared", "expected"),
    [("BIGINT", "INT64"), ("DECIMAL(12,2)", "NUMERIC"), ("DECIMAL(38,10)", "BIGNUMERIC"),
     ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP"), ("TIMESTAMP", "DATETIME"), ("UUID", "STRING")],
)  # fmt: skip
def test_csv_columns_keep_their_declared_types(declared, expected):
    assert csv_column_type(declared) == expected


def test_preview_fetches_at_most_the_limit(lake_and_warehouse, tmp_path):
    lake, warehouse = lake_and_warehouse
    put_day(lake, tmp_path, "many", dt.date(2024, 1, 5), list(range(10)))
    warehouse.load_from_datalake(lake, "ds", "many")

    preview = warehouse.preview("SELECT id, amount FROM `ds.many` ORDER BY id", 3)

    assert preview.columns == ["id", "amount"]
    assert preview.rows == [(i, decimal.Decimal("1.25")) for i in range(3)]
    assert preview.more
    assert not warehouse.preview("SELECT id FROM `ds.many`", 10).more


def test_schemas_compare_by_meaning_not_by_the_apis_words():
    from google.cloud.bigquery import SchemaField

    from pipelines.utils.warehouse.bigquery import same_schema

    legacy = [SchemaField("id", "INTEGER"), SchemaField("f", "FLOAT"), SchemaField("b", "BOOLEAN"),
              SchemaField("r", "RECORD", fields=[SchemaField("x", "INTEGER")])]  # fmt: skip
    nested = [SchemaField("x", "INT64")]
    standard = [SchemaField("id", "INT64", mode="NULLABLE"), SchemaField("f", "FLOAT64"),
                SchemaField("b", "BOOL"), SchemaField("r", "STRUCT", fields=nested)]  # fmt: skip
    assert same_schema(legacy, standard)
    assert not same_schema(legacy, [*standard[:3], SchemaField("r", "STRING")])
    assert not same_schema(legacy[:2], legacy[:1])
    assert not same_schema([SchemaField("id", "INTEGER")], [SchemaField("id", "NUMERIC")])


def test_load_times_come_from_one_query_per_dataset_and_move_with_a_load(
    lake_and_warehouse, tmp_path
):
    lake, warehouse = lake_and_warehouse
    put_day(lake, tmp_path, "fresh", dt.date(2024, 1, 5), [1])
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    warehouse.load_from_datalake(lake, "ds", "fresh")
    first = warehouse.load_times(["ds.fresh", "ds.never", "nodataset.t"])
    # Canary: the emulator must give this load's time, not a constant or the epoch.
    assert set(first) == {"ds.fresh"}
    assert before < first["ds.fresh"] <= dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    put_day(lake, tmp_path, "fresh", dt.date(2024, 1, 6), [2])
    warehouse.load_from_datalake(
        lake, "ds", "fresh", partitions=["ano=2024/mes=01/data=2024-01-06"]
    )
    assert warehouse.load_times(["ds.fresh"])["ds.fresh"] >= first["ds.fresh"]


def test_a_table_a_query_builds_has_its_build_time_as_a_dbt_model_would(
    lake_and_warehouse, tmp_path
):
    lake, warehouse = lake_and_warehouse
    put_day(lake, tmp_path, "raw", dt.date(2024, 1, 5), [1])
    warehouse.load_from_datalake(lake, "ds", "raw")
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    # What dbt-bigquery runs for a table model; BigQuery keeps its change time itself.
    warehouse.client.query_and_wait(
        f"CREATE OR REPLACE TABLE `{warehouse.project}.ds.model` AS "
        f"SELECT * FROM `{warehouse.project}.ds.raw`"
    )
    warehouse.record_builds(["ds.model"], dt.datetime(2000, 1, 1, tzinfo=dt.UTC))  # a no-op
    found = warehouse.load_times(["ds.model"])
    # Canary: the build's own time, not the recorded one, a constant or the epoch.
    assert set(found) == {"ds.model"}
    assert before < found["ds.model"] <= dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)


@pytest.mark.parametrize(
    ("folders", "touched", "keys"),
    [
        (["ano=2023", "ano=2024"], "ano=2024", "ano"),
        (["ano=2024/mes=01", "ano=2024/mes=02"], "ano=2024/mes=02", "ano, mes"),
    ],
)
def test_year_and_month_partitions_load_typed_and_append_replaces_only_theirs(
    lake_and_warehouse, tmp_path, folders, touched, keys
):
    """Tables partitioned by year (a budget's exercicio) or month load with integer keys, and
    an append replaces only the touched partition: the canary row of an untouched one stays,
    so a MERGE that replaced too much (or nothing) would be caught."""
    lake, warehouse = lake_and_warehouse
    table = "by_" + ("year" if keys == "ano" else "month")
    for number, folder in enumerate(folders):
        local = tmp_path / f"{number}.parquet"
        pq.write_table(
            pa.table({"id": pa.array([number * 10, number * 10 + 1], pa.int64())}), local
        )
        lake.replace_prefix(f"ds/{table}/{folder}", {"part.parquet": local})
    warehouse.load_from_datalake(lake, "ds", table)
    assert schema(warehouse, f"ds.{table}")["ano"] == "INTEGER"
    grouped = warehouse.rows(
        f"SELECT {keys}, count(*) FROM `ds.{table}` GROUP BY {keys} ORDER BY {keys}"
    )
    expected = {"ano": [(2023, 2), (2024, 2)], "ano, mes": [(2024, 1, 2), (2024, 2, 2)]}[keys]
    assert grouped == expected

    local = tmp_path / "again.parquet"
    pq.write_table(pa.table({"id": pa.array([99], pa.int64())}), local)
    lake.replace_prefix(f"ds/{table}/{touched}", {"part.parquet": local})
    for _ in range(2):  # a rerun changes nothing
        warehouse.load_from_datalake(lake, "ds", table, partitions=[touched])
        assert warehouse.rows(f"SELECT id FROM `ds.{table}` ORDER BY id") == [(0,), (1,), (99,)]


@pytest.mark.parametrize(
    ("layout", "keys", "clause"),
    [
        (("ano", "mes", "data"), ["ano=2024/mes=01/data=2024-01-05/p.parquet"],
         "PARTITION BY data "),
        (("ano", "mes"), ["ano=2024/mes=01/p.parquet"],
         "PARTITION BY RANGE_BUCKET(ano, GENERATE_ARRAY(1900, 2200, 1)) CLUSTER BY mes "),
        (("ano_particao",), ["ano_particao=2024/p.parquet"],
         "PARTITION BY RANGE_BUCKET(ano_particao, GENERATE_ARRAY(1900, 2200, 1)) "),
        (None, ["p.parquet"], ""),
    ],
)  # fmt: skip
def test_the_table_is_partitioned_at_its_folders_grain(layout, keys, clause):
    """The emulator keeps no partitioning (it accepts the clause and drops it): the clause
    itself is checked here."""
    from pipelines.utils.warehouse.bigquery import partitioning

    assert partitioning(layout, keys) == clause


def test_publish_copies_the_table_to_the_public_project(bigquery_emulator, gcs_bucket, tmp_path):
    """A copy, not a view: a row added to the private table after publishing stays out of
    the public one (an emulator that aliased the two would fail this)."""
    client, bucket = gcs_bucket
    settings = load_settings(
        {
            "PIPELINES_BIGQUERY_PROJECT": bigquery_emulator.project,
            "PIPELINES_BIGQUERY_API_ENDPOINT": bigquery_emulator.endpoint,
            "PIPELINES_PUBLIC_BIGQUERY_PROJECT": "datario-test",
        },
        root=tmp_path,
    )
    lake, warehouse = (
        GCSDatalake(bucket, client=client, root="staging"),
        BigQueryWarehouse(settings),
    )
    put_day(lake, tmp_path, "published", dt.date(2024, 1, 5), [1, 2])
    warehouse.load_from_datalake(lake, "ds", "published")

    where = warehouse.publish("ds", "published")

    assert where == "BigQuery table datario-test.ds.published"
    warehouse.client.query_and_wait("INSERT INTO `ds.published` (id) VALUES (3)")
    public = "SELECT id FROM `datario-test.ds.published` ORDER BY id"
    assert warehouse.rows(public) == [(1,), (2,)]
    assert warehouse.row_count("ds", "published") == 3


def test_publish_without_a_public_project_names_the_setting(lake_and_warehouse):
    from pipelines.errors import MissingSettingError

    _, warehouse = lake_and_warehouse
    with pytest.raises(MissingSettingError, match="PIPELINES_PUBLIC_BIGQUERY_PROJECT is unset"):
        warehouse.publish("ds", "anything")
