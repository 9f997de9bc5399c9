"""Read the repo tree (no imports of flows or Prefect): orgs, projects and aggregation lines."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.manage.errors import CliError
from pipelines.utils.inventory import Repo


def read_source(path: Path) -> str:
    """A source file of the tree as text.

    Raises:
        CliError: It is not UTF-8: the file, line and byte, and how to fix it (Python reads
            source as UTF-8, and so does every command).
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CliError(
            f"{path}:{line}: not UTF-8 (byte 0x{data[error.start]:02x}); save the file as UTF-8."
        ) from None


def project_import_line(org: str, project: str) -> str:
    """The line an org's __init__ uses to import a project's flows."""
    return f"import pipelines.{org}.{project}.flows  # noqa: F401"


def org_import_line(org: str) -> str:
    """The line pipelines/flows.py uses to import an org."""
    return f"import pipelines.{org}  # noqa: F401"


_IMPORT = re.compile(r"^\s*(?:import|from)\s+(pipelines(?:\.\w+)+)", re.MULTILINE)


def imported_modules(source: str) -> set[str]:
    """Dotted pipelines.* modules a file's top-level import lines name."""
    return set(_IMPORT.findall(source))


def unaggregated(repo: Repo) -> list[str]:
    """Problems where an org or project is not imported by the file that aggregates it."""
    problems = []
    flows_source = read_source(repo.flows_module) if repo.flows_module.exists() else ""
    flows_imports = imported_modules(flows_source)
    for org, projects in repo.tree().items():
        if f"pipelines.{org}" not in flows_imports:
            problems.append(
                f"pipelines/flows.py does not import the org '{org}': add `{org_import_line(org)}`"
            )
        init = read_source(repo.org_init(org))
        org_imports = imported_modules(init)
        for project in projects:
            if f"pipelines.{org}.{project}.flows" not in org_imports:
                problems.append(
                    f"pipelines/{org}/__init__.py does not import the project '{project}': "
                    f"add `{project_import_line(org, project)}`"
                )
    return problems
