"""A Kubernetes cluster for Prefect's own KubernetesAgent: its API clients stubbed, its Jobs
started as podman containers.

Only the Kubernetes API is imitated. The agent is Prefect 1.4.1's `prefect agent kubernetes
start`, run as its own process: its poll loop asks the server for runs, `generate_job_spec`
makes each Job and `deploy_flow` creates it. Creating a Job here validates the manifest
(kubernetes-validate's schemas, strict, Kubernetes 1.25 and the newest it ships: the same
check as `manage.py check`), writes it to
the jobs folder and starts its container with `podman run --network=host`, with exactly the
Job's image, environment (`envFrom` secrets included) and command. Containers are left for the
test to read (logs, start time) and removed by `remove_containers`.

Run as `python -m tests.support.cluster JOBS_DIR SECRETS_JSON -- <agent start options>`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.manage.manifests import manifest_problems
from tests.support.image import REPO_ROOT, engine_env, podman

# Every container carries its cluster's jobs folder as this label, so a test removes its own
# containers only (another test session may be running its pods at the same time).
LABEL = "pipelines.test/jobs"
FINISHED = {"Success", "Failed", "Cancelled", "Skipped", "TimedOut"}
AGENT_LABELS = ("admin", "emd", "example")
# One line per pod run a test reported, printed at the end of the test session.
REPORTED: list[str] = []


def container_command(
    manifest: dict[str, Any], secrets: dict[str, dict[str, str]], jobs_dir: Path
) -> list[str]:
    """`podman run` for the Job's first container, as the kubelet would start it."""
    name = manifest["metadata"]["name"]
    pod = manifest["spec"]["template"]["spec"]
    container = pod["containers"][0]
    command = ["podman", "run", "--detach", "--network=host", "--name", name]
    command += ["--label", f"{LABEL}={jobs_dir}", "--pull=never"]
    for source in container.get("envFrom", []):
        secret = source["secretRef"]["name"]
        if secret not in secrets:  # the kubelet would leave the pod in CreateContainerConfigError
            raise LookupError(f"secret {secret!r} not found")
        for key, value in secrets[secret].items():
            command += ["--env", f"{key}={value}"]
    for entry in container.get("env", []):  # later entries win, as in Kubernetes
        command += ["--env", f"{entry['name']}={entry.get('value', '')}"]
    if container.get("command"):
        command += ["--entrypoint", json.dumps(container["command"])]
    return [*command, container["image"], *container.get("args", [])]


class _Listing:
    """An empty list answer (V1JobList / V1PodList / CoreV1EventList) as the agent reads it."""

    def __init__(self) -> None:
        from kubernetes.client import V1ListMeta

        self.items: list[Any] = []
        self.metadata = V1ListMeta(_continue=None)


