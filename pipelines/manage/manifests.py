"""The Kubernetes Job each flow's pod would be, made by Prefect's own agent code, validated
against Kubernetes' schemas (kubernetes-validate, strict, offline)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from prefect import Flow

from pipelines.utils.deploy.graph import write_cache
from pipelines.utils.deploy.target import Target

# The oldest Kubernetes the cluster may run, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.25", "latest")
# Each run config's answer, by its digest (check's memo).
JOBS_CACHE = Path(".pipelines-cache") / "jobs.json"


@contextmanager
def _no_cluster() -> Iterator[None]:
    """KubernetesAgent asks for API clients when built; generating a Job needs none."""
    import prefect.utilities.kubernetes as kubernetes_utilities

    original = kubernetes_utilities.get_kubernetes_client
    kubernetes_utilities.get_kubernetes_client = lambda *args, **kwargs: None  # type: ignore
    try:
        yield
    finally:
        kubernetes_utilities.get_kubernetes_client = original


@cache
def _agent() -> Any:
    from prefect.agent.kubernetes import KubernetesAgent

    with _no_cluster():
        return KubernetesAgent(namespace="default")


def job_manifest(flow: Flow, target: Target) -> dict[str, Any]:
    """The Job Prefect 1.4.1's KubernetesAgent creates for a run of `flow` deployed to `target`
    (its generate_job_spec, on the run config deployment_copy gives the version)."""
    return _job_from_run_config(_run_config(flow, target))


def _run_config(flow: Flow, target: Target) -> dict[str, Any]:
    from prefect.serialization.run_config import RunConfigSchema

    from pipelines.utils.deploy.deployment import deployed_run_config

    return dict(RunConfigSchema().dump(deployed_run_config(flow, target)))


def _job_from_run_config(run_config: dict[str, Any]) -> dict[str, Any]:
    import copy

    from prefect.serialization.storage import StorageSchema
    from prefect.storage import Module
    from prefect.utilities.graphql import GraphQLResult

    flow_run = GraphQLResult(
        {
            "id": str(uuid.uuid4()),
            "name": "check",
            "run_config": copy.deepcopy(run_config),
            "flow": {
                "id": str(uuid.uuid4()),
                "name": "check",
                "run_config": run_config,
                # Only Docker storage changes a Job (its image); a cheap stand-in for GCS,
                # whose client alone takes a second to import.
                "storage": StorageSchema().dump(Module("pipelines")),
                "core_version": "1.4.1",
                "environment": None,
            },
        }
    )
    return dict(_agent().generate_job_spec(flow_run))


@cache
def _validators() -> list[tuple[str, Any]]:
    """One jsonschema validator of batch/v1 Job per Kubernetes version (built once: the
    schema's definitions are megabytes of JSON)."""
    import jsonschema
    from kubernetes_validate.utils import all_versions, latest_version, schema_contents
    from referencing import Registry, Resource

    found = []
    for wanted in KUBERNETES_VERSIONS:
        wanted = latest_version() if wanted == "latest" else wanted
        version = [v for v in all_versions() if _minor(v) <= _minor(wanted)][-1]
        folder = f"kubernetes-json-schema/v{version}-local-strict"
        schema = schema_contents(f"{folder}/job-batch-v1.json", version)
        definitions = schema_contents(f"{folder}/_definitions.json", version)
        registry = Resource.from_contents(definitions) @ (
            Resource.from_contents(schema) @ Registry()
        )
        found.append((_shown(wanted), jsonschema.Draft202012Validator(schema, registry=registry)))
    return found


def _shown(version: str) -> str:
    return ".".join(str(part) for part in _minor(version))


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def manifest_problems(manifest: dict[str, Any]) -> list[str]:
    """Every way the Job fails `kubernetes-validate --strict`, per Kubernetes version."""
    import json

    return list(_problems(json.dumps(_without_run_ids(manifest), sort_keys=True)))


def _without_run_ids(manifest: dict[str, Any]) -> dict[str, Any]:
    """The Job with the agent's per-run values (name suffix, run and flow ids) made constant:
    flows whose Jobs differ only there are validated once."""
    import copy
    import json
    import re

    same = copy.deepcopy(manifest)
    ids = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    name = same.get("metadata", {}).get("name")
    if isinstance(name, str):
        same["metadata"]["name"] = re.sub(r"-[0-9a-f]{8}$", "-00000000", name)
    for labels in (
        same.get("metadata", {}).get("labels", {}),
        same.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}),
    ):
        if "prefect.io/identifier" in labels:
            labels["prefect.io/identifier"] = "00000000"
    text = ids.sub("00000000-0000-0000-0000-000000000000", json.dumps(same))
    return dict(json.loads(text))


@cache
def _problems(manifest_json: str) -> tuple[str, ...]:
    import json

    manifest = json.loads(manifest_json)
    problems = []
    for version, validator in _validators():
        for error in sorted(validator.iter_errors(manifest), key=lambda e: list(e.path)):
            where = ".".join(str(p) for p in error.path) or "(the Job)"
            problems.append(f"Kubernetes {version}: {where}: {error.message}")
    return tuple(problems)


