"""Register flows idempotently: content-addressed storage keys, decided before any upload."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.manage.affected import Affected, dependency_hash
from pipelines.manage.discover import Repo
from pipelines.manage.imports import ModuleGraph

_LATEST = """
query LatestVersion($project: String!, $name: String!) {
  flow(
    where: {project: {name: {_eq: $project}}, name: {_eq: $name}, archived: {_eq: false}}
    order_by: {version: desc}
    limit: 1
  ) { id version storage }
}
"""

_VERSION = """
query RegisteredVersion($id: uuid!) { flow_by_pk(id: $id) { id version } }
"""


@dataclass(frozen=True)
class Target:
    """Where and how flows are registered."""

    project: str
    bucket: str
    image: str
    schedule_active: bool
    development: bool  # staging: names get STAGING_FLOW_SUFFIX


@dataclass
class Outcome:
    """What happened to one flow."""

    flow: str
    module: str
    status: str  # registered | skipped | failed
    detail: str = ""
    affected: Affected | None = None
    flow_id: str | None = None
    version: int | None = None
    uploaded: bool = False

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"flow": self.flow, "module": self.module, "status": self.status}
        if self.detail:
            data["detail"] = self.detail
        if self.affected:
            data["reason"] = self.affected.reason
            data["changed"] = self.affected.changed
            data["via"] = list(self.affected.via)
        if self.flow_id:
            data.update(flow_id=self.flow_id, version=self.version, uploaded=self.uploaded)
        return data


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def uploads(self) -> int:
        return sum(o.uploaded for o in self.outcomes)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)


def load_flows(affected: list[Affected], report: Report) -> list[tuple[Affected, Any]]:
    """Import each affected module; an import error is a failed outcome, not a stop."""
    from pipelines.manage.loading import flows_in, import_project_module

    loaded = []
    for item in affected:
        try:
            module = import_project_module(item.module)
        except Exception as error:
            report.outcomes.append(
                Outcome(
                    item.module, item.module, "failed", f"{type(error).__name__}: {error}", item
                )
            )
            continue
        flows = list(flows_in(module).values())
        if not flows:
            report.outcomes.append(
                Outcome(item.module, item.module, "failed", "defines no Flow", item)
            )
        loaded += [(item, flow) for flow in flows]
    return loaded


def content_hash(graph: ModuleGraph, module: str, flow_name: str, target: Target, deps: str) -> str:
    """Hash of everything a registered version depends on; equal hash, same version."""
    digest = hashlib.sha256()
    for path in graph.closure_files(module):
        digest.update(str(path.relative_to(graph.root)).encode() + b"\0")
        digest.update(graph.digest(path))
    digest.update(deps.encode())
    digest.update(json.dumps([flow_name, target.__dict__], sort_keys=True).encode())
    return digest.hexdigest()


def storage_key(flow_name: str, digest: str) -> str:
    from slugify import slugify

    return f"{slugify(flow_name)}/{digest[:32]}.pickle"


def register_all(
    repo: Repo,
    graph: ModuleGraph,
    loaded: list[tuple[Affected, Any]],
    target: Target,
    report: Report,
    progress: Callable[[str], None],
) -> Report:
    """Register each flow unless its latest version already has the same content.

    Each flow is decided before anything is built: the latest version's storage key is
    compared with the content-addressed key; an existing object in the bucket is not uploaded
    again. A failure is recorded and the next flow goes on.
    """
    import cloudpickle
    from google.cloud import storage as gcs  # type: ignore[attr-defined]
    from prefect import Client
    from prefect.run_configs import KubernetesRun
    from prefect.storage import GCS

    import pipelines
    from pipelines.constants import STAGING_FLOW_SUFFIX
    from pipelines.utils.execution.cloud import development_name
    from pipelines.utils.flow_defaults import org_label

    # Code travels inside the pickle, so the image only needs the dependencies.
    cloudpickle.register_pickle_by_value(pipelines)
    client = Client()
    bucket = gcs.Client().bucket(target.bucket)
    deps = dependency_hash(repo.root)
    total = len(loaded)
    for index, (item, original) in enumerate(loaded, start=1):
        flow = original.copy()
        if target.development:
            flow.name = development_name(flow.name, STAGING_FLOW_SUFFIX)
        outcome = Outcome(flow.name, item.module, "failed", affected=item)
        report.outcomes.append(outcome)
        progress(f"[{index}/{total}] {flow.name} ...")
        try:
            digest = content_hash(graph, item.module, flow.name, target, deps)
            key = storage_key(flow.name, digest)
            latest = client.graphql(
                _LATEST, variables={"project": target.project, "name": flow.name}
            )
            versions = latest["data"]["flow"]
            previous = versions[0] if versions else None
            stored = ((previous or {}).get("storage") or {}).get("flows", {}).get(flow.name)
            if previous and stored == key:
                outcome.status, outcome.detail = "skipped", "unchanged"
                outcome.flow_id, outcome.version = previous["id"], previous["version"]
                progress(
                    f"[{index}/{total}] {flow.name}: skipped (unchanged, v{previous['version']})"
                )
                continue
            org = getattr(original, "org", None)
            # A copy: the flow object in the module keeps its own run config.
            run_config = copy.deepcopy(flow.run_config)
            if not isinstance(run_config, KubernetesRun):
                run_config = KubernetesRun()
            run_config.image = target.image  # type: ignore[has-type]
            run_config.labels = set(run_config.labels or ()) | ({org_label(org)} if org else set())
            flow.run_config = run_config
            flow.storage = GCS(bucket=target.bucket, key=key)
            flow.storage.add_flow(flow)
            if not bucket.blob(key).exists():
                flow.storage.build()
                outcome.uploaded = True
            flow_id = client.register(
                flow,
                project_name=target.project,
                build=False,
                set_schedule_active=target.schedule_active,
                idempotency_key=digest,
                no_url=True,
            )
            # The version the server gave, not one computed here: archived versions count too.
            given = client.graphql(_VERSION, variables={"id": flow_id})["data"]["flow_by_pk"]
            outcome.flow_id, outcome.version = flow_id, given["version"]
            unchanged = previous and previous["id"] == flow_id
            outcome.status = "skipped" if unchanged else "registered"
            progress(
                f"[{index}/{total}] {flow.name}: {outcome.status} v{outcome.version} ({flow_id})"
            )
        except Exception as error:  # recorded; the other flows still register
            outcome.detail = f"{type(error).__name__}: {error}"
            progress(f"[{index}/{total}] {flow.name}: FAILED: {outcome.detail}")
    return report
