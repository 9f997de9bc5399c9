"""Registering a version on Prefect Server: the one path `manage.py register` (CD) and
`run_cloud` take. The code goes to the flows bucket under its content key unless it is there
already; the version is created with that key as its idempotency key, so the same code sent
twice is one version."""

from __future__ import annotations

from typing import Any

from pipelines.errors import DeployError
from pipelines.utils.deploy.deployment import Deployment, upload
from pipelines.utils.deploy.serializer import Serializer
from pipelines.utils.server import Server


def project_id_of(server: Server, project: str) -> str:
    """The id of a Prefect project.

    Raises:
        DeployError: No project has that name (the message says how to create it).
    """
    found = server.project_id(project)
    if not found:
        raise DeployError(
            f"Prefect project {project!r} does not exist on the server: create it once with "
            f"`prefect create project {project!r}`."
        )
    return found


def prepare(deployment: Deployment, serialize: Serializer) -> tuple[bytes, str]:
    """The bytes stored for a version and its flow serialized as the server takes it (CPU
    work, done before the network)."""
    from prefect.utilities.graphql import compress

    return deployment.data(), compress(serialize(deployment.flow))


def send_version(
    server: Server,
    bucket: Any,
    deployment: Deployment,
    prepared: tuple[bytes, str],
    project_id: str,
    schedule_active: bool,
) -> tuple[bool, str]:
    """Upload the version's code (unless present) and create the version.

    Returns:
        (whether the code was uploaded, the version's flow id).
    """
    data, serialized = prepared
    uploaded = upload(deployment, bucket, data)
    return uploaded, server.create_flow(project_id, serialized, schedule_active, deployment.digest)
