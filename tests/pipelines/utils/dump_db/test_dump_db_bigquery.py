"""dump_db in dev: PostgreSQL -> GCS datalake (fake-gcs-server) -> BigQuery (emulated API)."""

from __future__ import annotations

import datetime as dt
import io
import uuid
import zipfile
from decimal import Decimal

import pytest

from pipelines.utils.dump_db import create_dump_db_flow
from pipelines.utils.dump_to_gcs import create_dump_to_gcs_flow
from pipelines.utils.execution import run_local
from pipelines.utils.warehouse import get_warehouse
from tests.conftest import connect_postgres

# The BigQuery column of each source type, as the README's type table promises (the API's
# legacy names: INTEGER is INT64, FLOAT is FLOAT64, BOOLEAN is BOOL).
PROMISED = {
    "id": ("integer", "INTEGER"),
    "big": ("bigint", "INTEGER"),
    "amount": ("numeric(12,2)", "NUMERIC"),
    "flag": ("boolean", "BOOLEAN"),
    "f": ("double precision", "FLOAT"),
    "day": ("date", "DATE"),
    "ts": ("timestamp", "DATETIME"),
    "tstz": ("timestamptz", "TIMESTAMP"),
    "t": ("time", "TIME"),
    "txt": ("text", "STRING"),
    "j": ("jsonb", "STRING"),
    "loose": ("numeric", "STRING"),
    "b": ("bytea", "BYTES"),
}
ROWS = [
    (1, 10**15, Decimal("1.10"), True, 1.5, dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 23, 30),
     dt.datetime(2024, 1, 2, 2, 30, tzinfo=dt.UTC), dt.time(12, 30), "ção", '{"a": 1}',
     Decimal("1.000000000000000000000000000000000000000001"), b"\x00\xff"),
    (2, None, None, None, None, dt.date(2024, 1, 1), None, None, None, None, None, None, None),
    (3, -1, Decimal("-99.99"), False, -0.25, dt.date(2024, 1, 2), dt.datetime(2024, 1, 2),
     dt.datetime(2024, 1, 2, 3, tzinfo=dt.UTC), dt.time(0), "", "[]", Decimal("0"), b""),
    (4, 7, Decimal("0.00"), True, 0.0, None, None, None, None, "no day", None, None, None),
]  # fmt: skip


@pytest.fixture
def dev_env(monkeypatch, tmp_path, bigquery_emulator, gcs_bucket, postgres_url):
    _, bucket = gcs_bucket
    for name, value in {
        "PIPELINES_ENV": "dev",
        "PIPELINES_DATA_DIR": str(tmp_path / "data"),
        "PIPELINES_DATALAKE_BUCKET": bucket,
        "PIPELINES_BIGQUERY_PROJECT": bigquery_emulator.project,
        "PIPELINES_BIGQUERY_API_ENDPOINT": bigquery_emulator.endpoint,
        "PIPELINES_DB_PG": postgres_url,
    }.items():
        monkeypatch.setenv(name, value)
    return bigquery_emulator, bucket


@pytest.fixture
def source_table(postgres_url):
    name = f"bq_{uuid.uuid4().hex[:8]}"
    columns = ", ".join(f"{column} {kind}" for column, (kind, _) in PROMISED.items())
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} ({columns})")
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {name} VALUES ({', '.join(['%s'] * len(PROMISED))})", ROWS
            )
        yield name
        conn.execute(f"DROP TABLE {name}")


def dump(table: str, **extra: object) -> None:
    flow = create_dump_db_flow("tests: dump_db", org="tests")
    parameters = dict(connection="pg", dataset_id="tests", table_id=table, table=table, **extra)
    state = run_local(flow, parameters)
    assert state.is_successful(), [(t.name, s.message) for t, s in state.result.items()]


def column_types(emulator, table: str) -> dict[str, str]:
    found = emulator.client().get_table(f"{emulator.project}.{table}")
    return {field.name: field.field_type for field in found.schema}


def test_a_dev_dump_lands_typed_in_staging_and_production(dev_env, source_table):
    emulator, _ = dev_env
    dump(source_table, partition_column="day")

    warehouse = get_warehouse()
    assert warehouse.row_count("tests", source_table) == len(ROWS)
    assert warehouse.row_count("tests_staging", source_table) == len(ROWS)
    promised = {column: bq for column, (_, bq) in PROMISED.items()}
    keys = {"ano": "INTEGER", "mes": "INTEGER", "data": "DATE"}
    assert column_types(emulator, f"tests.{source_table}") == {**promised, **keys}
    assert column_types(emulator, f"tests_staging.{source_table}") == {**promised, **keys}
    table = emulator.client().get_table(f"{emulator.project}.tests.{source_table}")
    assert table.time_partitioning.field == "data"
    assert warehouse.rows(
        f"SELECT amount, tstz, txt, b FROM `tests.{source_table}` WHERE id = 1"
    ) == [(Decimal("1.10"), dt.datetime(2024, 1, 2, 2, 30, tzinfo=dt.UTC), "ção", b"\x00\xff")]


