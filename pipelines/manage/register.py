"""Register flows idempotently: content-addressed storage keys, decided before any upload."""

from __future__ import annotations

import enum
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.manage.affected import Affected, dependency_hash
from pipelines.manage.known_flows import KnownFlows
from pipelines.settings import load_settings
from pipelines.utils.deploy.graph import ModuleGraph
from pipelines.utils.deploy.target import Kind, Target, build_target, check_target
from pipelines.utils.inventory import Repo

if TYPE_CHECKING:
    from pipelines.utils.server import Server

# Uploads and registrations in flight while the next flows are built.
SENDERS = 4


class Status(enum.StrEnum):
    """What happened to one flow: every value `register` reports (and --json prints)."""

    REGISTERED = "registered"  # a new version
    SKIPPED = "skipped"  # its latest version has the same content: nothing sent
    FAILED = "failed"  # detail says why; the other flows went on
    WOULD_REGISTER = "would register"  # --dry-run: affected, importable, not sent


@dataclass
class Outcome:
    """What happened to one flow."""

    flow: str
    module: str
    status: Status
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
            data["bundle_modules"] = self.affected.modules
        if self.flow_id:
            data.update(flow_id=self.flow_id, version=self.version, uploaded=self.uploaded)
        return data


@dataclass
class Report:
    """What one `register` did: an outcome per flow, and the flow files the change deleted."""

    outcomes: list[Outcome] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    dry_run: bool = False
    # Production only: where the flows' freshness and cadences went for the watchdog, or
    # why they did not (a failure: the watchdog would judge by old promises).
    expectations: str = ""
    expectations_failed: bool = False

    @property
    def uploads(self) -> int:
        return sum(o.uploaded for o in self.outcomes)

    def count(self, status: Status) -> int:
        return sum(o.status == status for o in self.outcomes)


