"""The one recipe for a deployable flow: where it goes, what runs it, and its stored code."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from prefect import Flow
from prefect.run_configs import KubernetesRun
from prefect.storage import GCS

from pipelines.utils.deploy.bundle import build_archive, defining_module, stored_bytes
from pipelines.utils.deploy.graph import ModuleGraph
from pipelines.utils.deploy.keys import deployed_name, storage_key, version_digest
from pipelines.utils.deploy.target import Target
from pipelines.utils.pipeline_flow import org_label

__all__ = [
    "Deployment",
    "deployed_name",
    "deployed_run_config",
    "deployment_copy",
    "storage_key",
    "upload",
]


@dataclass
class Deployment:
    """A deployable copy of a flow and the content-addressed key of its stored bytes."""

    flow: Flow
    module: str
    original_name: str
    digest: str
    key: str
    graph: ModuleGraph
    target: Target

    def data(self) -> bytes:
        """The stored bytes (built only when they are uploaded)."""
        archive = build_archive(self.graph, self.module)
        return stored_bytes(archive, self.module, self.original_name, self.flow)


def deployment_copy(
    flow: Flow, target: Target, graph: ModuleGraph, dependencies: str = ""
) -> Deployment:
    """Build the version of `flow` that `target` gets; `flow` itself is not changed.

    The stored bytes carry the flow's code closure (every module its import runs, and the
    data files of their packages); at run time the image imports the flow's module from that
    bundle only. The digest covers the bundle's files, the dependencies and the target, so an
    unchanged flow maps to the key its latest version already has.

    Args:
        flow: The flow, as its module builds it.
        target: Where it goes.
        graph: The import graph of the checkout the flow was imported from.
        dependencies: Hash of what the image installs (changes mean a new version).

    Returns:
        The deployment.

    Raises:
        FlowModuleError: The flow is not defined in a module of the pipelines package.
    """
    module = defining_module(flow)
    deployable = flow.copy()
    deployable.name = deployed_name(flow.name, target.suffix)
    deployable.run_config = deployed_run_config(flow, target)
    digest = version_digest(graph, module, deployable.name, target, dependencies)
    key = storage_key(deployable.name, digest)
    deployable.storage = GCS(bucket=target.bucket, key=key)
    deployable.storage.add_flow(deployable)
    if deployable.result is None:  # as Flow.register does: task results go to the bucket
        deployable.result = deployable.storage.result
    return Deployment(deployable, module, flow.name, digest, key, graph, target)


def deployed_run_config(flow: Flow, target: Target) -> KubernetesRun:
    """The run config a version of `flow` gets at `target`: the target's image, labels (with
    the org's), pod environment and envFrom secret; the flow's own resources kept."""
    run_config = copy.deepcopy(flow.run_config)
    if not isinstance(run_config, KubernetesRun):
        run_config = KubernetesRun()
    run_config.image = target.image  # type: ignore[has-type]
    org = getattr(flow, "org", None)
    labels = set(run_config.labels or ()) if target.labels is None else set(target.labels)
    run_config.labels = labels | ({org_label(org)} if org else set())
    run_config.env = {**(run_config.env or {}), **dict(target.env)}
    if target.env_from_secret:  # added to the flow's own job template, if it has one
        own: dict[str, Any] | None = getattr(run_config, "job_template", None)
        run_config.job_template = env_from_secret_template(  # type: ignore[has-type]
            target.env_from_secret, own
        )
    return run_config


def env_from_secret_template(secret: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Kubernetes job template (the given one, copied) whose flow container, the first,
    also gets every key of `secret` as environment."""
    job = copy.deepcopy(template) if template else {"apiVersion": "batch/v1", "kind": "Job"}
    pod = job.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
    containers = pod.setdefault("containers", [])
    if not containers:
        containers.append({"name": "flow"})
    sources = containers[0].setdefault("envFrom", [])
    if {"secretRef": {"name": secret}} not in sources:
        sources.append({"secretRef": {"name": secret}})
    return job


def upload(deployment: Deployment, bucket: Any, data: bytes | None = None) -> bool:
    """Put the stored bytes in the bucket unless that key is already there, in one request:
    the object is created only if no object has the key (a generation-0 precondition), so
    bytes already stored are never replaced and no existence check goes first.

    Args:
        deployment: What to store.
        bucket: Where.
        data: Its stored bytes, when already built.

    Returns:
        Whether anything was uploaded.
    """
    from google.api_core.exceptions import PreconditionFailed

    blob = bucket.blob(deployment.key)
    try:
        blob.upload_from_string(
            data if data is not None else deployment.data(),
            content_type="application/json",
            if_generation_match=0,
        )
    except PreconditionFailed:  # the key holds these very bytes: it is content-addressed
        return False
    return True
