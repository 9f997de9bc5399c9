"""The Prefect test server holds documents to the real schema and behaves like the server."""

from __future__ import annotations

import pytest
from prefect import Client, Flow, Parameter, task
from prefect.exceptions import ClientError
from prefect.schedules import IntervalSchedule
from prefect.storage import Local

from tests.support.prefect_server import PrefectTestServer
from tests.support.prefect_server.store import like


@task
def noop(x: int = 1) -> int:
    return x


def make_flow(name: str = "emd: f", required: bool = False, schedule: bool = False) -> Flow:
    with Flow(name, storage=Local(add_default_labels=False)) as flow:
        noop(Parameter("x", required=required) if required else 1)
    if schedule:
        import datetime as dt

        flow.schedule = IntervalSchedule(interval=dt.timedelta(hours=1))
    return flow


@pytest.fixture
def server():
    with PrefectTestServer() as running:
        running.add_project("main")
        yield running


@pytest.fixture
def client(server) -> Client:
    return Client(api_server=server.url)


def register(client: Client, flow: Flow, key: str | None = None, **kwargs) -> str:
    return client.register(
        flow, project_name="main", build=False, idempotency_key=key, no_url=True, **kwargs
    )


def test_a_document_with_a_wrong_variable_type_is_refused_as_the_server_would(server, client):
    wrong = "query FlowRunState($id: UUID!) { flow_run_by_pk(id: $id) { id state } }"
    with server.expecting_invalid(), pytest.raises(ClientError) as raised:
        client.graphql(wrong, variables={"id": "00000000-0000-4000-8000-000000000000"})
    assert "400 Client Error" in str(raised.value)
    words = " ".join(str(raised.value).split())  # the Client wraps the server's message
    assert "Variable '$id' of type 'UUID!' used in position expecting type 'uuid!'." in words
    assert server.requests[-1].operation == "invalid"


def test_an_unknown_field_is_refused(server, client):
    with server.expecting_invalid(), pytest.raises(ClientError, match="Cannot query field"):
        client.graphql("query { flow { id storage_key } }")


def test_a_matching_idempotency_key_returns_the_newest_unarchived_version(server, client):
    first = register(client, make_flow(), key="k1")
    assert register(client, make_flow(), key="k1") == first
    second = register(client, make_flow(), key="k2")
    assert second != first and server.flows[first]["archived"] is True
    assert server.flows[second]["version"] == 2


def test_a_registration_without_a_key_resets_it(server, client):
    first = register(client, make_flow(), key="k1")
    second = register(client, make_flow(), key=None)
    third = register(client, make_flow(), key="k1")  # the stored key was reset by `second`
    assert len({first, second, third}) == 3
    group = server.store.tables["flow_group"][server.flows[third]["flow_group_id"]]
    assert group["settings"]["idempotency_key"] == "k1"


def test_a_new_version_archives_the_others_and_cancels_their_queued_runs(server, client):
    first = register(client, make_flow())
    queued = client.create_flow_run(flow_id=first)
    register(client, make_flow())
    assert server.flows[first]["archived"] is True
    run = server.flow_runs[queued]
    assert run["state"] == "Cancelled" and run["state_message"] == f"Flow {first} was archived."


def test_versions_count_archived_ones_and_names_are_per_project(server, client):
    server.add_project("staging")
    ids = [register(client, make_flow()) for _ in range(3)]
    assert [server.flows[i]["version"] for i in ids] == [1, 2, 3]
    other = client.register(make_flow(), project_name="staging", build=False, no_url=True)
    assert server.flows[other]["version"] == 1


def test_create_flow_run_refuses_an_archived_flow(server, client):
    first = register(client, make_flow())
    register(client, make_flow())
    with pytest.raises(ClientError, match=f"Flow {first} is archived."):
        client.create_flow_run(flow_id=first)


def test_the_same_idempotency_key_and_flow_return_the_existing_run(server, client):
    flow_id = register(client, make_flow())
    a = client.create_flow_run(flow_id=flow_id, idempotency_key="once")
    assert client.create_flow_run(flow_id=flow_id, idempotency_key="once") == a
    assert client.create_flow_run(flow_id=flow_id, idempotency_key="twice") != a


def test_set_schedule_active_is_a_no_op_without_a_schedule(server, client):
    flow_id = register(client, make_flow(), set_schedule_active=False)
    result = client.graphql(
        "mutation($input: set_schedule_active_input!) { set_schedule_active(input: $input) "
        "{ success } }",
        variables={"input": {"flow_id": flow_id}},
    )
    assert result["data"]["set_schedule_active"]["success"] is False
    assert server.flows[flow_id]["is_schedule_active"] is False


def test_set_schedule_active_fails_when_the_schedule_lacks_required_parameters(server, client):
    flow = make_flow(required=True)
    flow_id = register(client, flow, set_schedule_active=False)
    # Client.register refuses to schedule it; give the stored flow a schedule behind its back.
    server.flows[flow_id]["schedule"] = {"clocks": [{"type": "IntervalClock"}]}
    with pytest.raises(ClientError, match="Can not schedule a flow that has required parameters"):
        client.graphql(
            "mutation($input: set_schedule_active_input!) { set_schedule_active(input: $input) "
            "{ success } }",
            variables={"input": {"flow_id": flow_id}},
        )


