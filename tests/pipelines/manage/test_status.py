"""`manage.py status` as a new user runs it: the example, fresh after a run, stale two days
on, from the runs run_local records (offline); and against the test Prefect server."""

from __future__ import annotations

import datetime as dt
import importlib
import json

import pytest
from click.testing import CliRunner

from pipelines.manage.cli import cli
from pipelines.utils.execution import run_local

TABLE = "template_pipeline.rain_per_hour"
MODEL = "template_pipeline.rain_per_station_day"  # the model the flow builds: fresh too


def status(*args: str):
    return CliRunner().invoke(cli, ["status", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def ran_example(tmp_path_factory):
    """The example run once with its data in a folder of its own (what `make run` does)."""
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINES_ENV", "local")
        patch.setenv("PIPELINES_DATA_DIR", str(data))
        flow = importlib.import_module("pipelines.emd.template_pipeline.flows").flow
        assert run_local(flow).is_successful()
    return data


@pytest.fixture
def example(ran_example, monkeypatch):
    monkeypatch.setenv("PIPELINES_ENV", "local")
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(ran_example))
    return ran_example


def test_after_a_run_the_example_is_fresh(example):
    done = status("--org", "emd", "--fail-on-stale")
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[0].endswith("from runs recorded by run_local under the data folder:")
    row = next(line for line in lines if line.startswith("emd: template_pipeline "))
    assert "Success under a minute ago" in row
    assert f"    table {TABLE}: fresh, loaded under a minute ago (at most 2 hours)" in lines
    assert f"    table {MODEL}: fresh, loaded under a minute ago (at most 2 hours)" in lines
    assert lines[-1] == "4 flow(s), 0 problem(s)."


def test_two_days_on_it_is_stale_and_fail_on_stale_exits_1(example):
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    shown = status("--org", "emd", "--now", later)
    assert shown.exit_code == 0  # without --fail-on-stale it only shows
    lines = shown.output.splitlines()
    assert lines[3].startswith("emd: template_pipeline ")  # problems first
    assert f"    table {TABLE}: STALE, loaded 2 days ago (at most 2 hours)" in lines
    assert f"    table {MODEL}: STALE, loaded 2 days ago (at most 2 hours)" in lines
    failed = status("--org", "emd", "--now", later, "--fail-on-stale")
    assert failed.exit_code == 1
    assert failed.output.splitlines()[-1] == (
        "Error: 2 table(s) older than their freshness (--fail-on-stale)."
    )


def test_runs_and_loads_after_now_are_not_the_past(example):
    earlier = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    lines = status("--org", "emd", "--now", earlier).output.splitlines()
    row = next(line for line in lines if line.startswith("emd: template_pipeline "))
    assert "no run" in row and "ago" not in row
    assert f"    table {TABLE}: not loaded yet (at most 2 hours)" in lines
    data = json.loads(status("--json", "--org", "emd", "--now", earlier).output)
    (flow,) = [f for f in data["flows"] if f["flow"] == "emd: template_pipeline"]
    assert flow["last_run"] is None
    assert {t["age_s"] for t in flow["tables"]} == {None}


def test_json_for_scripts_and_filters_by_owner(example):
    done = status("--json", "--owner", "@data-office")
    assert done.exit_code == 0
    data = json.loads(done.output)
    (flow,) = data["flows"]
    assert flow["flow"] == "emd: template_pipeline" and flow["last_run"]["state"] == "Success"
    assert {(t["table"], t["stale"]) for t in flow["tables"]} == {(TABLE, False), (MODEL, False)}
    # The schema history the datalake keeps, for the tables a write recorded (not models).
    (entry,) = data["schemas"][TABLE]
    assert entry["changes"] == ["first recorded"] and entry["mode"] == "append"
    assert entry["flow"] == "emd: template_pipeline" and entry["flow_run"]
    assert ["chuva_mm", "DOUBLE"] in entry["columns"]
    assert MODEL not in data["schemas"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nope"], "Error: --org 'nope' is no org of this repo (orgs: admin, emd)."),
        (["--now", "tomorrow"], "Error: --now 'tomorrow' is not a date/time: write e.g."),
        (
            ["--now", "9999-12-31T23:59"],
            "Error: --now '9999-12-31T23:59' is out of range: give a time between 1970 and "
            "2200, e.g. 2026-12-06T08:00.\n",
        ),
        (
            ["--owner", "nobody"],
            "Error: --owner 'nobody' owns no flow here (owners: data-office); owners are the "
            "GitHub handles in each project's CODE_OWNERS.\n",
        ),
    ],
)
def test_bad_options_get_one_line(example, args, message):
    done = status(*args)
    assert done.exit_code == 1
    assert done.output.startswith(message)


