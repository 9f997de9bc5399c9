"""Registered flows run in the flow-run image the way a Kubernetes pod runs them.

The image is built from the Dockerfile (`make image`, podman; the base image made offline when
it cannot be pulled). Prefect 1.4.1's own Kubernetes agent polls the test server, makes each
Job and creates it through a stubbed Kubernetes API that starts the Job's container with
podman (tests/support/cluster.py). The container runs `prefect execute flow-run` with Prefect's
CloudFlowRunner against the test server and loads the flow from fake-gcs-server: nothing of
the repo is in it but what each flow's bundle carries. Each scenario ends with the run's final
state read from the server.

Under CI=true these run and must pass; elsewhere they are skipped, naming what is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, cloud_environment
from tests.support import image as podman_image
from tests.support.cluster import remove_containers

FINISHED = {"Success", "Failed", "Cancelled", "Skipped", "TimedOut"}
AGENT_LABELS = ("admin", "emd", "example")


def _pod_tools_or_skip() -> None:
    missing = podman_image.missing_tools()
    if not missing:
        return
    message = (
        f"pod tests need {', '.join(missing)}: apt-get install podman buildah runc "
        "debootstrap uidmap (.ci/run installs them)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the pod tests must run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def flow_image() -> str:
    """The flow-run image, built from this checkout's Dockerfile and lock."""
    _pod_tools_or_skip()
    base = podman_image.ensure_base()
    tag = subprocess.run(
        [sys.executable, "manage.py", "image-tag"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    name = f"localhost/pipelines:{tag}"
    seconds = podman_image.build_image(name)
    size = podman_image.image_size(name)
    print(f"\nflow-run image {name}: {size / 1e9:.2f} GB (base: {base}), built in {seconds:.0f} s")
    return name


@dataclass
class Cluster:
    """The test server, the bucket of stored flows, and Prefect's agent in front of podman."""

    server: Any
    env: dict[str, str]  # what a developer or CD has set
    jobs_dir: Path
    agent: subprocess.Popen | None = None
    agent_log: Path | None = None
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)

    def start_agent(self, pod_env: dict[str, str] | None = None) -> None:
        """`prefect agent kubernetes start`, its Kubernetes API stubbed (tests/support/cluster.py).

        Args:
            pod_env: The agent's --env: what every flow-run pod gets (here, where the
                emulators listen), as a cluster's agent sets cluster-wide values.
        """
        secrets = self.jobs_dir / "secrets.json"
        secrets.write_text(json.dumps(self.secrets))
        options = ["--api", self.server.url, "--namespace", "default"]
        for label in AGENT_LABELS:
            options += ["--label", label]
        for name, value in {
            "STORAGE_EMULATOR_HOST": self.env["STORAGE_EMULATOR_HOST"],
            **(pod_env or {}),
        }.items():
            options += ["--env", f"{name}={value}"]
        self.agent_log = self.jobs_dir / "agent.log"
        env = {**self.env, "PREFECT__CLOUD__API": self.server.url, "PREFECT__BACKEND": "server"}
        env.update(podman_image.engine_env())
        self.agent = subprocess.Popen(
            [sys.executable, "-m", "tests.support.cluster", str(self.jobs_dir), str(secrets),
             "--", *options],
            cwd=REPO_ROOT, env=env, stdout=self.agent_log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop_agent(self) -> None:
        if self.agent is not None and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGINT)  # the agent's own exit handler
            try:
                self.agent.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.agent.kill()

    def jobs(self) -> list[dict[str, Any]]:
        """What the agent created, oldest first."""
        found = [json.loads(p.read_text()) for p in self.jobs_dir.glob("prefect-job-*.json")]
        return sorted(found, key=lambda j: j.get("created", 0))

    def job_of(self, run_id: str) -> dict[str, Any]:
        for job in self.jobs():
            if job["manifest"]["metadata"]["labels"]["prefect.io/flow_run_id"] == run_id:
                return job
        raise LookupError(f"no Job for flow run {run_id}:\n{self.diagnostics()}")

    def wait_for(self, run_id: str, timeout: float = 300) -> dict[str, Any]:
        """Wait for the flow run's final state on the server; the run row."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.server.flow_runs[run_id]
            if run["state"] in FINISHED:
                return run
            if self.agent is not None and self.agent.poll() is not None:
                raise AssertionError(f"the agent exited:\n{self.diagnostics()}")
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} still {run['state']}:\n{self.diagnostics(run_id)}")

    def pod_seconds(self, run_id: str) -> float:
        """From the container's start to the run's final state on the server."""
        job = self.job_of(run_id)
        started = podman_image.podman(
            "inspect", "--format", "{{.State.StartedAt}}", job["container"]
        ).stdout.strip()
        begun = _podman_time(started)
        ended = self.server.flow_runs[run_id]["state_timestamp"]
        return (ended - begun).total_seconds()

    def pod_log(self, run_id: str) -> str:
        job = self.job_of(run_id)
        logs = podman_image.podman("logs", job["container"], check=False)
        return logs.stdout + logs.stderr

    def diagnostics(self, run_id: str | None = None) -> str:
        parts = [f"agent log:\n{self.agent_log.read_text()[-4000:] if self.agent_log else ''}"]
        for job in self.jobs():
            labels = job["manifest"]["metadata"]["labels"]
            if run_id and labels["prefect.io/flow_run_id"] != run_id:
                continue
            parts.append(f"job {job['manifest']['metadata']['name']}: {job.get('problems')}")
            if job.get("container"):
                logs = podman_image.podman("logs", job["container"], check=False)
                parts.append((logs.stdout + logs.stderr)[-4000:])
        return "\n".join(parts)


def _podman_time(text: str) -> dt.datetime:
    """podman's '2026-12-03 14:30:01.123456789 +0000 UTC' as an aware datetime."""
    match = re.match(r"(\S+) (\d+:\d+:\d+)(?:\.(\d+))? ([+-]\d{4})", text)
    assert match, text
    day, clock, fraction, offset = match.groups()
    micros = (fraction or "0")[:6].ljust(6, "0")
    return dt.datetime.strptime(f"{day} {clock}.{micros} {offset}", "%Y-%m-%d %H:%M:%S.%f %z")


@pytest.fixture
def cluster(flow_image, gcs_emulator, tmp_path):
    from tests.support.prefect_server import PrefectTestServer

    jobs = tmp_path / "jobs"
    jobs.mkdir()
    with PrefectTestServer(simulate_agent=False) as server:
        server.add_project("staging")
        server.add_project("main")
        env = cloud_environment(tmp_path, gcs_emulator.url, server.port)
        env["PIPELINES_FLOW_IMAGE"] = flow_image
        found = Cluster(server, env, jobs)
        try:
            yield found
        finally:
            found.stop_agent()
            remove_containers()


def report(cluster: Cluster, scenario: str, run_id: str) -> None:
    run = cluster.server.flow_runs[run_id]
    seconds = cluster.pod_seconds(run_id)
    print(f"\npod: {scenario}: {run['state']} ({run['state_message']}), {seconds:.1f} s in its pod")


RUN_CLOUD = """\
from pipelines.emd.utils import run_cloud
from pipelines.emd.test_flow.flows import flow

run_cloud(flow, labels=["example"], parameters={"param": "val"})
"""


def run_cloud(cluster: Cluster, code: str = RUN_CLOUD) -> str:
    """The README's run_cloud snippet, as a developer runs it; the flow run's id."""
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=cluster.env, capture_output=True,
        text=True, timeout=180,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return re.search(r"/flow-run/([0-9a-f-]{36})", ran.stdout).group(1)


def test_run_cloud_test_flow_succeeds_in_its_pod(cluster: Cluster):
    cluster.start_agent()
    run_id = run_cloud(cluster)

    run = cluster.wait_for(run_id)

    assert run["state"] == "Success", cluster.diagnostics(run_id)
    job = cluster.job_of(run_id)
    assert job["problems"] == []
    container = job["manifest"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == cluster.env["PIPELINES_FLOW_IMAGE"]
    assert container["args"] == ["prefect", "execute", "flow-run"]
    assert "param = val" in cluster.pod_log(run_id)
    tasks = cluster.server.task_runs_of(run_id)
    assert tasks and {t["state"] for t in tasks} == {"Success"}
    assert any("param = val" in (log["message"] or "") for log in cluster.server.logs)
    report(cluster, "emd: test_flow by run_cloud", run_id)
