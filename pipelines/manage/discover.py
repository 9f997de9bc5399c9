"""Read the repo tree (no imports of flows or Prefect): orgs, projects and aggregation lines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.constants import SHARED_PACKAGES
from pipelines.manage.errors import CliError


@dataclass(frozen=True)
class Repo:
    """A checkout of this repository, rooted where manage.py lives."""

    root: Path

    @property
    def package(self) -> Path:
        return self.root / "pipelines"

    @property
    def flows_module(self) -> Path:
        return self.package / "flows.py"

    def org_init(self, org: str) -> Path:
        return self.package / org / "__init__.py"

    def project_dir(self, org: str, project: str) -> Path:
        return self.package / org / project

    def project_tests(self, org: str, project: str) -> Path:
        return self.root / "tests" / "pipelines" / org / project

    def orgs(self) -> list[str]:
        """Org packages under pipelines/, sorted, excluding the shared packages."""
        return sorted(
            entry.name for entry in _packages(self.package) if entry.name not in SHARED_PACKAGES
        )

    def projects(self, org: str) -> list[str]:
        """Project packages of an org, sorted."""
        return sorted(entry.name for entry in _packages(self.package / org))

    def tree(self) -> dict[str, list[str]]:
        """Every org with its projects."""
        return {org: self.projects(org) for org in self.orgs()}

    def taken_names(self) -> dict[str, str]:
        """Every org and project name, and every module or folder already under pipelines/
        or an org (a new package of that name would shadow it: `pipelines/errors/` hides
        `pipelines/errors.py` from every command), mapped to its path for messages."""
        taken: dict[str, str] = {}
        for org, projects in self.tree().items():
            taken[org] = f"the org pipelines/{org}"
            for project in projects:
                taken.setdefault(project, f"the project pipelines/{org}/{project}")
        for folder in [self.package, *(self.package / org for org in self.orgs())]:
            for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
                name = entry.stem if entry.suffix == ".py" else entry.name
                if entry.name.startswith(("_", ".")) or (entry.is_file() and entry.suffix != ".py"):
                    continue
                where = entry.relative_to(self.root).as_posix()
                kind = "module" if entry.is_file() else "folder"
                taken.setdefault(name, f"the {kind} {where}")
        return taken


def _packages(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [
        entry
        for entry in folder.iterdir()
        if entry.is_dir()
        and not entry.name.startswith(("_", "."))
        and (entry / "__init__.py").is_file()
    ]


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
