"""Read the repo tree (no imports of flows or Prefect): orgs, projects and aggregation lines."""

from __future__ import annotations

import ast
from pathlib import Path

from pipelines.errors import CommandError
from pipelines.utils.inventory import Repo, project_module


def read_source(path: Path) -> str:
    """A source file of the tree as text.

    Raises:
        CommandError: It is not UTF-8: the file, line and byte, and how to fix it (Python reads
            source as UTF-8, and so does every command).
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CommandError(
            f"{path}:{line}: not UTF-8 (byte 0x{data[error.start]:02x}); save the file as UTF-8."
        ) from None


def project_import_line(org: str, project: str) -> str:
    """The line an org's __init__ uses to import a project's flows."""
    return f"import {project_module(org, project)}.flows  # noqa: F401"


def org_import_line(org: str) -> str:
    """The line pipelines/flows.py uses to import an org."""
    return f"import pipelines.{org}  # noqa: F401"


def statement_imports(node: ast.stmt, package: str) -> list[str]:
    """The dotted names an import statement imports, relative ones read from `package` (the
    package of the file holding it): `import a.b, c` gives a.b and c; `from a import b, c`
    gives a.b and a.c; `from .p import flows` in pipelines.emd gives pipelines.emd.p.flows.
    Not an import: nothing."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            anchor = ".".join(parts[: len(parts) - (node.level - 1)])
            base = f"{anchor}.{base}" if base else anchor
        return [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
    return []


def imported_modules(source: str, package: str) -> set[str]:
    """Every dotted name the import statements of a file in `package` import, wherever they
    are (after a ';', under an `if`); the file must parse."""
    tree = ast.parse(source)
    return {name for node in ast.walk(tree) for name in statement_imports(node, package)}  # type: ignore[arg-type]


def unaggregated(repo: Repo) -> list[str]:
    """Problems where an org or project is not imported by the file that aggregates it."""
    problems = []
    flows_source = read_source(repo.flows_module) if repo.flows_module.exists() else ""
    try:
        flows_imports = imported_modules(flows_source, "pipelines")
    except SyntaxError as error:
        return [f"pipelines/flows.py does not parse (line {error.lineno}: {error.msg})"]
    for org, projects in repo.tree().items():
        if f"pipelines.{org}" not in flows_imports:
            problems.append(
                f"pipelines/flows.py does not import the org '{org}': add `{org_import_line(org)}`"
            )
        try:
            org_imports = imported_modules(read_source(repo.org_init(org)), f"pipelines.{org}")
        except SyntaxError as error:
            problems.append(
                f"pipelines/{org}/__init__.py does not parse (line {error.lineno}: {error.msg})"
            )
            continue
        for project in projects:
            if f"{project_module(org, project)}.flows" not in org_imports:
                problems.append(
                    f"pipelines/{org}/__init__.py does not import the project '{project}': "
                    f"add `{project_import_line(org, project)}`"
                )
    return problems
