"""Tests of the template_pipeline ETL: CSV -> clean -> hourly -> Parquet -> DuckDB."""

import pandas as pd
import pyarrow.parquet as pq
import pytest

import pipelines.emd.template_pipeline.flows as project
from pipelines.utils.execution import run_local
from pipelines.utils.warehouse import get_warehouse


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_ENV", "local")
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    return tmp_path


def test_flow_builds_serializes_and_is_scheduled():
    project.flow.validate()
    assert project.flow.serialize()["name"] == "emd: template_pipeline"
    assert project.flow.schedule.next(1)


def test_flow_writes_daily_partitions_and_loads_the_warehouse(data_dir):
    state = run_local(project.flow)

    assert state.is_successful(), state.message
    written = state.result[project.written].result
    assert written.partitions == [
        "ano=2024/mes=02/data=2024-02-12",
        "ano=2024/mes=02/data=2024-02-13",
    ]
    files = sorted((data_dir / "datalake/template_pipeline/rain_per_hour").rglob("*.parquet"))
    assert len(files) == 2
    assert sum(pq.read_metadata(f).num_rows for f in files) == written.rows == 4 * 48
    loaded = state.result[project.loaded].result
    assert loaded.rows == 4 * 48
    table = get_warehouse().query("SELECT * FROM template_pipeline.rain_per_hour")
    assert sorted(table["estacao"].unique()) == [
        "Alto da Boa Vista", "Copacabana", "Jacarepaguá", "Tijuca",
    ]  # fmt: skip
    assert table["leituras"].max() == 4
    # Each hour holds its four readings once, despite the duplicated rows in the export.
    source = pd.read_csv(project.SOURCE, dtype=str).dropna(how="all").drop_duplicates()
    assert table["leituras"].sum() == (source["Chuva 15 min (mm)"] != "ND").sum()


def test_rerunning_replaces_partitions_instead_of_duplicating(data_dir):
    assert run_local(project.flow).is_successful()
    state = run_local(project.flow)
    assert state.is_successful()
    assert get_warehouse().row_count("template_pipeline", "rain_per_hour") == 4 * 48
    assert len(list((data_dir / "datalake").rglob("*.parquet"))) == 2


@pytest.mark.parametrize("executor", ["default", "threads"])
def test_run_local_with_other_settings_sends_every_output_there(data_dir, tmp_path, executor):
    import os

    from prefect.executors import LocalDaskExecutor

    from pipelines.settings import load_settings

    elsewhere = tmp_path / "elsewhere"
    environ = {**os.environ, "PIPELINES_DATA_DIR": str(elsewhere)}
    chosen = LocalDaskExecutor(scheduler="threads") if executor == "threads" else None
    default = data_dir / "datalake"  # where the environment's settings would send them

    state = run_local(project.flow, settings=load_settings(environ), executor=chosen)

    assert state.is_successful(), state.message
    assert not default.exists() and not (data_dir / "warehouse.duckdb").exists()
    assert len(list((elsewhere / "datalake").rglob("*.parquet"))) == 2
    built = get_warehouse(load_settings(environ)).query(
        "SELECT count(*) AS n FROM template_pipeline.rain_per_station_day"
    )
    assert int(built["n"].iloc[0]) > 0  # dbt's model, in the other warehouse file
    assert (elsewhere / "dbt" / "target").is_dir()
