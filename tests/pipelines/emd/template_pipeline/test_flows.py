"""Tests of the template_pipeline project's flows."""

import pipelines.emd.template_pipeline.flows as project
from pipelines.utils.execution import run_local


def test_flow_builds_serializes_and_is_scheduled():
    project.flow.validate()
    assert project.flow.serialize()["name"] == "emd: template_pipeline"
    assert project.flow.schedule.next(1)


def test_flow_runs_locally():
    state = run_local(project.flow, parameters={"name": "pipelines"})
    assert state.is_successful(), state.message
    assert state.result[project.greeting].result == "Hello, pipelines!"