def register(
    repo: Repo,
    *,
    since: str | None = None,
    all_flows: bool = False,
    staging: bool = False,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> Report:
    """Register the flows a change affects (every flow with all_flows) on Prefect Server.

    A flow is affected when a file in its static import closure changed since `since`. A flow
    whose latest version has the same content uploads nothing and creates no version; one that
    fails is recorded and the others go on.

    Args:
        repo: The checkout to register from.
        since: The revision this branch is compared with (what it changed since leaving it).
        all_flows: Every flow, whatever changed (instead of since).
        staging: The development project (names suffixed) instead of production.
        dry_run: Decide and import, send nothing (outcomes are WOULD_REGISTER).
        progress: Called with a line as each flow is decided.

    Raises:
        ValueError: Neither or both of since and all_flows.
        SettingsError: The target's settings are missing (before any request).
        CommandError: since is no revision of this repository.
    """
    from pipelines.manage.affected import affected_flows, changed_files, image_tag

    if all_flows == bool(since):
        raise ValueError("Pass exactly one of all_flows or since.")
    graph = ModuleGraph.build(repo.root)
    changed = None if all_flows else changed_files(repo.root, since or "")
    affected, deleted = affected_flows(repo, graph, changed)
    report = Report(deleted=[str(path) for path in deleted], dry_run=dry_run)
    for path in report.deleted:
        progress(f"removed: {path} is gone; archive its flows in the UI (nothing to register).")
    target = None if dry_run else register_target(repo, staging, image_tag(repo.root))
    known = KnownFlows(repo.root)
    if target is not None:  # flows known unchanged are decided without importing them
        affected = skip_known_unchanged(repo, graph, known, affected, target, report, progress)
    loaded = load_flows(affected, report)
    remember_flows(graph, known, affected, loaded, report)
    if target is None:
        for item, flow in loaded:
            outcome = Outcome(flow.name, item.module, Status.WOULD_REGISTER, affected=item)
            report.outcomes.append(outcome)
    else:
        register_all(repo, graph, loaded, target, report, progress=progress)
        if not staging:
            publish_expectations(repo, loaded, report)
    return report


def publish_expectations(repo: Repo, loaded: list[tuple[Affected, Any]], report: Report) -> None:
    """Update the expectations the watchdog reads (pipelines.utils.health.snapshot) with the
    flows this register loaded; modules it skipped unchanged keep theirs."""
    from pipelines.utils.health import expectation_of, snapshot
    from pipelines.utils.health.dbt_sources import source_freshness
    from pipelines.utils.inventory import flow_modules
    from pipelines.utils.resources import resources

    modules: dict[str, list[Any]] = {}
    sources = source_freshness(repo.root / "queries")
    for item, flow in loaded:
        modules.setdefault(item.module, []).append(expectation_of(flow, sources))
    try:
        lake = resources(load_settings(root=repo.root)).datalake()
        current = snapshot.read_json(lake, snapshot.EXPECTATIONS_KEY)
        live = [m.module for m in flow_modules(repo)]
        merged = snapshot.merged_expectations(current, modules, live)
        if merged != current:
            snapshot.write_json(lake, snapshot.EXPECTATIONS_KEY, merged)
        where = lake.uri(snapshot.EXPECTATIONS_KEY)
    except Exception as error:  # reported, and the command fails after its report
        report.expectations = (
            f"the watchdog's expectations were not published: {type(error).__name__}: {error}"
        )
        report.expectations_failed = True
        return
    report.expectations = f"expectations of {len(merged['flows'])} flow(s) published to {where}"


def load_flows(affected: list[Affected], report: Report) -> list[tuple[Affected, Any]]:
    """Import each affected module; an import error is a failed outcome, not a stop."""
    from pipelines.manage.inventory import load_modules

    loaded = []
    for item in affected:
        found = load_modules([item.module])
        if item.module in found.failed:
            detail = found.failed[item.module]
            report.outcomes.append(Outcome(item.module, item.module, Status.FAILED, detail, item))
            continue
        flows = [flow for _, flow in found.flows]
        if not flows and item.module.count(".") == 2:
            continue  # an org's own flows.py may hold none
        if not flows:
            report.outcomes.append(
                Outcome(item.module, item.module, Status.FAILED, "defines no Flow", item)
            )
        loaded += [(item, flow) for flow in flows]
    return loaded


def skip_known_unchanged(
    repo: Repo,
    graph: ModuleGraph,
    known: KnownFlows,
    affected: list[Affected],
    target: Target,
    report: Report,
    progress: Callable[[str], None],
) -> list[Affected]:
    """Skip, without importing them, the modules whose flows' latest versions already have
    this checkout's keys; returns the modules still to import.

    A module's flow names come from KnownFlows (what importing the same code found before);
    its flows' keys are computed from files, and the latest versions are read in batches.
    A module is skipped only when every one of its flows is unchanged.
    """
    from pipelines.utils.deploy.keys import deployed_name, storage_key, version_digest

    deps = dependency_hash(repo.root)
    expected: dict[str, list[tuple[str, str]]] = {}  # module -> [(deployed name, key)]
    rest: list[Affected] = []
    for item in affected:
        flows = known.get(graph, item.module)
        if flows is None:
            rest.append(item)
            continue
        expected[item.module] = []
        for name, where in flows:
            deployed = deployed_name(name, target.suffix)
            digest = version_digest(graph, where, deployed, target, deps)
            expected[item.module].append((deployed, storage_key(deployed, digest)))
    if not expected:
        return affected
    newest = latest_versions(target, [n for flows in expected.values() for n, _ in flows])
    for item in affected:
        flows = expected.get(item.module)
        if flows is None:
            continue
        if not all(_stored_key(newest.get(name), name) == key for name, key in flows):
            rest.append(item)  # changed (or never registered): imported and decided as usual
            continue
        for name, _ in flows:
            previous = newest[name]
            report.outcomes.append(
                Outcome(
                    name,
                    item.module,
                    Status.SKIPPED,
                    "unchanged",
                    item,
                    flow_id=previous["id"],
                    version=previous["version"],
                )
            )
            progress(f"{name}: skipped (unchanged, v{previous['version']})")
    order = {item.module: index for index, item in enumerate(affected)}
    return sorted(rest, key=lambda item: order[item.module])


def remember_flows(
    graph: ModuleGraph,
    known: KnownFlows,
    affected: list[Affected],
    loaded: list[tuple[Affected, Any]],
    report: Report,
) -> None:
    """Record which flows each module imported without error defined (none, for an org's
    flows.py that lists none), for skip_known_unchanged."""
    from pipelines.errors import FlowModuleError
    from pipelines.utils.deploy.bundle import defining_module

    failed = {o.module for o in report.outcomes if o.status == Status.FAILED}
    by_module: dict[str, list[tuple[str, str]]] = {
        item.module: [] for item in affected if item.module not in failed
    }
    broken: set[str] = set()
    for item, flow in loaded:
        try:
            by_module[item.module].append((flow.name, defining_module(flow)))
        except FlowModuleError:  # reported when it is registered; never remembered
            broken.add(item.module)
    for module, flows in by_module.items():
        if module not in broken:
            known.record(graph, module, flows)
    known.save()


def _stored_key(version: dict[str, Any] | None, name: str) -> str | None:
    return ((version or {}).get("storage") or {}).get("flows", {}).get(name)


def latest_versions(target: Target, names: list[str]) -> dict[str, Any]:
    """The latest unarchived version of each named flow in the target's project (id, name,
    version, storage)."""
    from pipelines.utils.server import Server

    return Server().latest_versions(target.project, names)


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
    if not loaded:
        return report
    from google.cloud import storage as gcs  # type: ignore[attr-defined]

    from pipelines.utils.deploy.deployment import deployed_name, deployment_copy
    from pipelines.utils.deploy.registration import prepare, project_id_of, send_version
    from pipelines.utils.deploy.serializer import Serializer
    from pipelines.utils.server import Server

    server = Server()
    bucket = gcs.Client().bucket(target.bucket)
    deps = dependency_hash(repo.root)
    total = len(loaded)
    names = [deployed_name(original.name, target.suffix) for _, original in loaded]
    newest = server.latest_versions(target.project, names)
    project_id: str | None = None
    serialize = Serializer()
    created: list[tuple[Outcome, dict[str, Any] | None]] = []
    pool = ThreadPoolExecutor(SENDERS)
    sending: dict[Future, tuple[int, Outcome, dict[str, Any] | None]] = {}

    def send(deployment: Any, prepared: tuple[bytes, str], project_id: str) -> tuple[bool, str]:
        return send_version(
            server, bucket, deployment, prepared, project_id, target.schedule_active
        )

    def fail(index: int, outcome: Outcome, error: Exception) -> None:
        outcome.detail = f"{type(error).__name__}: {error}"
        progress(f"[{index}/{total}] {outcome.flow}: FAILED: {outcome.detail}")

    for index, (item, original) in enumerate(loaded, start=1):
        name = deployed_name(original.name, target.suffix)
        outcome = Outcome(name, item.module, Status.FAILED, affected=item)
        report.outcomes.append(outcome)
        progress(f"[{index}/{total}] {name} ...")
        try:
            problem = checkout_path_in_defaults(original, repo.root)
            if problem:
                raise ValueError(problem)
            deployment = deployment_copy(original, target, graph, deps)
            previous = newest.get(name)
            if previous and _stored_key(previous, name) == deployment.key:
                outcome.status, outcome.detail = Status.SKIPPED, "unchanged"
                outcome.flow_id, outcome.version = previous["id"], previous["version"]
                progress(f"[{index}/{total}] {name}: skipped (unchanged, v{previous['version']})")
                continue
            project_id = project_id or project_id_of(server, target.project)
            # Built here (CPU), sent by the pool (waiting): the next flow is built meanwhile.
            prepared = prepare(deployment, serialize)
            sending[pool.submit(send, deployment, prepared, project_id)] = (
                index,
                outcome,
                previous,
            )
        except Exception as error:  # recorded; the other flows still register
            fail(index, outcome, error)
    pool.shutdown(wait=True)
    for future, (index, outcome, previous) in sending.items():
        try:
            outcome.uploaded, outcome.flow_id = future.result()
        except Exception as error:  # recorded; the other flows still register
            fail(index, outcome, error)
            continue
        created.append((outcome, previous))
        progress(f"[{index}/{total}] {outcome.flow}: sent ({outcome.flow_id})")
    _record_versions(server, created, progress)
    return report


def _record_versions(
    server: Server,
    created: list[tuple[Outcome, dict[str, Any] | None]],
    progress: Callable[[str], None],
) -> None:
    """Read the versions the server gave (archived versions count too, so they are not
    computed here), a batch of flows per request; an id equal to the latest version's means
    the server found the same idempotency key: nothing new was registered."""
    versions = server.versions(outcome.flow_id for outcome, _ in created if outcome.flow_id)
    for outcome, previous in created:
        assert outcome.flow_id is not None
        outcome.version = versions.get(outcome.flow_id)
        unchanged = previous is not None and previous["id"] == outcome.flow_id
        outcome.status = Status.SKIPPED if unchanged else Status.REGISTERED
        progress(f"{outcome.flow}: {outcome.status} v{outcome.version} ({outcome.flow_id})")


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


def credential_defaults(flow: Any) -> list[str]:
    """A problem for each parameter whose default is a credential: defaults are stored on the
    server, shown in its UI and published in the catalog."""
    from pipelines.utils.redaction import is_credential

    return [
        f"parameter {parameter.name!r} has a credential as its default (a password, token or "
        "key, or a URL holding one); defaults are stored on the server and shown in the "
        "catalog. Read it at run time from a setting (PIPELINES_DB_<NAME> for a database) or "
        "a secret (get_secret), and drop the default."
        for parameter in flow.parameters()
        if not parameter.required and is_credential(parameter.name, parameter.default)
    ]


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
