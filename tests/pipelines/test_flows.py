"""The repo's definitions load: every org's list of projects runs, every flow builds."""

from __future__ import annotations

import importlib
import importlib.util

import pytest

from pipelines.manage.discover import unaggregated
from pipelines.utils.inventory import Repo, flow_modules, flows_in, import_project_module, own_flows
from tests.conftest import REPO_ROOT

REPO = Repo(REPO_ROOT)
PROJECTS = [m.module for m in flow_modules(REPO) if m.project]


def test_every_org_and_project_is_aggregated():
    assert unaggregated(REPO) == []


@pytest.mark.parametrize("org", REPO.orgs())
def test_each_orgs_list_of_projects_imports(org):
    # Run the org's __init__ as pipelines/flows.py does, in a module of its own: the
    # projects' tests import their flows without it (tests/conftest.py).
    spec = importlib.util.find_spec(f"pipelines.{org}")
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


@pytest.mark.parametrize("module_name", PROJECTS)
def test_each_project_imports_and_its_flows_build(module_name):
    flows = list(flows_in(import_project_module(module_name)).values())
    assert flows, f"{module_name} defines no Flow"
    for flow in flows:
        flow.validate()
        flow.serialize()


def test_flow_names_are_unique():
    names = [
        flow.name
        for module_name in PROJECTS
        for flow in own_flows(importlib.import_module(module_name))
    ]
    assert len(names) == len(set(names)), f"duplicate flow names: {names}"
