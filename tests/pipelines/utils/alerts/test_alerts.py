"""Failure alerts to a real local webhook server."""

from __future__ import annotations

import socket

import pytest
from prefect import Parameter, task

from pipelines.utils.execution import run_local
from pipelines.utils.pipeline_flow import PipelineFlow
from tests.support.prefect_server import PrefectTestServer
from tests.support.webhook import Webhook


@task
def maybe_fail(fail: bool) -> str:
    if fail:
        raise RuntimeError("source returned 503")
    return "ok"


def build(name: str = "emd: alerts") -> PipelineFlow:
    with PipelineFlow(name, org="emd", code_owners=["ana", "bruno"]) as flow:
        maybe_fail(Parameter("fail", default=True))
    return flow


@pytest.fixture(autouse=True)
def _own_data_dir(local_env):
    """The alert flood guard keeps its state in the datalake: each test has its own."""
    return local_env


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"  # nothing listens there any more


def test_a_failing_run_posts_once_with_name_message_link_and_owners(webhook, monkeypatch):
    monkeypatch.setenv("PIPELINES_FAILURE_WEBHOOK_URL", webhook.url)
    state = run_local(build())
    assert state.is_failed()
    assert len(webhook.posts) == 1
    post = webhook.posts[0]
    assert post["content"] == post["text"]
    assert post["content"] == (
        "Flow 'emd: alerts' failed: Some reference tasks failed.\n"
        "Run: a local run (no link)\n"
        "Owners: ana, bruno\n"
        'Parameters: {"fail": true}\n'
        "maybe_fail: Error during execution of task: RuntimeError('source returned 503')"
    )


def test_a_successful_run_posts_nothing(webhook, monkeypatch):
    monkeypatch.setenv("PIPELINES_FAILURE_WEBHOOK_URL", webhook.url)
    assert run_local(build(), {"fail": False}).is_successful()
    assert webhook.posts == []


@pytest.mark.parametrize("kind", ["dead", "error"])
def test_a_broken_webhook_does_not_change_the_final_state(kind, monkeypatch):
    baseline = run_local(build())
    hook = Webhook(status=500) if kind == "error" else None
    monkeypatch.setenv("PIPELINES_FAILURE_WEBHOOK_URL", hook.url if hook else dead_url())
    try:
        failed = run_local(build())
        succeeded = run_local(build(), {"fail": False})
    finally:
        if hook:
            hook.close()
    assert type(failed) is type(baseline) and failed.message == baseline.message
    assert succeeded.is_successful()


def test_the_alert_carries_each_failed_tasks_own_message():
    from prefect import Task
    from prefect.engine.state import Failed, Success, TriggerFailed

    from pipelines.utils.alerts import failure_message
    from pipelines.utils.pipeline_flow import PipelineFlow

    flow = PipelineFlow("emd: x", org="emd", code_owners=["ana"])
    dbt, load, after = Task(name="materialize"), Task(name="load"), Task(name="export")
    state = Failed(
        "Some reference tasks failed.",
        result={
            load: Success(),
            dbt: Failed("dbt build failed:\n  model.queries.m in queries/models/ds/m.sql: boom"),
            after: TriggerFailed("Trigger was all_successful but some upstream failed."),
        },
    )
    text = failure_message(flow, state)["text"]
    assert (
        "materialize: dbt build failed:\n  model.queries.m in queries/models/ds/m.sql: boom" in text
    )
    assert "Trigger was" not in text and "load:" not in text


def test_alerts_mention_owners_by_chat_id_and_go_to_the_orgs_own_webhook(
    webhook, monkeypatch, tmp_path
):
    from pipelines.utils.alerts import messages as alerts

    owners = tmp_path / "owners.yaml"
    owners.write_text('ana:\n  discord: "111222333"\n  slack: "U0ANA"\n')
    monkeypatch.setattr(alerts, "OWNERS_FILE", owners)
    other = Webhook()
    try:
        monkeypatch.setenv("PIPELINES_FAILURE_WEBHOOK_URL", other.url)  # the default
        monkeypatch.setenv("PIPELINES_FAILURE_WEBHOOK_URL_EMD", webhook.url)  # emd's own
        run_local(build())
    finally:
        other.close()
    assert other.posts == []
    (post,) = webhook.posts
    assert "Owners: <@111222333> (ana), bruno" in post["content"]


def test_a_flow_that_keeps_failing_posts_one_alert_and_then_one_summary(webhook, monkeypatch):
    monkeypatch.setenv("PIPELINES_FAILURE_WEBHOOK_URL", webhook.url)
    flow = build()
    for _ in range(10):
        assert run_local(flow, {"fail": True}).is_failed()
    assert run_local(flow, {"fail": False}).is_successful()
    assert len(webhook.posts) == 2
    first, summary = (post["content"] for post in webhook.posts)
    assert first.startswith("Flow 'emd: alerts' failed: ")
    assert summary == (
        "Flow 'emd: alerts': 9 more failure(s) since the last alert were not posted one by "
        "one; it succeeded again."
    )


def test_after_the_interval_a_failure_posts_the_summary_and_its_alert(webhook, monkeypatch):
    monkeypatch.setenv("PIPELINES_FAILURE_WEBHOOK_URL", webhook.url)
    flow = build()
    for _ in range(3):
        run_local(flow, {"fail": True})
    monkeypatch.setenv("PIPELINES_ALERT_INTERVAL_MIN", "0")
    run_local(flow, {"fail": True})
    texts = [post["content"] for post in webhook.posts]
    assert len(texts) == 3
    assert (
        texts[1].startswith("Flow 'emd: alerts': 2 more failure(s)") and "failed again" in texts[1]
    )
    assert texts[2].startswith("Flow 'emd: alerts' failed: ")


def test_on_the_server_the_alert_says_how_many_recent_runs_failed(webhook, monkeypatch):

    monkeypatch.setenv("PIPELINES_FAILURE_WEBHOOK_URL", webhook.url)
    with PrefectTestServer() as server:
        server.add_project("main")
        flow_id = server.plant_flow("emd: alerts", "main")
        for state in ("Success", "Failed", "Failed", "Success"):
            server.plant_flow_run(flow_id, state)
        run_id = server.plant_flow_run(flow_id, "Running")
        server.run_as_agent(build(), run_id, {"fail": True}, flow_id=flow_id)
    (post,) = webhook.posts
    assert f"/flow-run/{run_id}" in post["content"]
    assert "History: 2 of the last 4 finished runs failed" in post["content"]


@pytest.mark.parametrize(
    "names",
    [
        ("emd: a/b", "emd: a b"),
        ("emd: Alerts", "emd: alerts"),
        ("emd: dump_db", "emd: dump-db"),
        ("emd: ção", "emd: cao"),
        ("emd: " + "x" * 90 + "1", "emd: " + "x" * 90 + "2"),
    ],
)
def test_flows_whose_names_share_a_slug_keep_their_own_alert_state(webhook, monkeypatch, names):
    from pipelines.utils.alerts.messages import Guard

    monkeypatch.setenv("PIPELINES_FAILURE_WEBHOOK_URL", webhook.url)
    assert Guard.key(names[0]) != Guard.key(names[1])
    for name in names:  # within the flood guard's interval: each flow's first failure posts
        run_local(build(name), {"fail": True})
    posted = [post["content"].split(" failed: ")[0] for post in webhook.posts]
    assert posted == [f"Flow {name!r}" for name in names]
