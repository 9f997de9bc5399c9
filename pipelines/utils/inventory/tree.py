"""The repo's tree read from files (nothing imported): orgs, projects, names in use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.constants import SHARED_PACKAGES
from pipelines.errors import OrgSettingError


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
        """Project packages of an org, sorted: `name`, or `group/name` for a project in a
        group folder (a package without flows.py whose packages have one; one level only)."""
        found = []
        for entry in _packages(self.package / org):
            grouped = [c.name for c in _packages(entry) if (c / "flows.py").is_file()]
            if grouped and not (entry / "flows.py").is_file():
                found += [f"{entry.name}/{child}" for child in grouped]
            else:  # a project (a broken one too, without flows.py: import reports it)
                found.append(entry.name)
        return sorted(found)

    def groups(self, org: str) -> list[str]:
        """The group folders of an org (those that hold projects)."""
        return sorted({p.split("/")[0] for p in self.projects(org) if "/" in p})

    def display_name(self, org: str) -> str:
        """The name an org's flow names start with: DISPLAY_NAME in its constants.py (e.g.
        "COR" for the folder rj_cor), else the folder's name. Read from the file, as a plain
        string assignment, so nothing of the org is imported."""
        return display_name_in(self.package / org / "constants.py") or org

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
                group, _, leaf = project.rpartition("/")
                taken.setdefault(leaf, f"the project pipelines/{org}/{project}")
                if group:
                    taken.setdefault(group, f"the project group pipelines/{org}/{group}")
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


def display_name_in(constants: Path) -> str | None:
    """The string a module assigns to DISPLAY_NAME at its top level, if any.

    Raises:
        OrgSettingError: DISPLAY_NAME is assigned something other than a non-empty string
            without ':' (flow names put ': ' after it).
    """
    import ast

    if not constants.is_file():
        return None
    tree = ast.parse(constants.read_text(encoding="utf-8"), filename=str(constants))
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        if not (isinstance(target, ast.Name) and target.id == "DISPLAY_NAME"):
            continue
        value = getattr(node, "value", None)
        if (
            isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and value.value.strip()
            and ":" not in value.value
        ):
            return value.value.strip()
        raise OrgSettingError(
            f"{constants}: DISPLAY_NAME must be a plain string without ':' (e.g. "
            'DISPLAY_NAME = "COR"), the start of every flow name of the org.'
        )
    return None


def project_module(org: str, project: str) -> str:
    """The dotted package of a project: pipelines.<org>.<project>, a group's name included."""
    return f"pipelines.{org}.{project.replace('/', '.')}"
