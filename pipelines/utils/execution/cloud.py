"""run_cloud: register a development version on Prefect Server and start a run of it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prefect import Client, Flow

from pipelines.constants import DEV_FLOW_SUFFIX
from pipelines.settings import REPO_ROOT, Settings
from pipelines.utils.context import current_settings
from pipelines.utils.deploy.deployment import Deployment, deployed_name, deployment_copy
from pipelines.utils.deploy.graph import ModuleGraph
from pipelines.utils.deploy.registration import prepare, project_id_of, send_version
from pipelines.utils.deploy.serializer import Serializer
from pipelines.utils.deploy.target import build_target, check_target
from pipelines.utils.execution.dev_flows import archive_other_versions
from pipelines.utils.execution.parameters import check_parameters
from pipelines.utils.server import Server
from pipelines.utils.server.context import run_page

_NEEDS = "run_cloud needs these environment variables (docs/cloud.md says what each is):"


def development_name(name: str) -> str:
    """The name of a flow's development version, e.g. 'emd: test_flow (development)'."""
    return deployed_name(name, DEV_FLOW_SUFFIX)


def development_copy(flow: Flow, labels: Iterable[str], settings: Settings) -> Deployment:
    """The development version of flow, with the code of this checkout; flow is unchanged."""
    graph = ModuleGraph.build(REPO_ROOT)  # the checkout the flow's code was imported from
    return deployment_copy(flow, build_target("development", settings, labels=labels), graph)


def run_cloud(
    flow: Flow,
    labels: Iterable[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    cleanup: bool = False,
    settings: Settings | None = None,
) -> str:
    """Register a development version of a flow on Prefect Server and start a run.

    The version goes to the development project (PIPELINES_DEV_PROJECT) with GCS storage in
    PIPELINES_FLOWS_BUCKET, a KubernetesRun on PIPELINES_FLOW_IMAGE labelled with `labels`
    and the org's label, and its schedule switched off.

    Args:
        flow: The flow; it is not modified.
        labels: Agent labels the run must match, e.g. ["example"].
        parameters: Values for the flow's Parameters.
        cleanup: Archive the older development versions of this flow after submitting.
        settings: Settings to read instead of the environment and .env.

    Returns:
        The flow run id.

    Raises:
        SettingsError: Variables are missing (all of them listed) — before any network call.
        FlowParameterError: Unknown or missing parameters.
    """
    settings = settings or current_settings()
    check_target("development", settings, _NEEDS)
    labels = list(labels)
    given = check_parameters(flow, parameters)
    deployment = development_copy(flow, labels, settings)
    target = deployment.target
    dev = deployment.flow
    project, bucket = target.project, target.bucket
    # Imported here: run_local shares this package and never needs the 50 MB GCS client.
    from google.cloud import storage as gcs  # type: ignore[attr-defined]

    # The same path as manage.py register: one way a version is made.
    server = Server()
    prepared = prepare(deployment, Serializer())
    uploaded, flow_id = send_version(
        server, gcs.Client().bucket(bucket), deployment, prepared,
        project_id_of(server, project), schedule_active=False,
    )  # fmt: skip
    print(
        f"Uploaded {deployment.key} to {bucket}"
        if uploaded
        else f"Reusing {deployment.key}, already in {bucket} (same code)"
    )
    shown = sorted(getattr(dev.run_config, "labels", None) or ())
    print(f"Version {flow_id} of {dev.name!r} in project {project!r}, labels {shown}")
    client = Client()
    run_id = client.create_flow_run(flow_id=flow_id, parameters=given)
    page = run_page(settings.require("PIPELINES_PREFECT_UI_URL"), run_id)
    print(f"Run submitted, please check it at:\n{page}")
    if cleanup:
        archived = archive_other_versions(client, project, dev.name, keep=flow_id)
        print(f"Archived {len(archived)} older development version(s) of {dev.name!r}.")
    return run_id