class StubKubernetesApi:
    """BatchV1Api and CoreV1Api, as far as KubernetesAgent calls them."""

    def __init__(self, jobs_dir: Path, secrets: dict[str, dict[str, str]]) -> None:
        self.jobs_dir = jobs_dir
        self.secrets = secrets

    def create_namespaced_job(self, namespace: str, body: dict[str, Any]) -> None:
        from kubernetes.client.rest import ApiException

        name = body["metadata"]["name"]
        problems = manifest_problems(body)
        record: dict[str, Any] = {"namespace": namespace, "manifest": body, "problems": problems}
        if problems:  # the API server answers 422 Unprocessable Entity
            (self.jobs_dir / f"{name}.json").write_text(json.dumps(record, indent=1))
            raise ApiException(status=422, reason="; ".join(problems))
        command = container_command(body, self.secrets, self.jobs_dir)
        record["created"] = time.time()
        started = subprocess.run(command, env=engine_env(), capture_output=True, text=True)
        record["container"] = started.stdout.strip()
        record["podman"] = started.stderr[-2000:]
        (self.jobs_dir / f"{name}.json").write_text(json.dumps(record, indent=1))
        if started.returncode != 0:
            raise ApiException(status=500, reason=f"podman run failed: {started.stderr[-500:]}")

    def list_namespaced_job(self, *args: Any, **kwargs: Any) -> _Listing:
        return _Listing()

    def list_namespaced_pod(self, *args: Any, **kwargs: Any) -> _Listing:
        return _Listing()

    def list_namespaced_event(self, *args: Any, **kwargs: Any) -> _Listing:
        return _Listing()

    def delete_namespaced_job(self, *args: Any, **kwargs: Any) -> None:
        return None


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
        """`prefect agent kubernetes start` in a process of its own, its Kubernetes API stubbed.

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
        env["CONTAINERS_CONF"] = engine_env()["CONTAINERS_CONF"]
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
        """Wait for the flow run's final state on the server and its pod's end; the run row."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.server.flow_runs[run_id]
            if run["state"] in FINISHED:
                # The pod ships its last logs as it exits: wait for its container to end.
                container = self.job_of(run_id).get("container")
                if container:
                    podman(
                        "wait", container, check=False, timeout=max(1, deadline - time.monotonic())
                    )
                return run
            if self.agent is not None and self.agent.poll() is not None:
                raise AssertionError(f"the agent exited:\n{self.diagnostics()}")
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} still {run['state']}:\n{self.diagnostics(run_id)}")

    def pod_seconds(self, run_id: str) -> float:
        """From the container's start to the run's final state on the server."""
        job = self.job_of(run_id)
        started = podman(
            "inspect", "--format", "{{.State.StartedAt}}", job["container"]
        ).stdout.strip()
        begun = _podman_time(started)
        ended = self.server.flow_runs[run_id]["state_timestamp"]
        return (ended - begun).total_seconds()

    def job_seconds(self, run_id: str) -> float:
        """From the Job's creation (the agent's create_namespaced_job) to the final state."""
        created = dt.datetime.fromtimestamp(self.job_of(run_id)["created"], dt.UTC)
        return (self.server.flow_runs[run_id]["state_timestamp"] - created).total_seconds()

    def pod_log(self, run_id: str) -> str:
        job = self.job_of(run_id)
        logs = podman("logs", job["container"], check=False)
        return logs.stdout + logs.stderr

    def diagnostics(self, run_id: str | None = None) -> str:
        parts = [f"agent log:\n{self.agent_log.read_text()[-4000:] if self.agent_log else ''}"]
        for job in self.jobs():
            labels = job["manifest"]["metadata"]["labels"]
            if run_id and labels["prefect.io/flow_run_id"] != run_id:
                continue
            parts.append(f"job {job['manifest']['metadata']['name']}: {job.get('problems')}")
            if job.get("container"):
                logs = podman("logs", job["container"], check=False)
                parts.append((logs.stdout + logs.stderr)[-4000:])
        return "\n".join(parts)


def _podman_time(text: str) -> dt.datetime:
    """podman's '2026-12-03 14:30:01.123456789 +0000 UTC' as an aware datetime."""
    match = re.match(r"(\S+) (\d+:\d+:\d+)(?:\.(\d+))? ([+-]\d{4})", text)
    assert match, text
    day, clock, fraction, offset = match.groups()
    micros = (fraction or "0")[:6].ljust(6, "0")
    return dt.datetime.strptime(f"{day} {clock}.{micros} {offset}", "%Y-%m-%d %H:%M:%S.%f %z")


def remove_containers(jobs_dir: Path) -> None:
    """Remove every container the cluster of this jobs folder started."""
    listed = subprocess.run(
        ["podman", "ps", "-aq", "--filter", f"label={LABEL}={jobs_dir}"],
        env=engine_env(),
        capture_output=True,
        text=True,
    )
    ids = listed.stdout.split()
    if ids:
        subprocess.run(["podman", "rm", "-f", *ids], env=engine_env(), capture_output=True)


def main(argv: list[str]) -> None:
    """Start Prefect's Kubernetes agent with the stubbed API clients."""
    jobs_dir, secrets_file, separator, *options = argv
    assert separator == "--", "usage: cluster JOBS_DIR SECRETS_JSON -- <agent options>"
    import prefect.utilities.kubernetes as kubernetes_utilities
    from prefect.cli import cli

    api = StubKubernetesApi(Path(jobs_dir), json.loads(Path(secrets_file).read_text()))
    kubernetes_utilities.get_kubernetes_client = lambda *args, **kwargs: api  # type: ignore
    cli(["agent", "kubernetes", "start", *options])


if __name__ == "__main__":
    main(sys.argv[1:])
