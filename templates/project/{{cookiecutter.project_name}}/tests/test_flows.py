"""Tests of the {{cookiecutter.project_name}} project's flows."""

import pipelines.{{cookiecutter.org}}.{{cookiecutter.project_name}}.flows as project
from pipelines.utils.execution import run_local


def test_flow_builds_serializes_and_is_scheduled():
    project.flow.validate()
    assert project.flow.serialize()["name"] == "{{cookiecutter.flow_name}}"
    assert project.flow.schedule.next(1)


def test_flow_runs_locally():
    state = run_local(project.flow, parameters={"name": "pipelines"})
    assert state.is_successful(), state.message
    assert state.result[project.greeting].result == "Hello, pipelines!"
