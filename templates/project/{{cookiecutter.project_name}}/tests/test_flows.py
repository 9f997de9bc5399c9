"""Tests of the {{cookiecutter.project_name}} project's flows."""

import importlib

import pytest

from pipelines.utils.execution import run_local


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    # Runs write under a temporary folder, never the checkout's data/: a test run must not
    # show in `manage.py status` or on the health page as a real run.
    monkeypatch.setenv("PIPELINES_ENV", "local")
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def project():
    # Imported here, not at the top: if this project fails to import, its own tests fail
    # and every other project's tests still run.
    return importlib.import_module("{{cookiecutter.project_module}}.flows")


def test_flow_builds_serializes_and_is_scheduled(project):
    project.flow.validate()
    assert project.flow.serialize()["name"] == "{{cookiecutter.flow_name}}"
    assert project.flow.schedule.next(1)


def test_flow_runs_locally(project):
    state = run_local(project.flow, parameters={"name": "pipelines"})
    assert state.is_successful(), state.message
    assert state.result[project.greeting].result == "Hello, pipelines!"
