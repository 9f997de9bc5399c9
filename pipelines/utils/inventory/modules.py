"""Which flows modules the tree has, and importing them one project at a time."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from pipelines.utils.inventory.tree import Repo, project_module

if TYPE_CHECKING:
    from prefect import Flow


@dataclass(frozen=True)
class FlowModule:
    """A module where flows are defined: a project's flows.py, or an org's own flows.py."""

    module: str
    org: str
    project: str | None

    @property
    def path(self) -> str:
        """Its file, relative to the repo root."""
        return self.module.replace(".", "/") + ".py"


def flow_modules(repo: Repo) -> list[FlowModule]:
    """Every flows module of the tree, read from files (nothing is imported): each org's own
    flows.py where there is one, then each project's (every project must have one, so a
    missing one is still listed and reported when imported).

    pipelines/flows.py and the org __init__ files aggregate these modules for the people who
    import `pipelines.flows`; nothing here reads them, so one broken project never hides its
    siblings.
    """
    modules = []
    for org, projects in repo.tree().items():
        if (repo.package / org / "flows.py").is_file():
            modules.append(FlowModule(f"pipelines.{org}.flows", org, None))
        modules += [FlowModule(f"{project_module(org, p)}.flows", org, p) for p in projects]
    return modules


def flows_in(module: ModuleType) -> dict[str, Flow]:
    """The Flow objects a module defines or imports, by attribute name."""
    from prefect import Flow

    return {name: value for name, value in vars(module).items() if isinstance(value, Flow)}


def own_flows(module: ModuleType) -> list[Flow]:
    """The flows a module defines itself: a flow imported from another module belongs to,
    and is checked and registered from, the module that defines it (PipelineFlow records it;
    a plain Flow counts for every module holding it)."""
    return [
        flow
        for flow in flows_in(module).values()
        if getattr(flow, "defined_in", None) in (None, module.__name__)
    ]


def stub_org(org: str) -> None:
    """Put pipelines.<org> in sys.modules as an empty package, its __init__ not run."""
    name = f"pipelines.{org}"
    if name not in sys.modules:
        spec = importlib.util.find_spec(name)
        if spec is not None:
            sys.modules[name] = importlib.util.module_from_spec(spec)  # created, not executed


def import_project_module(name: str):
    """Import pipelines.<org>.<module> or pipelines.<org>.<project>.<module> without running
    the org's __init__.

    The org __init__ only aggregates its projects; running it would make one broken project
    stop every other project of the org from importing. Flows never rely on it.
    """
    from pipelines.constants import SHARED_PACKAGES

    parts = name.split(".")
    if len(parts) >= 3 and parts[0] == "pipelines" and parts[1] not in SHARED_PACKAGES:
        stub_org(parts[1])
    return importlib.import_module(name)


def flow_named(name: str, repo: Repo | None = None) -> Flow:
    """The flow of the repo whose name is `name` (importing flows modules until found), for
    local child runs; on the server a child is found by its registration.

    Raises:
        LookupError: No flow of the repo has that name.
    """
    from pipelines.settings import REPO_ROOT

    for module in flow_modules(repo or Repo(REPO_ROOT)):
        try:
            loaded = import_project_module(module.module)
        except Exception:  # a broken sibling project must not hide the flow looked for
            continue
        for flow in own_flows(loaded):
            if flow.name == name:
                return flow
    raise LookupError(f"No flow named {name!r} in this repo (pipelines/<org>/**/flows.py).")
