"""Every expected failure is a PipelinesError, so manage.py prints its message, not a trace."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from pipelines.errors import PipelinesError
from tests.conftest import REPO_ROOT


def test_every_error_class_the_package_defines_is_a_pipelines_error():
    defined = []
    for path in sorted((REPO_ROOT / "pipelines").rglob("*.py")):
        if "manage" in path.relative_to(REPO_ROOT).parts:
            continue  # the CLI's own CliError is click's, caught at the same edge
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                defined.append((path, node.name))
    assert len(defined) > 15
    outside = [
        f"{_module(path)}.{name}"
        for path, name in defined
        if not issubclass(getattr(importlib.import_module(_module(path)), name), PipelinesError)
    ]
    assert outside == []


def _module(path: Path) -> str:
    return ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)


def test_only_the_commands_speak_click():
    """manage.py's operations (register, check, the catalog, scaffolding, run --all) raise
    PipelinesError and are callable from a script; click stays in cli.py, errors.py and the
    commands, the one edge that turns errors into messages."""
    edge = {"cli.py", "errors.py", "__main__.py"}
    speaking = []
    for path in sorted((REPO_ROOT / "pipelines" / "manage").rglob("*.py")):
        if path.name in edge or "commands" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(n == "click" or n.startswith("click.") or n == "pipelines.manage.errors"
                   for n in names):  # fmt: skip
                speaking.append(f"{_module(path)} (line {node.lineno})")
    assert speaking == []


def test_every_public_error_type_is_declared_in_errors_py():
    """One place lists what can go wrong; modules re-export what they raise."""
    stray = []
    for path in sorted((REPO_ROOT / "pipelines").rglob("*.py")):
        if path.name == "errors.py":
            continue  # pipelines/errors.py, and manage's CliError: click's, at the edge
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            public = isinstance(node, ast.ClassDef) and not node.name.startswith("_")
            if public and node.name.endswith("Error"):
                stray.append(f"{_module(path)}.{node.name}")
    assert stray == []
