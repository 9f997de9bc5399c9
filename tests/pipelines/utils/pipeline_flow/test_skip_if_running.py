"""skip_if_running asks the API (the Prefect test server) for other running runs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from prefect import task

from pipelines.utils.execution import run_local
from pipelines.utils.pipeline_flow import PipelineFlow
from tests.conftest import REPO_ROOT
from tests.support.prefect_server import PrefectTestServer


@task
def maybe_fail(fail: bool) -> str:
    if fail:
        raise RuntimeError("source returned 503")
    return "ok"


@pytest.fixture(autouse=True)
def _own_data_dir(local_env):
    return local_env


SKIP_SCRIPT = """
import sys
from prefect import task
from prefect.engine.flow_runner import FlowRunner
from pipelines.utils.pipeline_flow import PipelineFlow

@task
def work():
    return 1

with PipelineFlow("emd: exclusive", org="emd", skip_if_running=True) as flow:
    work()
# What an agent's run has in context; FlowRunner is the runner CloudFlowRunner builds on.
context = {"flow_run_id": sys.argv[2], "flow_id": sys.argv[1], "running_with_backend": True}
state = FlowRunner(flow=flow).run(context=context)
print("STATE", type(state).__name__, state.message)
"""


def _run_exclusive(server: PrefectTestServer, flow_id: str, run_id: str):
    env = {
        **os.environ,
        "PREFECT__BACKEND": "server",
        "PREFECT__SERVER__HOST": "http://127.0.0.1",
        "PREFECT__SERVER__PORT": str(server.port),
    }
    return subprocess.run(
        [sys.executable, "-c", SKIP_SCRIPT, flow_id, run_id], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("other_state", "expected"), [("Running", "Skipped"), ("Success", "Success")]
)
def test_skip_if_running_asks_the_api(other_state, expected):
    with PrefectTestServer() as server:
        server.add_project("main")
        flow_id = server.plant_flow("emd: exclusive", "main")
        other = server.plant_flow_run(flow_id, other_state)
        this = server.plant_flow_run(flow_id, "Running")
        result = _run_exclusive(server, flow_id, this)
        assert [r.operation for r in server.requests if "write_run_logs" not in r.fields] == [
            "RunningRuns"
        ]
    assert f"STATE {expected}" in result.stdout, result.stdout + result.stderr
    if expected == "Skipped":
        assert f"Run {other} of 'emd: exclusive' is still running; skipping this one." in (
            result.stdout
        )


def test_skip_if_running_sees_runs_of_other_versions_of_the_flow():
    with PrefectTestServer() as server:
        server.add_project("main")
        old = server.plant_flow("emd: exclusive", "main", archived=True)
        group = server.flows[old]["flow_group_id"]
        new = server.plant_flow("emd: exclusive", "main", version=2, flow_group_id=group)
        other = server.plant_flow_run(old, "Running")
        result = _run_exclusive(server, new, server.plant_flow_run(new, "Running"))
    assert "STATE Skipped" in result.stdout and other in result.stdout, result.stderr


def test_a_refused_query_is_an_error_naming_it_and_the_run_goes_on():
    with PrefectTestServer() as server:
        server.add_project("main")
        flow_id = server.plant_flow("emd: exclusive", "main")
        with server.refusing("RunningRuns", "field 'flow_run' not found in type: 'query_root'"):
            result = _run_exclusive(server, flow_id, server.plant_flow_run(flow_id, "Running"))
    assert "STATE Success" in result.stdout, result.stdout + result.stderr
    assert "ERROR" in result.stdout and "refused the query RunningRuns" in result.stdout
    assert "field 'flow_run' not found" in result.stdout


def test_an_unreachable_api_is_a_warning_and_the_run_goes_on(monkeypatch, caplog):
    import prefect
    import requests
    from prefect.engine.state import Running

    from pipelines.utils.pipeline_flow.skip_if_running import skip_if_running

    def down(*args, **kwargs):
        raise requests.ConnectionError("connection refused")

    monkeypatch.setattr(prefect.Client, "graphql", down)
    context = {"flow_run_id": "r", "flow_id": "f", "running_with_backend": True}
    # A plain logger: Prefect's own would ship records to a backend that is not there.
    with prefect.context(**context, logger=logging.getLogger("skip-if-running-test")):
        with PipelineFlow("emd: exclusive", org="emd") as flow:
            maybe_fail(False)
        state = skip_if_running(flow, Running(), Running())
    assert state.is_running()
    assert "could not reach the API" in caplog.text and "ConnectionError" in caplog.text


def test_local_runs_are_never_skipped():
    with PipelineFlow("emd: exclusive", org="emd", skip_if_running=True) as flow:
        maybe_fail(False)
    assert run_local(flow).is_successful()