def test_a_scheduled_flow_registered_active_is_active(server, client):
    flow_id = register(client, make_flow(schedule=True), set_schedule_active=True)
    assert server.flows[flow_id]["is_schedule_active"] is True


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("emd: test_flow", "emd: test1flow", True),  # "_" is any one character
        ("emd: test\\_flow", "emd: test1flow", False),
        ("%(development)", "emd: x (development)", True),
        ("emd%", "EMD: x", False),
    ],
)
def test_like_is_sql_like(pattern, value, expected):
    assert like(pattern, value) is expected


def test_like_filters_run_through_the_api(server, client):
    server.plant_flow("emd: test_flow", "main")
    server.plant_flow("emd: test1flow", "main")
    found = client.graphql(
        'query { flow(where: {name: {_like: "emd: test_flow"}}, order_by: {name: asc}) { name } }'
    )
    assert [f["name"] for f in found["data"]["flow"]] == ["emd: test1flow", "emd: test_flow"]


def test_a_real_cloud_flow_runner_runs_a_registered_flow_with_no_repo_code(cloud_env, tmp_path):
    """What a flow-run pod does, without the container: `prefect execute flow-run` (Prefect's
    CloudFlowRunner and CloudTaskRunner) against this server, the flow loaded from the
    bucket by an interpreter that cannot import the repo."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT, deploy_environment
    from tests.support.without_repo import run_without_repo

    with PrefectTestServer(simulate_agent=False) as server:
        server.add_project("main")
        env = {**deploy_environment(cloud_env), "PREFECT__SERVER__PORT": str(server.port)}
        env.update(PIPELINES_PROD_PROJECT="main", PIPELINES_IMAGE_REPOSITORY="ghcr.io/c/p")
        registered = subprocess.run(
            [sys.executable, "manage.py", "register", "--all", "--json"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert registered.returncode == 0, registered.stdout + registered.stderr
        (flow,) = [f for f in server.flows.values() if f["name"] == "emd: test_flow"]
        run_id = server.create_flow_run({"flow_id": flow["id"], "parameters": {"param": "v"}})["id"]
        # Task runs exist from the start (the database's trigger), Pending.
        assert {t["state"] for t in server.task_runs_of(run_id)} == {"Pending"}
        assert len(server.task_runs_of(run_id)) == len(flow["serialized_flow"]["tasks"])
        (ready,) = server.get_runs_in_queue({"tenant_id": server.tenant_id, "labels": ["emd"]})[
            "flow_run_ids"
        ]
        assert ready == run_id
        # An agent without the run's label does not get it.
        assert server.get_runs_in_queue({"tenant_id": server.tenant_id, "labels": ["x"]}) == {
            "flow_run_ids": []
        }
        pod = {
            **env,
            "PREFECT__CLOUD__API": server.url,
            "PREFECT__CONTEXT__FLOW_RUN_ID": run_id,
            "PREFECT__CONTEXT__FLOW_ID": flow["id"],
            "PREFECT__CLOUD__SEND_FLOW_RUN_LOGS": "true",
            "PREFECT__ENGINE__FLOW_RUNNER__DEFAULT_CLASS": "prefect.engine.cloud.CloudFlowRunner",
            "PIPELINES_ENV": "local",
        }
        ran = run_without_repo(
            "from prefect.cli import cli\ncli(['execute', 'flow-run'])", cwd=tmp_path, env=pod
        )

        run = server.flow_runs[run_id]
        assert run["state"] == "Success", ran.stdout[-3000:] + ran.stderr[-3000:]
        assert {t["state"] for t in server.task_runs_of(run_id)} == {"Success"}
        assert run["start_time"] and run["end_time"] and run["heartbeat"]

        def by_version(state: dict) -> int:
            return state["version"]

        states = [
            s["state"]
            for s in sorted(server.store.tables["flow_run_state"].values(), key=by_version)
            if s["flow_run_id"] == run_id
        ]
        assert states == ["Scheduled", "Running", "Success"]
        assert any("param = v" in (log["message"] or "") for log in server.logs)
        assert not [r.errors for r in server.requests if r.errors]
        used = {r.operation or r.fields[0] for r in server.requests}
        assert {"get_or_create_task_run_info", "set_task_run_states", "write_run_logs"} <= used


def test_a_run_is_submitted_once_and_a_running_task_needs_a_running_flow(server, client):
    from prefect.engine.state import Running, Scheduled, Submitted

    server.simulate_agent = False
    flow_id = register(client, make_flow())
    run_id = server.create_flow_run({"flow_id": flow_id})["id"]
    (task_run,) = server.task_runs_of(run_id)

    def set_flow(state):
        body = {"states": [{"flow_run_id": run_id, "state": state.serialize()}]}
        return server.set_flow_run_states(body)

    set_flow(Submitted(state=Scheduled()))
    with pytest.raises(ValueError, match="this run has already been submitted"):
        set_flow(Submitted(state=Scheduled()))
    with pytest.raises(ValueError, match="is not in a running state"):
        server.set_task_run_states(
            {"states": [{"task_run_id": task_run["id"], "state": Running().serialize()}]}
        )
    set_flow(Running())
    server.set_task_run_states(
        {"states": [{"task_run_id": task_run["id"], "state": Running().serialize()}]}
    )
    assert server.store.tables["task_run"][task_run["id"]]["state"] == "Running"
