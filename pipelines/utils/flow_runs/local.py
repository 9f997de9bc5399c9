"""Find a repo flow by name, for local child runs (the server finds it by its registration)."""

from __future__ import annotations

from typing import Any

from pipelines.settings import REPO_ROOT


def flow_named(name: str) -> Any:
    """The flow of the repo whose name is `name` (importing flows modules until found).

    Raises:
        LookupError: No flow of the repo has that name.
    """
    from pipelines.manage.discover import Repo
    from pipelines.manage.inventory import flow_modules, import_project_module, own_flows

    for module in flow_modules(Repo(REPO_ROOT)):
        try:
            loaded = import_project_module(module.module)
        except Exception:  # a broken sibling project must not hide the flow looked for
            continue
        for flow in own_flows(loaded):
            if flow.name == name:
                return flow
    raise LookupError(f"No flow named {name!r} in this repo (pipelines/<org>/**/flows.py).")
