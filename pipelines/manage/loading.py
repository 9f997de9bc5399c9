"""Import flows by dotted path, and every flow of the repo, for `run` and `check`."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipelines.manage.discover import Repo
from pipelines.manage.errors import CliError

if TYPE_CHECKING:
    from prefect import Flow


def load_flow(dotted: str) -> Flow:
    """Import `package.module.attribute` and return it if it is a Flow.

    Raises:
        CliError: The module does not import, the attribute is missing, or it is no Flow.
    """
    from prefect import Flow

    module_name, _, attribute = dotted.rpartition(".")
    if not module_name:
        raise CliError(
            f"{dotted!r} is not a dotted path to a flow, e.g. pipelines.emd.test_flow.flows.flow"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise CliError(f"Cannot import {module_name!r}: {error}.") from error
    candidates = sorted(name for name, value in vars(module).items() if isinstance(value, Flow))
    value = getattr(module, attribute, None)
    if not isinstance(value, Flow):
        found = ", ".join(f"{module_name}.{name}" for name in candidates) or "none"
        what = "is not defined" if value is None else f"is a {type(value).__name__}, not a Flow"
        raise CliError(f"{dotted!r} {what}. Flows in {module_name}: {found}.")
    return value


@dataclass
class RepoFlows:
    """Every flow found by importing each project's flows module."""

    flows: list[tuple[str, Flow]] = field(default_factory=list)  # (module, flow)
    problems: list[str] = field(default_factory=list)


def load_repo_flows(repo: Repo) -> RepoFlows:
    """Import pipelines.flows and each project's flows module, collecting import errors."""
    from prefect import Flow

    found = RepoFlows()
    seen: set[int] = set()
    modules = ["pipelines.flows"]
    for org, projects in repo.tree().items():
        modules += [f"pipelines.{org}.{project}.flows" for project in projects]
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # reported per module; the others are still checked
            found.problems.append(f"{module_name}: import failed: {type(error).__name__}: {error}")
            continue
        for value in vars(module).values():
            if isinstance(value, Flow) and id(value) not in seen:
                seen.add(id(value))
                found.flows.append((module_name, value))
    return found
