"""dump_to_gcs: a zipped CSV at a predictable path in a real (emulated) bucket, with a size cap."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from prefect import Flow

from pipelines.utils.datalake import LocalDatalake
from pipelines.utils.datalake.gcs import GCSDatalake
from pipelines.utils.dump_to_gcs import dump_to_gcs, export_key, export_zipped_csv
from pipelines.utils.execution import run_local
from pipelines.utils.warehouse.duckdb_warehouse import DuckDBWarehouse


@pytest.fixture
def warehouse(tmp_path):
    lake = LocalDatalake(tmp_path / "lake")
    table = pa.table({"id": list(range(1000)), "name": [f'escola, {i} "ç"' for i in range(1000)]})
    pq.write_table(table, tmp_path / "t.parquet")
    lake.replace_prefix("educacao/escolas/part", {"t.parquet": tmp_path / "t.parquet"})
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.load_from_datalake(lake, "educacao", "escolas")
    return warehouse


def test_export_lands_zipped_at_the_predictable_path(warehouse, gcs_bucket):
    client, bucket = gcs_bucket
    lake = GCSDatalake(bucket, client=client, root="staging")
    export = export_zipped_csv(
        warehouse, lake, "SELECT * FROM educacao.escolas ORDER BY id", "educacao", "escolas"
    )
    assert export_key("educacao", "escolas") == "exports/educacao/escolas/escolas.csv.zip"
    assert export.location == f"gs://{bucket}/staging/exports/educacao/escolas/escolas.csv.zip"
    assert export.rows == 1000 and export.zip_bytes < export.csv_bytes
    blob = client.bucket(bucket).blob("staging/exports/educacao/escolas/escolas.csv.zip")
    with zipfile.ZipFile(io.BytesIO(blob.download_as_bytes())) as archive:
        assert archive.namelist() == ["escolas.csv"]
        lines = archive.read("escolas.csv").decode().splitlines()
    assert lines[0] == "id,name" and lines[1] == '0,"escola, 0 ""ç"""' and len(lines) == 1001


def test_an_export_above_the_cap_is_refused_before_exporting(warehouse, gcs_bucket):
    client, bucket = gcs_bucket
    lake = GCSDatalake(bucket, client=client)
    with pytest.raises(ValueError, match=r"would be about .* MB of CSV, above the cap of 0 MB"):
        export_zipped_csv(
            warehouse, lake, "SELECT * FROM educacao.escolas", "educacao", "escolas", max_mb=0.001
        )
    assert list(client.list_blobs(bucket)) == []


def test_the_task_exports_a_local_warehouse_table(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_ENV", "local")
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    lake = LocalDatalake(tmp_path / "datalake")
    pq.write_table(pa.table({"x": [1, 2]}), tmp_path / "x.parquet")
    lake.replace_prefix("ds/t/part", {"x.parquet": tmp_path / "x.parquet"})
    DuckDBWarehouse(tmp_path / "warehouse.duckdb").load_from_datalake(lake, "ds", "t")
    with Flow("export") as flow:
        result = dump_to_gcs("ds", "t")
    state = run_local(flow)
    assert state.is_successful()
    assert state.result[result].result.rows == 2
    assert (tmp_path / "datalake/exports/ds/t/t.csv.zip").is_file()


@pytest.mark.parametrize("dataset_id", ["exports", "Exports", "_alerts", "_anything", "__x"])
def test_no_dataset_may_take_a_folder_of_the_datalakes_own(tmp_path, monkeypatch, dataset_id):
    from pipelines.errors import TableNameError
    from pipelines.utils.datalake.tasks import write_parquet_partitions

    # An export of ds.t is in place, as is alert state.
    test_the_task_exports_a_local_warehouse_table(tmp_path, monkeypatch)
    export = tmp_path / "datalake/exports/ds/t/t.csv.zip"
    before = export.read_bytes()
    with Flow("write") as flow:
        written = write_parquet_partitions(pd.DataFrame({"x": [1]}), dataset_id, "ds")
    state = flow.run()

    assert state.is_failed()
    error = state.result[written].result
    assert isinstance(error, TableNameError)
    assert str(error).startswith(f"dataset_id={dataset_id!r} is reserved: the datalake keeps")
    assert export.read_bytes() == before
