"""Tests of the {{cookiecutter.project_name}} project's flows."""

import importlib

import pytest

from pipelines.utils.execution import run_local


@pytest.fixture(scope="module")
def project():
    # Imported here, not at the top: if this project fails to import, its own tests fail
    # and every other project's tests still run.
    return importlib.import_module("pipelines.{{cookiecutter.org}}.{{cookiecutter.project_name}}.flows")


def test_flow_builds_serializes_and_is_scheduled(project):
    project.flow.validate()
    assert project.flow.serialize()["name"] == "{{cookiecutter.flow_name}}"
    assert project.flow.schedule.next(1)


def test_flow_runs_locally(project):
    state = run_local(project.flow, parameters={"name": "pipelines"})
    assert state.is_successful(), state.message
    assert state.result[project.greeting].result == "Hello, pipelines!"
