"""Run helpers locally (run_local) and against the Prefect test server (real schema)."""

from __future__ import annotations

import pendulum
import pytest
from prefect import Flow, Parameter

from pipelines.utils.execution import run_local
from pipelines.utils.flow_runs import (
    create_child_run,
    get_current_flow_labels,
    get_current_flow_mode,
    rename_current_flow_run,
    wait_for_run,
)
from pipelines.utils.flow_runs.runs import render_name
from tests.support.prefect_server import PrefectTestServer

TEMPLATE = "{flow_name} {now:%Y-%m-%d %H:%M} {param[table_id]}"


def on_server(server: PrefectTestServer, flow: Flow, project: str = "main", **parameters):
    """Run `flow` as the server's agent would: a planted run of a flow in `project`."""
    flow_id = server.plant_flow(flow.name, project)
    run_id = server.plant_flow_run(flow_id, "Running", labels=["emd", "k8s"])
    return run_id, server.run_as_agent(flow, run_id, parameters)


def results(state) -> dict[str, object]:
    return {task.name: task_state for task, task_state in state.result.items()}


def helpers_flow(name: str = "emd: helpers") -> Flow:
    with Flow(name) as flow:
        flow.add_task(Parameter("table_id", default="escolas"))
        rename_current_flow_run(TEMPLATE)
        get_current_flow_labels()
        get_current_flow_mode()
    return flow


def test_the_name_is_computed_at_run_time_in_sao_paulo(monkeypatch):
    import prefect

    with prefect.context(flow_name="emd: x", parameters={"table_id": "t"}):
        at = pendulum.datetime(2024, 1, 1, 2, 30, tz="UTC")
        assert render_name(TEMPLATE, now=at.in_timezone("America/Sao_Paulo")) == (
            "emd: x 2023-12-31 23:30 t"
        )
        with pytest.raises(ValueError, match="is not one of"):
            render_name("{flow} {param[nope]}")


def test_locally_the_helpers_log_and_answer_without_a_server():
    state = run_local(helpers_flow(), {"table_id": "escolas"})
    assert state.is_successful()
    found = results(state)
    assert found["rename_current_flow_run"].result.startswith("emd: helpers 20")
    assert found["rename_current_flow_run"].result.endswith(" escolas")
    assert found["get_current_flow_labels"].result == []
    assert found["get_current_flow_mode"].result == "dev"


@pytest.mark.parametrize(("project", "mode"), [("main", "prod"), ("staging", "dev")])
def test_on_the_server_they_rename_read_labels_and_mode_from_the_project(project, mode):
    with PrefectTestServer() as server:
        server.add_project("main")
        server.add_project("staging")
        run_id, state = on_server(server, helpers_flow(), project, table_id="escolas")
        renamed = server.flow_runs[run_id]["name"]
    assert state.is_successful(), state.message
    found = results(state)
    assert renamed == found["rename_current_flow_run"].result
    assert renamed.startswith("emd: helpers 20") and renamed.endswith(" escolas")
    assert found["get_current_flow_labels"].result == ["emd", "k8s"]
    assert found["get_current_flow_mode"].result == mode


def parent_flow(child: str, parameters: dict | None = None, **wait: float) -> Flow:
    with Flow("emd: parent") as flow:
        run_id = create_child_run(
            child, parameters or {"table_id": "t"}, run_name="child of parent"
        )
        wait_for_run(run_id, poll_s=0.01, **wait)
    return flow


@pytest.mark.parametrize("project", ["main", "staging"])
def test_a_child_runs_in_the_parents_project_with_its_labels(project):
    with PrefectTestServer() as server:
        server.add_project("main")
        server.add_project("staging")
        main_child = server.plant_flow("emd: child", "main")
        staging_child = server.plant_flow("emd: child", "staging")
        parent_run, state = on_server(server, parent_flow("emd: child"), project)
        (child,) = [r for i, r in server.flow_runs.items() if i != parent_run]
    assert state.is_successful(), state.message
    assert child["flow_id"] == (main_child if project == "main" else staging_child)
    assert child["labels"] == ["emd", "k8s"] and child["name"] == "child of parent"
    assert child["parameters"] == {"table_id": "t"}


def test_a_failing_child_fails_the_parent_with_its_link():
    with PrefectTestServer(final_state="Failed") as server:
        server.add_project("main")
        server.plant_flow("emd: child", "main")
        parent_run, state = on_server(server, parent_flow("emd: child"), "main")
        (child_id,) = [i for i in server.flow_runs if i != parent_run]
    waited = results(state)["wait_for_run"]
    assert state.is_failed() and waited.is_failed()
    assert (
        waited.message.startswith("Child run failed: ")
        and f"/flow-run/{child_id}" in waited.message
    )


def test_a_slow_child_is_cancelled_at_the_timeout_and_fails_the_parent():
    with PrefectTestServer(final_state="Running") as server:
        server.add_project("main")
        server.plant_flow("emd: child", "main")
        parent_run, state = on_server(server, parent_flow("emd: child", timeout_s=0.3), "main")
        (child_id,) = [i for i in server.flow_runs if i != parent_run]
        child_state = server.flow_runs[child_id]["state"]
    waited = results(state)["wait_for_run"]
    assert (
        waited.is_failed()
        and "did not finish within 0 s (state Running, cancelled)" in waited.message
    )
    assert child_state == "Cancelled"


def test_a_child_flow_missing_from_the_parents_project_is_named():
    with PrefectTestServer() as server:
        server.add_project("main")
        server.add_project("staging")
        server.plant_flow("emd: child", "main")
        _, state = on_server(server, parent_flow("emd: child"), "staging")
    created = results(state)["create_child_run"]
    assert created.is_failed()
    assert created.message.startswith("No flow 'emd: child' in project 'staging' (the parent's)")


def test_locally_the_child_flow_runs_in_this_process():
    state = run_local(parent_flow("emd: test_flow", {"param": "from the parent"}))
    assert state.is_successful()
    assert results(state)["wait_for_run"].result == "Success"
