"""Which flows exist and where: the one answer for run, check, register and list-projects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipelines.errors import CommandError
from pipelines.utils.inventory import Repo, flow_modules, flows_in, import_project_module, own_flows

if TYPE_CHECKING:
    from prefect import Flow


def load_flow(dotted: str) -> Flow:
    """Import `package.module.attribute` and return it if it is a Flow.

    Raises:
        CommandError: The module does not import, the attribute is missing, or it is no Flow.
    """
    from prefect import Flow

    module_name, _, attribute = dotted.rpartition(".")
    if not module_name or not all(part.isidentifier() for part in dotted.split(".")):
        raise CommandError(
            f"{dotted!r} is not a dotted path to a flow: names separated by single dots, no "
            "leading dot or slash, e.g. pipelines.emd.test_flow.flows.flow"
        )
    try:
        module = import_project_module(module_name)
    except ModuleNotFoundError as error:
        raise CommandError(f"Cannot import {module_name!r}: {error}.") from error
    except Exception as error:  # the project's own code raised while importing
        raise CommandError(
            f"Importing {module_name!r} failed{_where(error)}: {type(error).__name__}: {error}"
        ) from error
    candidates = sorted(flows_in(module))
    value = getattr(module, attribute, None)
    if not isinstance(value, Flow) and _is_module(dotted):  # a module given, not its flow
        inside = sorted(flows_in(import_project_module(dotted)))
        paths = " or ".join(f"{dotted}.{name}" for name in inside)
        hint = f"give {paths}" if inside else "it defines no flow"
        raise CommandError(f"{dotted!r} is a module, not a flow: {hint}.")
    if not isinstance(value, Flow):
        found = ", ".join(f"{module_name}.{name}" for name in candidates) or "none"
        what = "is not defined" if value is None else f"is a {type(value).__name__}, not a Flow"
        raise CommandError(f"{dotted!r} {what}. Flows in {module_name}: {found}.")
    return value


def _is_module(dotted: str) -> bool:
    """Whether a dotted name is a module that imports (its own errors are not this caller's)."""
    import importlib.util

    try:
        return importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError):
        return False


def _where(error: BaseException) -> str:
    """' at <file>:<line>' of the innermost frame of the repo's code in a traceback."""
    import traceback

    from pipelines.settings import REPO_ROOT

    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if f.filename.startswith(str(REPO_ROOT))
    ]
    if isinstance(error, SyntaxError) and error.filename:
        return f" at {error.filename}:{error.lineno}"
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


@dataclass
class RepoFlows:
    """Flows found by importing flows modules, and the modules that failed."""

    flows: list[tuple[str, Flow]] = field(default_factory=list)  # (module, flow)
    problems: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # module -> "Error: message"


def load_modules(module_names: list[str]) -> RepoFlows:
    """Import each module without its org's __init__ and collect the flows it defines.

    An import error is recorded for that module and the others are still imported.
    """
    found = RepoFlows()
    seen: set[int] = set()
    for module_name in module_names:
        try:
            module = import_project_module(module_name)
        except Exception as error:  # reported per module; the others are still loaded
            found.failed[module_name] = f"{type(error).__name__}: {error}"
            found.problems.append(
                f"{module_name}: import failed: {type(error).__name__}: {error}{_where(error)}"
            )
            continue
        for value in own_flows(module):
            if id(value) not in seen:
                seen.add(id(value))
                found.flows.append((module_name, value))
    return found


def load_repo_flows(repo: Repo) -> RepoFlows:
    """Import pipelines.flows (the aggregation, as its users import it), then each flows
    module on its own, so one broken project is reported without hiding its siblings."""
    return load_modules(["pipelines.flows", *(m.module for m in flow_modules(repo))])
