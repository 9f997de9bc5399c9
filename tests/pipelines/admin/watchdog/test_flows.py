"""The watchdog flow: built as its schedule acts, a dry run by hand, run as the agent runs it.

What each pass finds, alerts and recovers is tested in tests/pipelines/utils/health.
"""

import datetime as dt
import importlib

import pytest

from pipelines.utils.health import expectation_of, snapshot
from pipelines.utils.resources import resources
from tests.support.prefect_server import PrefectTestServer


@pytest.fixture(scope="module")
def project():
    # Imported here, not at the top: if this project fails to import, its own tests fail
    # and every other project's tests still run.
    return importlib.import_module("pipelines.admin.watchdog.flows")


def test_flow_builds_serializes_and_its_schedule_acts(project):
    project.flow.validate()
    assert project.flow.serialize()["name"] == "admin: watchdog"
    clock = project.flow.schedule.clocks[0]
    assert clock.parameter_defaults == {"dry_run": False}
    assert clock.interval == dt.timedelta(minutes=10)


def test_started_by_hand_it_is_a_dry_run_that_lists_what_it_would_send(project, local_env):
    from pipelines.settings import load_settings

    template = importlib.import_module("pipelines.emd.template_pipeline.flows").flow
    lake = resources(load_settings()).datalake()
    published = snapshot.merged_expectations(None, {"m": [expectation_of(template)]}, ["m"])
    snapshot.write_json(lake, snapshot.EXPECTATIONS_KEY, published)
    with PrefectTestServer() as server:
        server.add_project("main")
        run_id = server.plant_flow_run(server.plant_flow("admin: watchdog", "main"), "Running")
        state = server.run_as_agent(project.flow, run_id)
    assert state.is_successful(), state.message
    found = state.result[project.found].result
    assert found["problems"] == [
        "Flow 'emd: template_pipeline': is scheduled in the code but not on the server."
    ]
    assert (
        found["would_send"] == [("no webhook", found["would_send"][0][1])] and found["sent"] == []
    )
    assert snapshot.read_json(lake, snapshot.ALERTED_KEY) is None  # a dry run writes nothing
