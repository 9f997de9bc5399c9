"""No secret in any log, error or alert: URL passwords, credential parameters, webhook tokens."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.utils.redaction import mask_url, origin, redact, register_secret, secrets_in_url
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("postgresql://:s3cret@host/db", {"s3cret"}),  # no user
        ("postgresql://u:p%40ss@host/db", {"p%40ss", "p@ss"}),  # an encoded @
        ("postgresql://u:p@ss@host/db", {"p@ss"}),  # a raw @: the host is after the last one
        ("mysql://u@host/db?password=s3cret&charset=utf8", {"s3cret"}),
        ("postgresql://host/db?sslpassword=k3y&user=bob&api_key=abc", {"k3y", "abc"}),
        ("postgresql://host/db", set()),
    ],
)
def test_secrets_in_url(url, secrets):
    assert secrets_in_url(url) == secrets
    for secret in secrets:
        assert secret not in mask_url(url).replace("***", "")


def test_redact_masks_registered_values_anywhere_and_unknown_url_passwords():
    register_secret("Hk8-registered")
    assert redact("login failed for Hk8-registered in dsn") == "login failed for *** in dsn"
    assert redact("see mysql://root:unknown@db/x") == "see mysql://root:***@db/x"


def test_origin_keeps_only_scheme_and_host():
    assert origin("https://discord.com/api/webhooks/1/T0KEN?wait=true") == "https://discord.com"


SECRETS = ("Zq9s3cret", "Qw8p4ss", "Xy7k3y", "TOKENzz9")
SCRIPT = """
from prefect import task
from pipelines.utils.dump_db import dump_db_to_datalake
from pipelines.utils.execution import run_local
from pipelines.utils.pipeline_flow import PipelineFlow

with PipelineFlow("emd: leaky", org="emd") as flow:
    dump_db_to_datalake(connection="leaky", dataset_id="tests", table_id="t", table="t")
state = run_local(flow)
print("FINAL", type(state).__name__, state.message)
for task_state in (state.result or {}).values():
    print("TASK", task_state.message, task_state.result)
"""


class Receiver(BaseHTTPRequestHandler):
    bodies: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        Receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("webhook", ["up", "down"])
def test_a_failing_dump_leaks_no_secret_to_logs_errors_or_the_alert(
    webhook, tmp_path, postgres_url
):
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    port = receiver.server_address[1] if webhook == "up" else _closed_port()
    Receiver.bodies = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINES_")}
    env.update(
        PIPELINES_DATA_DIR=str(tmp_path / "data"),
        # No user, a password, and credentials in the query string; the database does not exist.
        PIPELINES_DB_LEAKY=(
            "postgresql://:Zq9s3cret@127.0.0.1:5432/no_such_db_for_redaction"
            "?password=Qw8p4ss&sslpassword=Xy7k3y"
        ),
        PIPELINES_FAILURE_WEBHOOK_URL=f"http://127.0.0.1:{port}/api/webhooks/1/TOKENzz9",
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env,
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    finally:
        receiver.shutdown()
        receiver.server_close()
    seen = result.stdout + result.stderr + "".join(Receiver.bodies)
    assert "FINAL Failed" in result.stdout, seen
    assert [s for s in SECRETS if s in seen] == []
    assert "Zq9s3cret" not in json.dumps(Receiver.bodies)
    if webhook == "up":
        (body,) = Receiver.bodies
        assert "emd: leaky" in body
    else:
        assert "Failure alert to the webhook at http://127.0.0.1 not sent" in seen


API_KEY = "Ak7-planted-api-key"
LEAKY_FLOWS = """
from prefect import task
from pipelines.utils.pipeline_flow import PipelineFlow
from pipelines.utils.secrets import get_secret


class HTTPError(Exception):
    pass


@task
def call_api():
    key = get_secret("city_api", "key")
    raise HTTPError(f"404 Client Error: Not Found for url: https://api.city/v1?api_key={key}")


