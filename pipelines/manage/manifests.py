"""The Kubernetes Job each flow's pod would be, made by Prefect's own agent code, validated
against Kubernetes' schemas (kubernetes-validate, strict, offline)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from prefect import Flow

from pipelines.utils.deploy.target import Target

# The oldest Kubernetes the cluster may run, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.25", "latest")


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
    return _job_from_run_config(_run_config(flow, target), target.bucket)


def _run_config(flow: Flow, target: Target) -> dict[str, Any]:
    from prefect.serialization.run_config import RunConfigSchema

    from pipelines.utils.deploy.deployment import deployed_run_config

    return dict(RunConfigSchema().dump(deployed_run_config(flow, target)))


def _job_from_run_config(run_config: dict[str, Any], bucket: str) -> dict[str, Any]:
    import copy

    from prefect.serialization.storage import StorageSchema
    from prefect.storage import GCS
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
                "storage": StorageSchema().dump(GCS(bucket=bucket)),
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
    from pipelines.settings import load_settings
    from pipelines.utils.deploy.target import pod_environment

    settings = load_settings()
    return Target(
        project=settings.get("PIPELINES_PROD_PROJECT") or "main",
        bucket=settings.get("PIPELINES_FLOWS_BUCKET") or "flows",
        image=settings.get("PIPELINES_FLOW_IMAGE") or "localhost/pipelines:check",
        schedule_active=True,
        env=pod_environment(settings),
        env_from_secret=settings.get("PIPELINES_K8S_SECRET_NAME") or "pipelines-env",
    )


def flow_manifest_problems(flows: list[tuple[str, Flow]]) -> list[str]:
    """One line per flow whose Job would not validate, or whose resources do not parse."""
    import json

    from pipelines.errors import ResourceError
    from pipelines.utils.flow_defaults.resources import check_resources

    try:
        import kubernetes  # noqa: F401  (KubernetesAgent needs it)
        import kubernetes_validate  # noqa: F401
    except ImportError as error:
        return [
            f"the Job manifests cannot be checked: {error.name} is not installed "
            "(make install installs it)"
        ]
    target = check_target()
    problems: list[str] = []
    seen: dict[str, list[str]] = {}
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
        try:
            # The Job depends on the flow only through its run config: made once per config.
            run_config = _run_config(flow, target)
            key = json.dumps(run_config, sort_keys=True)
            if key not in seen:
                seen[key] = manifest_problems(_job_from_run_config(run_config, target.bucket))
        except Exception as error:  # the agent itself cannot make the Job
            problems.append(f"{where}: its Kubernetes Job cannot be made: {error}")
            continue
        problems += [f"{where}: its Kubernetes Job is invalid: {p}" for p in seen[key]]
    return problems
