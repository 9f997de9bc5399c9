"""Where flows are deployed (production, staging, development), built from settings here only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipelines.constants import DEV_FLOW_SUFFIX, STAGING_FLOW_SUFFIX
from pipelines.errors import SettingsError
from pipelines.settings import CLOUD_VARIABLES, POD_SETTINGS, Settings

Kind = Literal["production", "staging", "development"]

# The Prefect project each kind of version goes to.
_PROJECT_SETTING: dict[str, str] = {
    "production": "PIPELINES_PROD_PROJECT",
    "staging": "PIPELINES_DEV_PROJECT",
    "development": "PIPELINES_DEV_PROJECT",
}
_SUFFIX: dict[str, str] = {
    "production": "",
    "staging": STAGING_FLOW_SUFFIX,
    "development": DEV_FLOW_SUFFIX,
}


@dataclass(frozen=True)
class Target:
    """Where and how flows are deployed: production (register), staging or development.

    Args:
        project: Prefect project.
        bucket: GCS bucket of the stored flows.
        image: Image of the flow-run pods.
        schedule_active: Whether the new version's schedule runs.
        suffix: Appended to flow names ('' in production, ' (staging)', ' (development)').
        labels: Agent labels of the runs; None keeps the flow's own. The org label is added.
        env: Environment of the flow-run pods: settings that are not secret (pod_environment).
        env_from_secret: A Kubernetes Secret whose keys the pods get as environment.
    """

    project: str
    bucket: str
    image: str
    schedule_active: bool
    suffix: str = ""
    labels: tuple[str, ...] | None = None
    env: tuple[tuple[str, str], ...] = ()
    env_from_secret: str | None = None


def pod_environment(settings: Settings) -> tuple[tuple[str, str], ...]:
    """The non-secret settings of the pods, sorted.

    Pods log in to Vault as PIPELINES_POD_VAULT_AUTH says (their service account by default),
    never with the registering person's token. A database URL or webhook goes in only as a
    `secret:<path>` reference, never as a value.
    """
    env = {name: settings.lookup(name) for name in POD_SETTINGS}
    if settings.get("PIPELINES_SECRETS_BACKEND") == "vault":
        env["PIPELINES_VAULT_AUTH"] = settings.get("PIPELINES_POD_VAULT_AUTH") or "kubernetes"
    for name, value in settings.values.items():
        is_reference = isinstance(value, str) and value.startswith("secret:")
        if is_reference and name.startswith(("PIPELINES_DB_", "PIPELINES_FAILURE_WEBHOOK_URL")):
            env[name] = value
    return tuple(sorted((k, v) for k, v in env.items() if v))


def project_of(kind: Kind, settings: Settings) -> str:
    """The Prefect project that `kind` versions go to."""
    return settings.require_named(_PROJECT_SETTING[kind])


def environment_problems(settings: Settings) -> list[str]:
    """Every missing or wrong variable a cloud call needs (Prefect, Google), each with its use."""
    problems = []
    for variable in CLOUD_VARIABLES:
        value = settings.environ.get(variable.name)
        if not value:
            where = (
                " (it is in .env, but must be exported)"
                if settings.values.get(variable.name)
                else ""
            )
            problems.append(f"{variable.name}: {variable.help}{where}")
        elif variable.name == "PREFECT__BACKEND" and value != "server":
            problems.append(f"PREFECT__BACKEND={value!r}: {variable.help}")
        elif variable.name == "GOOGLE_APPLICATION_CREDENTIALS" and not Path(value).is_file():
            problems.append(
                f"GOOGLE_APPLICATION_CREDENTIALS={value!r}: no such file. {variable.help}"
            )
    return problems


def target_problems(kind: Kind, settings: Settings) -> list[str]:
    """Everything missing to deploy `kind` versions: variables first, then settings.

    Development runs need PIPELINES_FLOW_IMAGE; register may instead build the image name
    from PIPELINES_IMAGE_REPOSITORY and the dependency tag.
    """
    problems = environment_problems(settings)
    if kind != "development" and settings.env == "local":
        # Its pods would run as local ones, and the watchdog's expectations go to a folder.
        problems.insert(
            0,
            "PIPELINES_ENV: is local (the default); register deploys to an environment: set "
            "PIPELINES_ENV=prod (or dev) with that environment's datalake and BigQuery "
            "settings (`register --dry-run` shows what would be registered, from anywhere).",
        )
    pod_auth = settings.get("PIPELINES_POD_VAULT_AUTH") or "kubernetes"  # its choices: settings
    if (
        pod_auth != "kubernetes"
        and settings.get("PIPELINES_SECRETS_BACKEND") == "vault"
        and not settings.get("PIPELINES_K8S_SECRET_NAME")
    ):
        problems.append(
            f"PIPELINES_K8S_SECRET_NAME: PIPELINES_POD_VAULT_AUTH={pod_auth} means the pods read "
            "their Vault credentials from a Kubernetes Secret; name it."
        )
    if not settings.get("PIPELINES_FLOWS_BUCKET"):
        problems.append(f"PIPELINES_FLOWS_BUCKET: {settings.purpose('PIPELINES_FLOWS_BUCKET')}")
    if kind == "development":
        if not settings.get("PIPELINES_FLOW_IMAGE"):
            problems.append(f"PIPELINES_FLOW_IMAGE: {settings.purpose('PIPELINES_FLOW_IMAGE')}")
    elif not settings.get("PIPELINES_FLOW_IMAGE") and not settings.get(
        "PIPELINES_IMAGE_REPOSITORY"
    ):
        problems.append(
            "PIPELINES_IMAGE_REPOSITORY (or PIPELINES_FLOW_IMAGE): "
            + settings.purpose("PIPELINES_IMAGE_REPOSITORY")
        )
    return problems


def check_target(kind: Kind, settings: Settings, heading: str) -> None:
    """Raise, naming everything missing to deploy `kind` versions, before any request.

    Args:
        kind: What is deployed.
        settings: The settings to read.
        heading: First line of the error, naming the caller (e.g. 'register needs:').

    Raises:
        SettingsError: Every missing setting and variable, one per line.
    """
    problems = target_problems(kind, settings)
    if problems:
        raise SettingsError(
            heading
            + "\n"
            + "\n".join(f"  {p}" for p in problems)
            + "\n`python manage.py settings` shows every setting and where its value comes from."
        )


def build_target(
    kind: Kind, settings: Settings, *, labels: Iterable[str] | None = None, tag: str = ""
) -> Target:
    """The target of `kind` from settings; the one place deployment decisions are read.

    Production versions keep their schedules on; staging and development ones are off.

    Args:
        kind: production (register), staging (register --staging) or development (run_cloud).
        settings: The settings to read.
        labels: Agent labels for the runs (development); None keeps each flow's own.
        tag: Image tag used with PIPELINES_IMAGE_REPOSITORY when PIPELINES_FLOW_IMAGE is unset.

    Returns:
        The target.

    Raises:
        SettingsError: A setting the target needs is missing.
    """
    image = settings.get("PIPELINES_FLOW_IMAGE")
    return Target(
        project=project_of(kind, settings),
        bucket=settings.require("PIPELINES_FLOWS_BUCKET"),
        image=image or f"{settings.require('PIPELINES_IMAGE_REPOSITORY')}:{tag}",
        schedule_active=kind == "production",
        suffix=_SUFFIX[kind],
        labels=None if labels is None else tuple(sorted(labels)),
        env=pod_environment(settings),
        env_from_secret=settings.get("PIPELINES_K8S_SECRET_NAME"),
    )
