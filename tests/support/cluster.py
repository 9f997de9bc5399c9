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

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pipelines.manage.manifests import manifest_problems
from tests.support.image import engine_env

# Every container a test started carries this label, so a test can remove its own.
LABEL = "pipelines.test/job"


def container_command(manifest: dict[str, Any], secrets: dict[str, dict[str, str]]) -> list[str]:
    """`podman run` for the Job's first container, as the kubelet would start it."""
    name = manifest["metadata"]["name"]
    pod = manifest["spec"]["template"]["spec"]
    container = pod["containers"][0]
    command = ["podman", "run", "--detach", "--network=host", "--name", name]
    command += ["--label", f"{LABEL}={name}", "--pull=never"]
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
        command = container_command(body, self.secrets)
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


def remove_containers() -> None:
    """Remove every container a pod test started."""
    listed = subprocess.run(
        ["podman", "ps", "-aq", "--filter", f"label={LABEL}"],
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
