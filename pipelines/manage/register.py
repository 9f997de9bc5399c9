"""Register flows idempotently: content-addressed storage keys, decided before any upload."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.manage.affected import Affected, dependency_hash
from pipelines.manage.discover import Repo
from pipelines.settings import load_settings
from pipelines.utils.deploy.graph import ModuleGraph
from pipelines.utils.deploy.target import Kind, Target, build_target, check_target

# One round trip for the latest versions of many flows (newest first per name).
_LATEST = """
query LatestVersions($project: String!, $names: [String!]) {
  flow(
    where: {project: {name: {_eq: $project}}, name: {_in: $names}, archived: {_eq: false}}
    order_by: {version: desc}
  ) { id name version storage }
}
"""
_BATCH = 250

_VERSION = """
query RegisteredVersion($id: uuid!) { flow_by_pk(id: $id) { id version } }
"""


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
    from pipelines.manage.inventory import load_modules

    loaded = []
    for item in affected:
        found = load_modules([item.module])
        if item.module in found.failed:
            detail = found.failed[item.module]
            report.outcomes.append(Outcome(item.module, item.module, "failed", detail, item))
            continue
        flows = [flow for _, flow in found.flows]
        if not flows and item.module.count(".") == 2:
            continue  # an org's own flows.py may hold none
        if not flows:
            report.outcomes.append(
                Outcome(item.module, item.module, "failed", "defines no Flow", item)
            )
        loaded += [(item, flow) for flow in flows]
    return loaded


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
    from google.cloud import storage as gcs  # type: ignore[attr-defined]
    from prefect import Client

    from pipelines.utils.deploy.deployment import deployed_name, deployment_copy, upload

    client = Client()
    bucket = gcs.Client().bucket(target.bucket)
    deps = dependency_hash(repo.root)
    total = len(loaded)
    names = [deployed_name(original.name, target.suffix) for _, original in loaded]
    newest: dict[str, dict[str, Any]] = {}
    for start in range(0, len(names), _BATCH):
        variables: dict[str, Any] = {
            "project": target.project,
            "names": names[start : start + _BATCH],
        }
        for version in client.graphql(_LATEST, variables=variables)["data"]["flow"]:
            newest.setdefault(version["name"], version)  # ordered newest first
    for index, (item, original) in enumerate(loaded, start=1):
        name = deployed_name(original.name, target.suffix)
        outcome = Outcome(name, item.module, "failed", affected=item)
        report.outcomes.append(outcome)
        progress(f"[{index}/{total}] {name} ...")
        try:
            problem = checkout_path_in_defaults(original, repo.root)
            if problem:
                raise ValueError(problem)
            deployment = deployment_copy(original, target, graph, deps)
            previous = newest.get(name)
            stored = ((previous or {}).get("storage") or {}).get("flows", {}).get(name)
            if previous and stored == deployment.key:
                outcome.status, outcome.detail = "skipped", "unchanged"
                outcome.flow_id, outcome.version = previous["id"], previous["version"]
                progress(f"[{index}/{total}] {name}: skipped (unchanged, v{previous['version']})")
                continue
            outcome.uploaded = upload(deployment, bucket)
            flow_id = client.register(
                deployment.flow,
                project_name=target.project,
                build=False,
                set_schedule_active=target.schedule_active,
                idempotency_key=deployment.digest,
                no_url=True,
            )
            # The version the server gave, not one computed here: archived versions count too.
            given = client.graphql(_VERSION, variables={"id": flow_id})["data"]["flow_by_pk"]
            outcome.flow_id, outcome.version = flow_id, given["version"]
            unchanged = previous and previous["id"] == flow_id
            outcome.status = "skipped" if unchanged else "registered"
            progress(f"[{index}/{total}] {name}: {outcome.status} v{outcome.version} ({flow_id})")
        except Exception as error:  # recorded; the other flows still register
            outcome.detail = f"{type(error).__name__}: {error}"
            progress(f"[{index}/{total}] {name}: FAILED: {outcome.detail}")
    return report


def checkout_path_in_defaults(flow: Any, root: Path) -> str | None:
    """A problem when a parameter default holds a path of this checkout.

    Defaults are stored on the server and used by every run; a path computed from __file__
    at import names the registering machine's checkout, which the flow-run pod does not have.
    """
    checkout = str(root.resolve())
    for parameter in flow.parameters():
        if checkout in repr(parameter.default):
            return (
                f"parameter {parameter.name!r} defaults to a path inside this checkout "
                f"({parameter.default!r}); runs elsewhere cannot read it. Give a path relative "
                "to the repo root (read at run time) or compute it inside a task."
            )
    return None


def register_target(repo: Repo, staging: bool, tag: str) -> Target:
    """Where `register` puts versions: the production project (or, staging, the development
    one) and the image <PIPELINES_IMAGE_REPOSITORY>:<tag> unless PIPELINES_FLOW_IMAGE is set.

    Raises:
        SettingsError: Naming every missing setting and variable, before any request.
    """
    settings = load_settings(root=repo.root)
    kind: Kind = "staging" if staging else "production"
    check_target(kind, settings, "register needs:")
    return build_target(kind, settings, tag=tag)
