"""Shared fixtures: a temporary copy of the repo and a snapshot of its files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
COPIED = ("pipelines", "templates", "tests", "manage.py", "pyproject.toml")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A copy of the repo's code and templates that tests may change freely."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=IGNORED)
        else:
            shutil.copy2(source, root / name)
    return root


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root (bar caches) with the hash of its bytes, and every folder."""
    state = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or ".pytest_cache" in path.parts:
            continue
        key = str(path.relative_to(root))
        state[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return state