def check_target() -> Target:
    """What `check` deploys to on paper: the image tag of this checkout, the pod settings of
    the environment, and an envFrom secret, so every part of the Job is validated."""
    from pipelines.utils.context import current_settings
    from pipelines.utils.deploy.target import pod_environment

    settings = current_settings()
    return Target(
        project=settings.get("PIPELINES_PROD_PROJECT") or "main",
        bucket=settings.get("PIPELINES_FLOWS_BUCKET") or "flows",
        image=settings.get("PIPELINES_FLOW_IMAGE") or "localhost/pipelines:check",
        schedule_active=True,
        env=pod_environment(settings),
        env_from_secret=settings.get("PIPELINES_K8S_SECRET_NAME") or "pipelines-env",
    )


class ManifestWorker:
    """Makes and validates Jobs in a process of its own, started before the flows are
    imported: Kubernetes' client (which Prefect's agent loads) and the schemas load there,
    on the other core, while this process imports the flows."""

    def __init__(self) -> None:
        import subprocess
        import sys

        self.child = subprocess.Popen(
            [sys.executable, "-m", "pipelines.manage.manifests", "--worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def problems(self, run_configs: list[dict[str, Any]]) -> list[list[str]]:
        """The problems of each run config's Job, in order."""
        import json

        out, err = self.child.communicate(json.dumps(run_configs), timeout=600)
        if self.child.returncode != 0:
            last = (err.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"the Job check's process failed: {last}")
        return [list(found) for found in json.loads(out)]

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()


@cache
def _versions() -> tuple[str, ...]:
    """What a Job's answer depends on besides its run config."""
    from importlib.metadata import version

    return (version("prefect"), version("kubernetes-validate"), *KUBERNETES_VERSIONS)


def _digest(run_config: dict[str, Any]) -> str:
    import hashlib
    import json

    text = json.dumps([_versions(), run_config], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _read_memo(path: Path | None) -> dict[str, list[str]]:
    import json

    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _worker() -> None:
    """Read run configs (JSON) from stdin, print each one's Job problems (JSON)."""
    import json
    import sys

    _agent()  # loaded while the caller imports its flows
    _validators()
    run_configs = json.loads(sys.stdin.read())
    print(json.dumps([manifest_problems(_job_from_run_config(rc)) for rc in run_configs]))


def flow_manifest_problems(
    flows: list[tuple[str, Flow]],
    worker: ManifestWorker | None = None,
    memo: Path | None = None,
) -> list[str]:
    """One line per flow whose Job would not validate, or whose resources do not parse.

    Args:
        flows: (module, flow) pairs.
        worker: Where Jobs are made and validated; None: in this process.
        memo: A file remembering each run config's answer (check gives JOBS_CACHE).
    """
    import json
    from importlib.util import find_spec

    from pipelines.errors import ResourceError
    from pipelines.utils.pipeline_flow.pod_size import check_resources

    missing = [name for name in ("kubernetes", "kubernetes_validate") if find_spec(name) is None]
    if missing:
        if worker:
            worker.close()
        return [
            f"the Job manifests cannot be checked: {', '.join(missing)} not installed "
            "(make install installs them)"
        ]
    target = check_target()
    problems: list[str] = []
    # The Job depends on the flow only through its own run config and org: each distinct
    # pair is deployed, serialized and validated once.
    configs: dict[str, dict[str, Any]] = {}
    by_flow: list[tuple[str, str]] = []
    for module, flow in flows:
        where = f"{module}: flow {flow.name!r}"
        own = flow.run_config
        try:
            check_resources(
                getattr(own, "cpu_request", None),
                getattr(own, "memory_request", None),
                getattr(own, "cpu_limit", None),
                getattr(own, "memory_limit", None),
            )
        except ResourceError as error:
            problems.append(f"{where}: {error}")
            continue
        key = json.dumps(
            [
                type(own).__name__,
                vars(own) if own is not None else None,
                getattr(flow, "org", None),
            ],
            sort_keys=True,
            default=lambda value: sorted(value) if isinstance(value, set) else repr(value),
        )
        if key not in configs:
            try:
                configs[key] = _run_config(flow, target)
            except Exception as error:  # its run config cannot be deployed or serialized
                problems.append(f"{where}: its Kubernetes Job cannot be made: {error}")
                continue
        by_flow.append((where, key))
    # A Job is a function of its run config and the two libraries' versions: an answer from
    # an earlier check is reused, and the worker is not even waited for.
    known = _read_memo(memo)
    digests = {k: _digest(configs[k]) for k in configs}
    found = {k: known[d] for k, d in digests.items() if d in known}
    keys = [k for k in configs if k not in found]
    try:
        if keys and worker is not None:
            made = worker.problems([configs[k] for k in keys])
        else:
            made = [manifest_problems(_job_from_run_config(configs[k])) for k in keys]
    except Exception as error:  # the agent itself cannot make the Jobs
        return [*problems, f"the Kubernetes Jobs cannot be made: {type(error).__name__}: {error}"]
    finally:
        if worker is not None:
            worker.close()
    found.update(zip(keys, made, strict=True))
    if keys and memo is not None:
        write_cache(memo, {**known, **{digests[k]: found[k] for k in keys}})
    for where, key in by_flow:
        problems += [f"{where}: its Kubernetes Job is invalid: {p}" for p in found[key]]
    return problems


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--worker"]:
        _worker()