def test_against_the_server_it_reads_the_production_project(monkeypatch, prefect_server, tmp_path):
    monkeypatch.setenv("PIPELINES_ENV", "dev")
    monkeypatch.setenv("PIPELINES_DATALAKE_BUCKET", "unused")
    monkeypatch.setenv("PIPELINES_BIGQUERY_PROJECT", "unused")
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    # BigQuery load times are tested against the emulator (tests/pipelines/utils/warehouse).
    monkeypatch.setattr("pipelines.manage.status.load_times", lambda settings, e: {})
    flow_id = prefect_server.plant_flow(
        "emd: template_pipeline", "main", schedule={"clocks": []}, is_schedule_active=True
    )
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    for _ in range(3):
        prefect_server.plant_flow_run(flow_id, "Failed", start_time=at, end_time=at)
    from prefect.utilities.configuration import set_temporary_config

    with set_temporary_config({"cloud.api": prefect_server.url, "backend": "server"}):
        done = status("--org", "emd")
    assert done.exit_code == 0, done.output
    assert "from Prefect Server, project 'main':" in done.output
    assert "    ! Flow 'emd: template_pipeline': its last 3 runs failed." in done.output
    assert "    ! Flow 'emd: test_flow': is scheduled in the code but not on the server." in (
        done.output
    )


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_backoff(monkeypatch):
    """Prefect's client retries a refused connection six times over a minute: not here."""
    from urllib3.util.retry import Retry

    monkeypatch.setattr(Retry, "sleep", lambda self, response=None: None)


def test_a_server_that_does_not_answer_is_one_line_naming_it(monkeypatch, tmp_path, no_backoff):
    from prefect.utilities.configuration import set_temporary_config

    monkeypatch.setenv("PIPELINES_ENV", "dev")
    monkeypatch.setenv("PIPELINES_DATALAKE_BUCKET", "unused")
    monkeypatch.setenv("PIPELINES_BIGQUERY_PROJECT", "unused")
    down = f"http://127.0.0.1:{_closed_port()}"
    with set_temporary_config({"cloud.api": down, "backend": "server"}):
        done = status("--org", "emd")
    assert done.exit_code == 1
    assert done.output == (
        f"Error: Prefect Server at {down} did not answer (ConnectionError): check "
        "PREFECT__SERVER__HOST and PREFECT__SERVER__PORT, and that the server is up.\n"
    )


def test_bigquery_that_does_not_answer_is_one_line_naming_it(monkeypatch, prefect_server):
    from prefect.utilities.configuration import set_temporary_config

    monkeypatch.setenv("PIPELINES_ENV", "dev")
    monkeypatch.setenv("PIPELINES_DATALAKE_BUCKET", "unused")
    monkeypatch.setenv("PIPELINES_BIGQUERY_PROJECT", "city")
    endpoint = f"http://127.0.0.1:{_closed_port()}"  # an emulator's address: 10 s of retries
    monkeypatch.setenv("PIPELINES_BIGQUERY_API_ENDPOINT", endpoint)
    with set_temporary_config({"cloud.api": prefect_server.url, "backend": "server"}):
        done = status("--org", "emd")
    assert done.exit_code == 1
    assert done.output.startswith(
        f"Error: BigQuery ({endpoint}, project city) did not answer (RetryError): check "
        "PIPELINES_BIGQUERY_PROJECT, the Google credentials and the network"
    )
    assert "Traceback" not in done.output and len(done.output.splitlines()) == 1