def test_rerunning_a_period_keeps_the_row_count_and_exports_reach_the_bucket(
    dev_env, source_table, gcs_bucket
):
    _, bucket = dev_env
    dump(source_table, partition_column="day")
    for _ in range(2):  # the same period again: its day is replaced, not added to
        dump(source_table, partition_column="day", since="2024-01-02")
        assert get_warehouse().row_count("tests", source_table) == len(ROWS)

    state = run_local(
        create_dump_to_gcs_flow("tests: dump_to_gcs", org="tests"),
        {"dataset_id": "tests", "table_id": source_table},
    )
    assert state.is_successful(), [(t.name, s.message) for t, s in state.result.items()]
    client, _ = gcs_bucket
    key = f"staging/exports/tests/{source_table}/{source_table}.csv.zip"
    with zipfile.ZipFile(io.BytesIO(client.bucket(bucket).blob(key).download_as_bytes())) as zf:
        lines = zf.read(f"{source_table}.csv").decode().splitlines()
    assert lines[0].split(",")[:3] == ["id", "big", "amount"] and len(lines) == len(ROWS) + 1


def test_a_csv_dump_loads_with_its_declared_types(dev_env, postgres_url):
    emulator, _ = dev_env
    name = f"bqcsv_{uuid.uuid4().hex[:8]}"
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} (id int, amount numeric(12,2), day date, txt text)")
        conn.execute(
            f"INSERT INTO {name} VALUES (1, 1.10, '2024-01-01', 'a,\"b\"'), (2, NULL, NULL, '')"
        )
        try:
            dump(name, partition_column="day", format="csv")
        finally:
            conn.execute(f"DROP TABLE {name}")
    assert column_types(emulator, f"tests.{name}") == {
        "id": "INTEGER", "amount": "NUMERIC", "day": "DATE", "txt": "STRING",
        "ano": "INTEGER", "mes": "INTEGER", "data": "DATE",
    }  # fmt: skip
    assert get_warehouse().rows(f"SELECT id, amount, txt FROM `tests.{name}` ORDER BY id") == [
        (1, Decimal("1.10"), 'a,"b"'),
        (2, None, ""),
    ]


def test_a_new_column_reads_null_in_older_files_through_the_declared_schema(dev_env):
    emulator, _ = dev_env
    name = f"bqdrift_{uuid.uuid4().hex[:8]}"
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} (id int, day date, v int)")
        conn.execute(f"INSERT INTO {name} VALUES (1, '2024-01-01', 10), (2, '2024-01-02', 20)")
        try:
            dump(name, partition_column="day")
            conn.execute(f"ALTER TABLE {name} ADD COLUMN extra text")
            conn.execute(f"ALTER TABLE {name} ALTER COLUMN v TYPE bigint")
            conn.execute(f"INSERT INTO {name} VALUES (3, '2024-01-03', 30000000000, 'x')")
            dump(name, partition_column="day", since="2024-01-03")
        finally:
            conn.execute(f"DROP TABLE {name}")
    keys = {"ano": "INTEGER", "mes": "INTEGER", "data": "DATE"}
    declared = {"id": "INTEGER", "day": "DATE", "v": "INTEGER", "extra": "STRING", **keys}
    # The external table's schema is the declared one, not one file's: the oldest file
    # (first in the folder) has no `extra`, so a schema detected from it would lack it.
    assert column_types(emulator, f"tests_staging.{name}") == declared
    assert column_types(emulator, f"tests.{name}") == declared
    expected = [(1, 10, None), (2, 20, None), (3, 30000000000, "x")]
    for dataset in ("tests", "tests_staging"):
        got = get_warehouse().rows(f"SELECT id, v, extra FROM `{dataset}.{name}` ORDER BY id")
        # Canary: every value compared, so an emulator that read a column wrong (or dropped
        # the old files' rows) fails here rather than passing on row counts.
        assert got == expected, (dataset, got)


def test_the_external_table_takes_the_declared_schema_not_a_detected_one(dev_env, gcs_bucket):
    # Canary for the test above, whose values the emulator also gives when it detects the
    # schema: a declared column no file holds can only come from the declared schema.
    import json

    from pipelines.utils.datalake import get_datalake
    from pipelines.utils.datalake.schema import history_key

    emulator, bucket = dev_env
    name = f"bqghost_{uuid.uuid4().hex[:8]}"
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} (id int, day date)")
        conn.execute(f"INSERT INTO {name} VALUES (1, '2024-01-01')")
        try:
            dump(name, partition_column="day")
        finally:
            conn.execute(f"DROP TABLE {name}")
    client, _ = gcs_bucket
    blob = client.bucket(bucket).blob("staging/" + history_key(f"tests/{name}"))
    history = json.loads(blob.download_as_bytes())
    history[-1]["columns"].append(["ghost", "VARCHAR"])
    blob.upload_from_string(json.dumps(history))
    get_warehouse().load_from_datalake(get_datalake(), "tests", name)
    assert "ghost" in column_types(emulator, f"tests_staging.{name}")
    assert get_warehouse().rows(f"SELECT id, ghost FROM `tests_staging.{name}`") == [(1, None)]
