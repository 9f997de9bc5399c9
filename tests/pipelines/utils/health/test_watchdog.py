"""The watchdog against the Prefect test server with planted runs, a real DuckDB warehouse
and a local webhook receiver: each problem found, alerted once, and its recovery told."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from prefect import Client, task

from pipelines.settings import load_settings
from pipelines.utils.health import expectation_of, snapshot
from pipelines.utils.health.tasks import watch_once
from pipelines.utils.pipeline_flow import PipelineFlow
from pipelines.utils.resources import resources
from pipelines.utils.schedules import interval_clock, make_schedule
from pipelines.utils.server import Server
from tests.support.prefect_server import PrefectTestServer
from tests.support.webhook import Webhook

HOURLY = make_schedule(interval_clock(dt.timedelta(hours=1)))


@task
def load(dataset_id: str, table_id: str) -> None:
    """Stands for a dump: a task that takes the table it writes."""


def flows() -> list[PipelineFlow]:
    made = []
    for name, extra in (
        ("emd: late", {}),
        ("emd: off", {}),
        ("emd: failing", {"pause_on_failing_streak": True}),
        ("emd: stale", {}),
        ("emd: healthy", {}),
    ):
        with PipelineFlow(name, org="emd", code_owners=["ana"], schedule=HOURLY, **extra) as flow:
            if name == "emd: stale":
                load("health_test", "readings")
        made.append(flow)
    return made


@pytest.fixture
def world(tmp_path, monkeypatch):
    """The server with the flows registered, the expectations published, a receiver."""
    owners = tmp_path / "owners.yaml"
    owners.write_text('ana:\n  discord: "4242"\n')
    monkeypatch.setattr("pipelines.utils.alerts.messages.OWNERS_FILE", owners)
    hook = Webhook()
    settings = load_settings(
        {
            "PIPELINES_ENV": "local",
            "PIPELINES_DATA_DIR": str(tmp_path / "data"),
            "PIPELINES_FAILURE_WEBHOOK_URL_EMD": hook.url,
        }
    )
    with PrefectTestServer() as server:
        server.add_project("main")
        found = {f.name: expectation_of(f) for f in flows()}
        lake = resources(settings).datalake()
        published = snapshot.merged_expectations(None, {"m": list(found.values())}, ["m"])
        snapshot.write_json(lake, snapshot.EXPECTATIONS_KEY, published)
        ids = {
            name: server.plant_flow(name, "main", schedule={"clocks": []}, is_schedule_active=True)
            for name in found
        }
        yield server, settings, hook, ids
    hook.close()


def load_table(settings) -> dt.datetime:
    folder = settings.data_dir / "datalake" / "health_test" / "readings"
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"mm": [1.0]}).to_parquet(folder / "part.parquet")
    warehouse = resources(settings).warehouse()
    warehouse.load_from_datalake(resources(settings).datalake(), "health_test", "readings")
    return warehouse.load_times(["health_test.readings"])["health_test.readings"]


def ran(server, flow_id: str, state: str, at: dt.datetime) -> str:
    return server.plant_flow_run(
        flow_id,
        state,
        start_time=at,
        end_time=at + dt.timedelta(minutes=1),
        scheduled_start_time=at,
    )


def plant_problems(server, ids, now: dt.datetime) -> str:
    for name in ("emd: late", "emd: off", "emd: stale", "emd: healthy"):
        ran(server, ids[name], "Success", now - dt.timedelta(minutes=20))
    server.flows[ids["emd: off"]]["is_schedule_active"] = False
    for minutes in (30, 90, 150):
        ran(server, ids["emd: failing"], "Failed", now - dt.timedelta(minutes=minutes))
    ran(server, ids["emd: failing"], "Success", now - dt.timedelta(minutes=210))  # before it
    return server.plant_flow_run(
        ids["emd: late"], "Scheduled", scheduled_start_time=now - dt.timedelta(minutes=40)
    )


def one_pass(server, settings, now, dry_run=False):
    return watch_once(Server(Client(api_server=server.url)), settings, now, dry_run)


def test_each_problem_is_found_alerted_once_and_its_recovery_told(world):
    server, settings, hook, ids = world
    loaded = load_table(settings)
    now = loaded + dt.timedelta(hours=5)  # the table is 5 hours old; it may be 2
    late = plant_problems(server, ids, now)

    dry = one_pass(server, settings, now, dry_run=True)
    assert hook.posts == [] and dry["paused"] == ["emd: failing"]
    ((where, text),) = dry["would_send"]
    assert where == "http://127.0.0.1"  # scheme and host only: a webhook path is a token
    lines = text.splitlines()
    assert len(lines) == 4 and all(line.startswith("Problem: ") for line in lines)
    assert all(line.endswith("Owners: <@4242> (ana)") for line in lines)
    by_flow = {line.split("'")[1]: line for line in lines}
    assert sorted(by_flow) == ["emd: failing", "emd: late", "emd: off", "emd: stale"]
    assert (
        "1 scheduled run(s) have not started, the oldest due 40 minutes ago" in by_flow["emd: late"]
    )
    assert "its schedule is off on the server" in by_flow["emd: off"]
    assert "its last 3 runs failed" in by_flow["emd: failing"]
    assert (
        "table health_test.readings was last loaded 5 hours ago; it should be at most 2 hours old"
        in by_flow["emd: stale"]
    )
    assert server.flows[ids["emd: failing"]]["is_schedule_active"] is True  # dry: untouched

    first = one_pass(server, settings, now)
    assert len(hook.posts) == 1 and hook.posts[0]["content"] == text
    assert first["paused"] == ["emd: failing"]
    assert server.flows[ids["emd: failing"]]["is_schedule_active"] is False

    again = one_pass(server, settings, now + dt.timedelta(minutes=1))
    assert again["sent"] == [] and len(hook.posts) == 1  # once per problem

    # Each is fixed: the late run starts, the schedules go back on, a run succeeds, a load.
    server.flow_runs[late].update(state="Running", start_time=now)
    for name in ("emd: off", "emd: failing"):
        server.flows[ids[name]]["is_schedule_active"] = True
    ran(server, ids["emd: failing"], "Success", now)
    later = load_table(settings) + dt.timedelta(minutes=5)
    recovered = one_pass(server, settings, later)
    assert recovered["problems"] == []
    recovery = hook.posts[1]["content"].splitlines()
    assert len(hook.posts) == 2 and len(recovery) == 4
    assert all(line.startswith("Recovered: Flow 'emd: ") for line in recovery)
    assert one_pass(server, settings, later)["sent"] == []


def test_a_flow_scheduled_in_the_code_but_missing_or_silent_on_the_server(world):
    server, settings, hook, ids = world
    now = dt.datetime.now(dt.UTC)
    server.flows[ids["emd: healthy"]]["archived"] = True  # as if never registered
    ran(server, ids["emd: late"], "Success", now - dt.timedelta(hours=3))
    found = one_pass(server, settings, now, dry_run=True)["problems"]
    assert "Flow 'emd: healthy': is scheduled in the code but not on the server." in found
    assert "Flow 'emd: late': its last run was 3 hours ago; it runs at least every 1 hour." in found


def test_an_undelivered_message_is_sent_again_on_the_next_pass(world):
    server, settings, hook, ids = world
    now = dt.datetime.now(dt.UTC)
    server.flows[ids["emd: off"]]["is_schedule_active"] = False
    for name in ("emd: late", "emd: failing", "emd: stale", "emd: healthy", "emd: off"):
        ran(server, ids[name], "Success", now - dt.timedelta(minutes=5))

    def refuse(url, body):
        raise ConnectionError("the chat is down")

    failed = watch_once(Server(Client(api_server=server.url)), settings, now, False, post=refuse)
    assert failed["sent"] == [] and len(failed["not_sent"]) == 1
    delivered = one_pass(server, settings, now)
    assert len(delivered["sent"]) == 1 and "its schedule is off" in hook.posts[0]["content"]


def test_without_published_expectations_the_watchdog_says_where_they_come_from(tmp_path):
    settings = load_settings({"PIPELINES_ENV": "local", "PIPELINES_DATA_DIR": str(tmp_path)})
    with PrefectTestServer() as server, pytest.raises(Exception) as raised:
        one_pass(server, settings, dt.datetime.now(dt.UTC))
    assert type(raised.value).__name__ == "HealthError"
    assert "manage.py register` publishes them" in str(raised.value)


def test_a_run_no_agent_picked_up_is_late_whichever_not_started_state_it_is_in(world):
    """Pending counts as not started for the watchdog as it does everywhere (one list of
    states, in pipelines/utils/server/states.py, that the query takes as a variable)."""
    server, settings, _, ids = world
    now = load_table(settings) + dt.timedelta(minutes=30)
    for state, minutes in (("Pending", 40), ("Queued", 50), ("Submitted", 60)):
        server.plant_flow_run(
            ids["emd: late"], state, scheduled_start_time=now - dt.timedelta(minutes=minutes)
        )
    dry = one_pass(server, settings, now, dry_run=True)
    (text,) = [text for _, text in dry["would_send"]]
    assert "3 scheduled run(s) have not started, the oldest due 1 hour ago" in text
