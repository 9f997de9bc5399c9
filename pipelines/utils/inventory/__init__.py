"""The repo's orgs, projects and flows modules, read without the CLI: what run time needs
(a local child run finds its flow by name) and what manage.py builds on."""

from pipelines.utils.inventory.modules import (
    FlowModule,
    flow_modules,
    flow_named,
    flows_in,
    import_project_module,
    own_flows,
    stub_org,
)
from pipelines.utils.inventory.tree import Repo, project_module

__all__ = [
    "FlowModule",
    "Repo",
    "flow_modules",
    "flow_named",
    "flows_in",
    "import_project_module",
    "own_flows",
    "project_module",
    "stub_org",
]
