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
