"""dbt after the dump: models built for real on DuckDB, failures in the log, child runs."""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

import pytest
from prefect import Flow

from pipelines.utils.dbt import materialize, model_selector, run_dbt_command
from pipelines.utils.dbt import runner as dbt_runner
from pipelines.utils.dbt.tasks import child_flow_name
from pipelines.utils.dump_db import create_dump_db_flow
from pipelines.utils.execution import run_local
from pipelines.utils.warehouse import get_warehouse
from tests.conftest import REPO_ROOT, connect_postgres
from tests.support.prefect_server import PrefectTestServer


@pytest.fixture
def queries(tmp_path, monkeypatch) -> Path:
    """A copy of queries/ that a test may add models to; the runner uses it."""
    copy = tmp_path / "queries"
    shutil.copytree(REPO_ROOT / "queries", copy, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(dbt_runner, "QUERIES_DIR", copy)
    return copy


@pytest.fixture
def pg_source(postgres_url, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    name = f"mat_{uuid.uuid4().hex[:8]}"
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} (id int, station text, mm double precision)")
        conn.execute(f"INSERT INTO {name} VALUES (1, 'a', 1.5), (2, 'a', 2.0), (3, 'b', 0.5)")
        yield name
        conn.execute(f"DROP TABLE {name}")


def add_model(queries: Path, table: str, sql: str) -> Path:
    folder = queries / "models" / "tests"
    folder.mkdir(exist_ok=True)
    (folder / f"{table}_sources.yml").write_text(
        f"version: 2\nsources:\n  - name: tests_staging\n    tables:\n      - name: {table}\n"
    )
    model = folder / f"{table}.sql"
    model.write_text(sql.replace("SOURCE", f"{{{{ source('tests_staging', '{table}') }}}}"))
    return model


def dump(table: str, **extra: object):
    flow = create_dump_db_flow("tests: dump_db", org="tests")
    parameters = dict(connection="pg", dataset_id="tests", table_id=table, table=table, **extra)
    return run_local(flow, parameters)


def test_the_example_etl_ends_with_its_model_built(local_env, monkeypatch):
    from pipelines.emd.template_pipeline.flows import flow

    monkeypatch.chdir(REPO_ROOT)
    state = run_local(flow)
    assert state.is_successful()
    rows = get_warehouse().rows(
        "SELECT count(*), sum(leituras) FROM template_pipeline.rain_per_station_day"
    )
    total = get_warehouse().rows("SELECT sum(leituras) FROM template_pipeline.rain_per_hour")
    assert rows[0][0] > 0 and rows[0][1] == total[0][0]


def test_a_dump_with_materialize_after_dump_builds_its_model(local_env, queries, pg_source):
    add_model(
        queries, pg_source, "select station, sum(mm) as mm, count(*) as n from SOURCE group by 1"
    )
    state = dump(pg_source, materialize_after_dump=True)

    assert state.is_successful()
    assert get_warehouse().rows(f"SELECT * FROM tests.{pg_source} ORDER BY station") == [
        ("a", 3.5, 2),
        ("b", 0.5, 1),
    ]
    (run,) = [s.result for t, s in state.result.items() if t.name == "materialize"]
    (model,) = [r for r in run.results if r.relation == f"tests.{pg_source}"]
    assert model.status == "success" and model.rows_affected == 2 and model.seconds >= 0


def test_without_materialize_after_dump_no_model_runs(local_env, queries, pg_source):
    state = dump(pg_source)
    assert state.is_successful()
    (skipped,) = [s for t, s in state.result.items() if t.name == "materialize"]
    assert skipped.is_skipped()


def test_a_broken_model_fails_the_run_with_dbts_error_and_the_models_file(
    local_env, queries, pg_source, caplog
):
    add_model(queries, pg_source, "select no_such_column from SOURCE")
    with caplog.at_level(logging.INFO):
        state = dump(pg_source, materialize_after_dump=True)

    assert state.is_failed()
    (failed,) = [s for t, s in state.result.items() if t.name == "materialize"]
    compiled = local_env / "dbt" / "target" / "compiled" / "queries" / "models" / "tests"
    assert f"queries/models/tests/{pg_source}.sql" in failed.message
    assert f"compiled SQL: {compiled / pg_source}.sql" in failed.message
    assert "no_such_column" in failed.message
    logged = caplog.text
    assert f"models/tests/{pg_source}.sql" in logged and "no_such_column" in logged
    # The raw load happened: the failure is the model's only.
    assert get_warehouse().row_count("tests", pg_source) == 3


def test_failing_dbt_tests_fail_unless_warn_only(local_env, queries, pg_source):
    add_model(queries, pg_source, "select * from SOURCE")
    (queries / "models" / "tests" / f"{pg_source}_tests.yml").write_text(
        f"version: 2\nmodels:\n  - name: {pg_source}\n    columns:\n      - name: station\n"
        "        data_tests: [unique]\n"
    )
    assert dump(pg_source).is_successful()
    select = model_selector("tests", pg_source)
    logger = logging.getLogger("test")
    from pipelines.errors import DbtError
    from pipelines.settings import load_settings

    with pytest.raises(DbtError, match="unique_"):
        run_dbt_command("build", load_settings(), logger, select=select)
    run = run_dbt_command("build", load_settings(), logger, select=select, warn_only=True)
    assert {r.status for r in run.results} == {"success", "fail"}


def test_a_selection_that_matches_nothing_is_an_error(local_env, queries):
    from pipelines.errors import DbtError
    from pipelines.settings import load_settings

    with pytest.raises(DbtError, match="no model matches"):
        run_dbt_command(
            "build", load_settings(), logging.getLogger("t"), select=model_selector("no", "model")
        )


def test_dbt_vars_from_a_secret_reach_the_model_and_no_log(
    local_env, queries, pg_source, monkeypatch, caplog
):
    """The original's dbt_model_secret_parameters: a hash seed kept in the secret store."""
    monkeypatch.setenv("PIPELINES_SECRET_SME_HASH", '{"seed": "s3cr3t-seed-42"}')
    add_model(
        queries, pg_source,
        "select md5(station || '{{ var(\"hash_seed\") }}') as hashed, "
        "'{{ var(\"label\") }}' as label from SOURCE",
    )  # fmt: skip
    state = dump(pg_source, materialize_after_dump=True,
                 dbt_vars={"hash_seed": "secret:sme/hash#seed", "label": "plain"})  # fmt: skip

    assert state.is_successful(), state.message
    import hashlib

    rows = get_warehouse().rows(f"SELECT DISTINCT hashed, label FROM tests.{pg_source}")
    assert sorted(rows) == sorted(
        (hashlib.md5(f"{station}s3cr3t-seed-42".encode()).hexdigest(), "plain")
        for station in ("a", "b")
    )
    assert "s3cr3t-seed-42" not in caplog.text


def test_child_flow_names_follow_the_parents_deployment():
    assert child_flow_name("emd: dump_db", "emd") == "emd: materialize"
    assert child_flow_name("emd: dump_db (staging)", "emd") == "emd: materialize (staging)"
    assert child_flow_name("emd: x (development)", "emd") == "emd: materialize (development)"


def _parent_task_on_server(server: PrefectTestServer, project: str, **options):
    """Run the materialize task as a flow run from the server would: backend context."""
    parent_name = f"emd: dump_db{' (staging)' if project == 'staging' else ''}"
    parent_flow = server.plant_flow(parent_name, project)
    parent_run = server.plant_flow_run(parent_flow, "Running", labels=["emd", "team-a"])
    with Flow(parent_name) as flow:
        materialize("tests", "t", poll_s=0.01, **options)
    state = server.run_as_agent(flow, parent_run)
    (task_state,) = state.result.values()
    return task_state


@pytest.mark.parametrize("project", ["staging", "main"])
def test_on_the_server_the_child_runs_in_the_parents_project_with_its_labels(project):
    with PrefectTestServer() as server:
        server.add_project("staging")
        server.add_project("main")
        staging_child = server.plant_flow("emd: materialize (staging)", "staging")
        main_child = server.plant_flow("emd: materialize", "main")
        state = _parent_task_on_server(server, project)
        (child,) = [r for r in server.flow_runs.values() if r["flow_id"] != ""][-1:]
    assert state.is_successful(), state.message
    assert child["flow_id"] == (staging_child if project == "staging" else main_child)
    assert child["labels"] == ["emd", "team-a"]
    assert child["parameters"]["select"] == "path:models/tests/t.sql"


def test_a_child_run_gets_the_reference_to_a_secret_var_never_its_value(monkeypatch):
    monkeypatch.setenv("PIPELINES_SECRET_SME_HASH", '{"seed": "s3cr3t-seed-42"}')
    with PrefectTestServer() as server:
        server.add_project("main")
        server.plant_flow("emd: materialize", "main")
        vars = {"hash_seed": "secret:sme/hash#seed"}
        state = _parent_task_on_server(server, "main", vars=vars)
        (child,) = [r for r in server.flow_runs.values() if (r.get("name") or "").startswith("mat")]
    assert state.is_successful(), state.message
    assert child["parameters"]["vars"] == vars


@pytest.mark.parametrize(
    ("final", "expected"),
    [
        ("Failed", "Child run failed: "),
        ("Running", "did not finish within 0 s (state Running, cancelled)"),
    ],
)
def test_the_parent_fails_when_the_child_fails_or_times_out(final, expected):
    with PrefectTestServer(final_state=final) as server:
        server.add_project("main")
        server.plant_flow("emd: materialize", "main")
        state = _parent_task_on_server(server, "main", timeout_s=0.5)
        (child_id,) = [
            i
            for i, r in server.flow_runs.items()
            if r.get("name") == "materialize path:models/tests/t.sql"
        ]
    assert state.is_failed()
    assert expected in state.message and f"/flow-run/{child_id}" in state.message


def test_a_missing_materialization_flow_says_what_to_register():
    with PrefectTestServer() as server:
        server.add_project("main")
        state = _parent_task_on_server(server, "main")
    assert state.is_failed()
    assert "No flow 'emd: materialize' in project 'main'" in state.message
    assert "(defined in pipelines/emd/flows.py)" in state.message


def test_the_bigquery_profile_runs_a_model_on_the_emulated_api(
    bigquery_emulator, gcs_bucket, queries, tmp_path, monkeypatch
):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.settings import load_settings
    from pipelines.utils.datalake.gcs import GCSDatalake
    from pipelines.utils.warehouse.bigquery import BigQueryWarehouse

    client, bucket = gcs_bucket
    values = {
        "PIPELINES_ENV": "dev",
        "PIPELINES_DATA_DIR": str(tmp_path / "data"),
        "PIPELINES_BIGQUERY_PROJECT": bigquery_emulator.project,
        "PIPELINES_BIGQUERY_API_ENDPOINT": bigquery_emulator.endpoint,
    }
    settings = load_settings(values, root=tmp_path)
    lake = GCSDatalake(bucket, client=client, root="staging")
    local = tmp_path / "part.parquet"
    pq.write_table(pa.table({"station": ["a", "a", "b"], "mm": [1.5, 2.0, 0.5]}), local)
    lake.replace_prefix(
        f"tests/rain/ano=2024/mes=01/data={dt.date(2024, 1, 5)}", {"p.parquet": local}
    )
    BigQueryWarehouse(settings).load_from_datalake(lake, "tests", "rain")
    add_model(queries, "rain", "select station, sum(mm) as mm from SOURCE group by station")

    run = run_dbt_command(
        "build", settings, logging.getLogger("t"), select=model_selector("tests", "rain")
    )

    (model,) = run.results
    # dev writes to <dataset>_dev: neither the production table nor the raw staging one.
    assert model.status == "success" and model.relation == "tests_dev.rain"
    rows = BigQueryWarehouse(settings).rows(
        "SELECT station, mm FROM `tests_dev.rain` ORDER BY station"
    )
    assert rows == [("a", 3.5), ("b", 0.5)]


@pytest.mark.parametrize(
    ("arguments", "selection"),
    [
        ({"select": "tag:daily"}, "tag:daily"),
        ({"dataset_id": "saude", "table_id": "vacinas"}, "path:models/saude/vacinas.sql"),
        ({"dataset_id": "saude", "table_id": "vacinas", "upstream": True},
         "+path:models/saude/vacinas.sql"),
        ({"dataset_id": "saude", "table_id": "vacinas", "downstream": True},
         "path:models/saude/vacinas.sql+"),
    ],
)  # fmt: skip
def test_a_materialize_run_selects_by_selection_or_by_table(arguments, selection):
    from pipelines.utils.dbt.tasks import dbt_selection

    assert dbt_selection.run(**arguments) == selection


@pytest.mark.parametrize(
    "arguments",
    [{}, {"select": "tag:daily", "dataset_id": "saude", "table_id": "vacinas"},
     {"dataset_id": "saude"}],
)  # fmt: skip
def test_a_materialize_run_needs_one_way_of_saying_what_to_build(arguments):
    from pipelines.errors import DbtError
    from pipelines.manage.clocks import clock_problems
    from pipelines.utils.dbt import create_materialize_flow
    from pipelines.utils.dbt.tasks import dbt_selection

    with pytest.raises(DbtError, match="give both|not both and not neither"):
        dbt_selection.run(**arguments)
    import pendulum
    from prefect.schedules import Schedule
    from prefect.schedules.clocks import IntervalClock

    start = pendulum.datetime(2024, 1, 1, tz="America/Sao_Paulo")
    clock = IntervalClock(pendulum.duration(days=1), start, parameter_defaults=arguments)
    flow = create_materialize_flow("emd: m", org="emd", schedule=Schedule(clocks=[clock]))
    (problem,) = clock_problems(flow)
    assert problem.startswith("clock 1 (every day from 2024-01-01 00:00 (America/Sao_Paulo)): "
                              "dbt_selection would refuse its arguments: ")  # fmt: skip


def test_publish_copies_the_model_to_the_open_data_warehouse_and_exports_its_csv(
    local_env, queries, pg_source
):
    """The original's materialize_to_datario and dump_to_gcs after a dump."""
    import duckdb

    add_model(queries, pg_source, "select station, sum(mm) as mm from SOURCE group by 1")
    state = dump(pg_source, materialize_after_dump=True, publish=True, export_csv=True)
    assert state.is_successful(), state.message

    public = local_env / "public.duckdb"
    with duckdb.connect(str(public), read_only=True) as db:
        rows = db.execute(f"SELECT * FROM tests.{pg_source} ORDER BY station").fetchall()
    assert rows == [("a", 3.5), ("b", 0.5)]
    export = local_env / "datalake" / "exports" / "tests" / pg_source / f"{pg_source}.csv.zip"
    assert export.is_file()


def test_export_csv_without_publish_is_refused(local_env, queries, pg_source):
    add_model(queries, pg_source, "select * from SOURCE")
    state = dump(pg_source, materialize_after_dump=True, export_csv=True)
    assert state.is_failed()
    (message,) = [str(s.message) for t, s in state.result.items() if t.name == "materialize"]
    assert message == "export_csv=True exports the published table: set publish=True too."
