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
