"""The housekeeping flow against the Prefect test server: dry runs list exactly what is due."""

import datetime as dt
import importlib

import pytest

from tests.support.prefect_server import PrefectTestServer


@pytest.fixture(scope="module")
def project():
    # Imported here, not at the top: if this project fails to import, its own tests fail
    # and every other project's tests still run.
    return importlib.import_module("pipelines.admin.housekeeping.flows")


def test_flow_builds_serializes_and_is_scheduled(project):
    project.flow.validate()
    assert project.flow.serialize()["name"] == "admin: housekeeping"
    clock = project.flow.schedule.clocks[0]
    assert clock.parameter_defaults == {"dry_run": False}  # the schedule acts


def ago(**delta: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(**delta)


def plant(server: PrefectTestServer) -> dict[str, str]:
    server.add_project("main")
    dump = server.plant_flow("emd: dump_db", "main", version=1)
    group = server.flows[dump]["flow_group_id"]
    newer = server.plant_flow("emd: dump_db", "main", version=2, flow_group_id=group)
    gone = server.plant_flow("emd: removed", "main")
    planted = {
        "stuck": server.plant_flow_run(newer, "Running"),
        "slow_ok": server.plant_flow_run(newer, "Running"),
        "fresh": server.plant_flow_run(newer, "Running"),
        "old": server.plant_flow_run(newer, "Success", end_time=ago(days=200)),
        "recent": server.plant_flow_run(newer, "Success", end_time=ago(days=2)),
        "stale_version": dump, "removed": gone, "latest": newer,
    }  # fmt: skip
    for key, hours in (("stuck", 10), ("slow_ok", 3), ("fresh", 0.1)):
        server.flow_runs[planted[key]]["state_timestamp"] = ago(hours=hours)
    return planted


def run(project, server: PrefectTestServer, **parameters):
    run_id = server.plant_flow_run(server.plant_flow("admin: housekeeping", "main"), "Running")
    state = server.run_as_agent(project.flow, run_id, parameters)
    assert state.is_successful(), state.message
    return {t.name: s.result for t, s in state.result.items()}


def test_a_dry_run_lists_exactly_the_stuck_runs_stale_versions_and_old_runs(project):
    with PrefectTestServer() as server:
        planted = plant(server)
        found = run(
            project, server, stuck_limit_minutes=120.0,
            per_flow_minutes={"emd: other": 1.0},
            current_flows=["emd: dump_db", "admin: housekeeping"],
        )  # fmt: skip
        untouched = {k: server.flow_runs[planted[k]]["state"] for k in ("stuck", "slow_ok")}
        archived = server.flows[planted["stale_version"]]["archived"]
    assert [line.split(" run ")[1].split(" ")[0] for line in found["cancel_stuck_runs"]] == [
        planted["stuck"],
        planted["slow_ok"],
    ]
    stale = found["archive_stale_versions"]
    assert len(stale) == 2
    assert any(planted["stale_version"] in s and "not the latest" in s for s in stale)
    assert any(planted["removed"] in s and "code was removed" in s for s in stale)
    assert [planted["old"] in line for line in found["delete_old_runs"]] == [True]
    assert untouched == {"stuck": "Running", "slow_ok": "Running"} and archived is False


def test_acting_cancels_archives_and_deletes(project):
    with PrefectTestServer() as server:
        planted = plant(server)
        run(project, server, dry_run=False, per_flow_minutes={"emd: dump_db": 240.0})
        states = {k: server.flow_runs.get(planted[k], {}).get("state") for k in planted}
        archived = server.flows[planted["stale_version"]]["archived"]
        latest = server.flows[planted["latest"]]["archived"]
    assert states["stuck"] == "Cancelled" and states["slow_ok"] == "Running"
    assert states["old"] is None and states["recent"] == "Success"
    assert archived is True and latest is False
