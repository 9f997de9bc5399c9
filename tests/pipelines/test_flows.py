"""The repo's definitions load: every org, project and flow imports and builds."""

from __future__ import annotations

import importlib

from pipelines.manage.discover import Repo, unaggregated
from pipelines.manage.loading import flows_in
from tests.conftest import REPO_ROOT


def test_every_org_and_project_is_aggregated():
    assert unaggregated(Repo(REPO_ROOT)) == []


def test_pipelines_flows_imports_every_project_and_each_flow_builds():
    importlib.import_module("pipelines.flows")
    repo = Repo(REPO_ROOT)
    names = []
    for org, projects in repo.tree().items():
        for project in projects:
            module = importlib.import_module(f"pipelines.{org}.{project}.flows")
            flows = list(flows_in(module).values())
            assert flows, f"pipelines.{org}.{project}.flows defines no Flow"
            for flow in flows:
                flow.validate()
                flow.serialize()
                names.append(flow.name)
    assert len(names) == len(set(names)), f"duplicate flow names: {names}"