with PipelineFlow("emd: leaky_api", org="emd") as flow:
    call_api()
"""
CLOUD_RUN = """
import sys
import prefect
from prefect.engine.cloud import CloudFlowRunner
from pipelines.emd.leaky_api.flows import flow

flow_id = flow.register(project_name="main", build=False, add_default_labels=False)
run_id = prefect.Client().create_flow_run(flow_id=flow_id)
with prefect.context(flow_run_id=run_id, flow_id=flow_id):  # as `prefect execute` does
    state = CloudFlowRunner(flow=flow).run()
print("STATE", type(state).__name__, state.message)
"""


def _leaky_project(root) -> None:
    project = root / "pipelines" / "emd" / "leaky_api"
    project.mkdir()
    (project / "__init__.py").write_text("")
    (project / "flows.py").write_text(LEAKY_FLOWS)


def test_a_secret_in_a_task_error_reaches_no_state_message_nor_the_cli(repo_copy, tmp_path):
    """A key read with get_secret, inside an exception's text: neither the states the real
    CloudFlowRunner reports to the server nor what `manage.py run` prints carry it."""
    from tests.support.prefect_server import PrefectTestServer

    _leaky_project(repo_copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINES_", "PREFECT__"))}
    env.update(
        PIPELINES_ENV="local",
        PIPELINES_DATA_DIR=str(tmp_path / "data"),
        PIPELINES_SECRET_CITY_API=json.dumps({"key": API_KEY}),
    )
    with PrefectTestServer(simulate_agent=False) as server:
        server.add_project("main")
        cloud = {
            **env,
            "PREFECT__BACKEND": "server",
            "PREFECT__SERVER__HOST": "http://127.0.0.1",
            "PREFECT__SERVER__PORT": str(server.port),
        }
        ran = subprocess.run(
            [sys.executable, "-c", CLOUD_RUN], cwd=repo_copy, env=cloud,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert "STATE Failed" in ran.stdout, ran.stdout + ran.stderr
        assert not [(r.query, r.errors) for r in server.requests if r.errors]
        states = [
            *server.store.tables["flow_run_state"].values(),
            *server.store.tables["task_run_state"].values(),
        ]
        messages = [
            f"{s['message']} {json.dumps(s['serialized_state'], default=str)}" for s in states
        ]
        failed = [m for m in messages if "404 Client Error" in m]
        assert failed, (messages, ran.stdout[-2000:], ran.stderr[-3000:])  # it reached the server
        assert not [m for m in messages if API_KEY in m], messages
        assert not [log for log in server.logs if API_KEY in json.dumps(log, default=str)]
    assert API_KEY not in ran.stdout + ran.stderr

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    Receiver.bodies = []
    env["PIPELINES_FAILURE_WEBHOOK_URL"] = (
        f"http://127.0.0.1:{receiver.server_address[1]}/api/webhooks/1/hook"
    )
    try:
        done = subprocess.run(
            [sys.executable, "manage.py", "run", "pipelines.emd.leaky_api.flows.flow"],
            cwd=repo_copy, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        every = [
            subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=repo_copy,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )  # fmt: skip
            for args in (["run", "--all"], ["status", "--json"], ["settings"], ["catalog"])
        ]
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert done.returncode == 1
    assert "api_key=***" in done.stderr, done.stderr
    assert every[0].returncode == 1 and "api_key=***" in every[0].stdout + every[0].stderr
    (alert, *_) = Receiver.bodies
    assert "emd: leaky_api" in alert and "api_key=***" in alert
    catalog = "".join(
        p.read_text(errors="replace") for p in (repo_copy / "build" / "catalog").rglob("*.*")
    )
    outputs = [done.stdout, done.stderr, *(r.stdout + r.stderr for r in every), catalog]
    assert [o for o in [*outputs, *Receiver.bodies] if API_KEY in o] == []
