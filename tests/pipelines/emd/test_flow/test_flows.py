"""Tests of the test_flow project's flows."""

import pytest

import pipelines.emd.test_flow.flows as project
from pipelines.utils.execution import run_local


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    # Never the checkout's data/: a test run is no real run for `manage.py status`.
    monkeypatch.setenv("PIPELINES_ENV", "local")
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    return tmp_path


def test_flow_builds_serializes_and_is_scheduled():
    project.flow.validate()
    assert project.flow.serialize()["name"] == "emd: test_flow"
    assert project.flow.schedule.next(1)


def test_flow_runs_locally_with_the_readme_parameters():
    state = run_local(project.flow, parameters={"param": "val"})
    assert state.is_successful(), state.message
    assert state.result[project.echoed].result == "val"
