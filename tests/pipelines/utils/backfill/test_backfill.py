"""backfill: periods, sequential local runs, and child runs on the server with a limit."""

from __future__ import annotations

import datetime as dt

import pytest
from prefect import Client, Flow, Parameter, task

from pipelines.utils.backfill import backfill_local, backfill_server, periods
from tests.support.prefect_server import PrefectTestServer

SEEN: list[tuple[str, str]] = []


@task
def record(start: str, end: str) -> None:
    SEEN.append((start, end))


def test_periods_cover_the_range_inclusively():
    assert periods("2024-01-30", "2024-02-01") == [
        (dt.date(2024, 1, 30), dt.date(2024, 1, 30)),
        (dt.date(2024, 1, 31), dt.date(2024, 1, 31)),
        (dt.date(2024, 2, 1), dt.date(2024, 2, 1)),
    ]
    assert periods("2024-01-15", "2024-03-10", "month") == [
        (dt.date(2024, 1, 15), dt.date(2024, 1, 31)),
        (dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        (dt.date(2024, 3, 1), dt.date(2024, 3, 10)),
    ]
    assert periods("2024-01-01", "2024-01-10", "week")[-1] == (
        dt.date(2024, 1, 8),
        dt.date(2024, 1, 10),
    )
    with pytest.raises(ValueError, match="end 2024-01-01 is before start 2024-02-01"):
        periods("2024-02-01", "2024-01-01")
    with pytest.raises(ValueError, match="every='hour' must be one of day, week, month"):
        periods("2024-01-01", "2024-01-02", "hour")


def test_backfill_local_runs_each_period_in_order():
    SEEN.clear()
    with Flow("backfilled") as flow:
        record(Parameter("start"), Parameter("end"))
    results = backfill_local(flow, "2024-01-01", "2024-01-03")
    assert results == [
        ("2024-01-01", "Success"),
        ("2024-01-02", "Success"),
        ("2024-01-03", "Success"),
    ]
    assert SEEN == [
        ("2024-01-01", "2024-01-01"),
        ("2024-01-02", "2024-01-02"),
        ("2024-01-03", "2024-01-03"),
    ]


def _backfill(server: PrefectTestServer, flow_id: str, end: str = "2024-01-05"):
    return backfill_server(
        flow_id, "2024-01-01", end, parameters={"table": "t"},
        max_concurrent=2, poll_s=0.01, client=Client(api_server=server.url),
    )  # fmt: skip


def test_backfill_server_creates_child_runs_and_waits_within_the_limit():
    with PrefectTestServer() as server:
        server.add_project("main")
        flow_id = server.plant_flow("emd: dump", "main")
        results = _backfill(server, flow_id)
        runs = list(server.flow_runs.values())
    assert [r[0] for r in results] == [f"2024-01-0{d}" for d in range(1, 6)]
    assert all(state == "Success" for _, _, state in results)
    assert sorted(r["parameters"]["start"] for r in runs) == [f"2024-01-0{d}" for d in range(1, 6)]
    assert all(r["parameters"]["table"] == "t" and r["flow_id"] == flow_id for r in runs)
    assert server.max_in_flight <= 2


def test_a_second_backfill_of_the_same_periods_creates_new_runs():
    with PrefectTestServer() as server:
        server.add_project("main")
        flow_id = server.plant_flow("emd: dump", "main")
        first = _backfill(server, flow_id, end="2024-01-03")
        second = _backfill(server, flow_id, end="2024-01-03")
        assert len(server.flow_runs) == 6
    assert [r[2] for r in first + second] == ["Success"] * 6
    assert not {r[1] for r in first} & {r[1] for r in second}


def test_periods_of_an_archived_version_are_reported_not_raised():
    with PrefectTestServer() as server:
        server.add_project("main")
        flow_id = server.plant_flow("emd: dump", "main", archived=True)
        results = _backfill(server, flow_id, end="2024-01-03")
    assert results == [
        (day, "", f"NotCreated: Flow {flow_id} is archived.")
        for day in ("2024-01-01", "2024-01-02", "2024-01-03")
    ]


def _backfill_flow_on_server(server: PrefectTestServer, **parameters):

    from pipelines.utils.backfill import create_backfill_flow

    flow = create_backfill_flow("emd: backfill", org="emd")
    parent = server.plant_flow_run(
        server.plant_flow("emd: backfill", "main"), "Running", labels=["emd"]
    )
    state = server.run_as_agent(flow, parent, parameters)
    (result,) = [s for t, s in state.result.items() if t.name == "backfill_children"]
    return state, result, parent


def test_the_backfill_flow_starts_one_child_per_period_from_the_ui():
    with PrefectTestServer() as server:
        server.add_project("main")
        child = server.plant_flow("emd: dump", "main")
        state, result, parent = _backfill_flow_on_server(
            server, flow_name="emd: dump", start="2024-01-01", end="2024-01-04",
            max_concurrent=2, parameters={"table": "t"}, poll_s=0.01,
        )  # fmt: skip
        runs = [r for i, r in server.flow_runs.items() if i != parent]
    assert state.is_successful(), result.message
    assert [o[0] for o in result.result] == [f"2024-01-0{d}" for d in range(1, 5)]
    assert all(o[2] == "Success" for o in result.result)
    assert all(r["flow_id"] == child and r["labels"] == ["emd"] for r in runs)
    assert sorted(r["parameters"]["start"] for r in runs) == [f"2024-01-0{d}" for d in range(1, 5)]
    assert server.max_in_flight <= 2


def test_a_backfill_with_failing_periods_fails_listing_each_with_its_link():
    with PrefectTestServer(final_state="Failed") as server:
        server.add_project("main")
        server.plant_flow("emd: dump", "main")
        state, result, _ = _backfill_flow_on_server(
            server, flow_name="emd: dump", start="2024-01-01", end="2024-01-02", poll_s=0.01
        )
    assert state.is_failed()
    assert result.message.startswith("2 of 2 period(s) failed:")
    assert (
        "2024-01-01: Failed: Child run failed: " in result.message
        and "/flow-run/" in result.message
    )
