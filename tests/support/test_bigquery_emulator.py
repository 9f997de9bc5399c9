"""Canaries: the emulated BigQuery API would catch an empty external table and a failing query.

bqemulator 1.4.0 as installed hides both (tests/support/bigquery_emulator/patched_server.py);
each check runs against the patched emulator (it must pass) and an unpatched one (it must see
the silent failure), so a change of either the patch or the emulator shows here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def write_partitioned_parquet(gcs_root: Path, bucket: str, prefix: str) -> int:
    """Two day partitions of two rows each, as files of the bucket; returns the row count."""
    rows = 0
    for day in (dt.date(2024, 1, 5), dt.date(2024, 1, 6)):
        folder = gcs_root / bucket / prefix / f"ano={day.year}/mes={day.month:02d}/data={day}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"id": [1, 2], "name": ["a", "b"]}), folder / "part.parquet")
        rows += 2
    return rows


def external_table_rows(client, gcs_root: Path, bucket: str) -> int:
    """Rows BigQuery reads through an external table over freshly written Parquet files."""
    from google.cloud import bigquery

    prefix = f"staging/canary/t_{uuid.uuid4().hex[:8]}"
    write_partitioned_parquet(gcs_root, bucket, prefix)
    client.create_dataset("canary", exists_ok=True)
    config = bigquery.ExternalConfig("PARQUET")
    config.source_uris = [f"gs://{bucket}/{prefix}/*"]
    hive = bigquery.HivePartitioningOptions()
    hive.mode = "CUSTOM"
    hive.source_uri_prefix = f"gs://{bucket}/{prefix}/{{ano:INTEGER}}/{{mes:INTEGER}}/{{data:DATE}}"
    config.hive_partitioning = hive
    name = f"{client.project}.canary.{prefix.rsplit('/', 1)[1]}"
    table = bigquery.Table(name)
    table.external_data_configuration = config
    client.create_table(table)
    (row,) = client.query_and_wait(f"SELECT count(*) AS n FROM `{name}`")
    return int(row["n"])


def failing_query_raises(client) -> bool:
    """Whether a query on a missing table raises, as BigQuery's 404 makes the client do."""
    from google.api_core.exceptions import GoogleAPICallError

    try:
        list(client.query_and_wait("SELECT nope FROM canary.no_such_table"))
    except GoogleAPICallError:
        return True
    return False


@pytest.fixture(scope="module")
def unpatched_emulator(gcs_emulator, bigquery_emulator):
    from tests.support.bigquery_emulator import start_bigquery_emulator

    server = start_bigquery_emulator(Path(gcs_emulator._tmpdir.name), patched=False)
    yield server
    server.stop()


def test_patched_emulator_reads_external_tables_and_raises_on_failing_queries(
    bigquery_emulator, gcs_emulator, gcs_bucket
):
    client = bigquery_emulator.client()
    assert external_table_rows(client, Path(gcs_emulator._tmpdir.name), gcs_bucket[1]) == 4
    assert failing_query_raises(client)


def test_the_canaries_see_the_unpatched_emulators_silent_failures(
    unpatched_emulator, gcs_emulator, gcs_bucket
):
    client = unpatched_emulator.client()
    # What the patch exists for: without it both checks above would fail, not pass wrongly.
    assert external_table_rows(client, Path(gcs_emulator._tmpdir.name), gcs_bucket[1]) == 0
    assert not failing_query_raises(client)
