"""Targets: each kind of version is placed from settings in one place."""

from __future__ import annotations

import dataclasses

import pytest

from pipelines.settings import SettingsError, load_settings
from pipelines.utils.deploy.target import Target, build_target, check_target, target_problems

CLOUD = {
    "PREFECT__BACKEND": "server",
    "PREFECT__SERVER__ENDPOINT": "http://127.0.0.1:4200/graphql",
    "PIPELINES_FLOWS_BUCKET": "flows",
    "PIPELINES_IMAGE_REPOSITORY": "ghcr.io/city/pipelines",
    "PIPELINES_PROD_PROJECT": "main",
    "PIPELINES_DEV_PROJECT": "staging",
}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("production", Target("main", "flows", "ghcr.io/city/pipelines:deps-1", True, "")),
        (
            "staging",
            Target("staging", "flows", "ghcr.io/city/pipelines:deps-1", False, " (staging)"),
        ),
    ],
)
def test_register_targets(tmp_path, kind, expected):
    settings = load_settings(CLOUD, root=tmp_path)
    target = build_target(kind, settings, tag="deps-1")
    assert dataclasses.replace(target, env=()) == expected


def test_development_target_uses_the_flow_image_and_given_labels(tmp_path):
    settings = load_settings({**CLOUD, "PIPELINES_FLOW_IMAGE": "img:2"}, root=tmp_path)
    target = dataclasses.replace(build_target("development", settings, labels=["b", "a"]), env=())
    assert target == Target("staging", "flows", "img:2", False, " (development)", ("a", "b"))


def test_check_target_names_every_missing_setting(tmp_path):
    settings = load_settings({"PREFECT__BACKEND": "cloud"}, root=tmp_path)
    with pytest.raises(SettingsError) as error:
        check_target("development", settings, "run_cloud needs:")
    lines = str(error.value).splitlines()
    assert lines[0] == "run_cloud needs:"
    named = [line.strip().split(":")[0].split("=")[0] for line in lines[1:]]
    assert {"PREFECT__BACKEND", "PIPELINES_FLOWS_BUCKET", "PIPELINES_FLOW_IMAGE"} <= set(named)
    assert lines[-1] == (
        "`python manage.py settings` shows every setting and where its value comes from."
    )


def test_pods_get_where_things_are_and_secret_references_never_secrets(tmp_path):
    from pipelines.emd.test_flow.flows import flow
    from pipelines.settings import REPO_ROOT
    from pipelines.utils.deploy.deployment import deployment_copy
    from pipelines.utils.deploy.graph import ModuleGraph

    values = {
        **CLOUD,
        "PIPELINES_ENV": "prod",
        "PIPELINES_FLOW_IMAGE": "img:3",
        "PIPELINES_DATALAKE_BUCKET": "lake",
        "PIPELINES_SECRETS_BACKEND": "vault",
        "PIPELINES_VAULT_ADDR": "https://vault.internal:8200",
        "PIPELINES_VAULT_AUTH": "token",
        "PIPELINES_VAULT_TOKEN": "hvs.root-token-of-ci",
        "PIPELINES_DB_SME": "secret:sme/postgres",
        "PIPELINES_DB_RAW": "postgresql://u:plain-password@h/db",
        "PIPELINES_K8S_SECRET_NAME": "pipelines-env",
    }
    target = build_target("production", load_settings(values, root=tmp_path), tag="deps-1")
    env = dict(target.env)
    assert env["PIPELINES_ENV"] == "prod" and env["PIPELINES_DATALAKE_BUCKET"] == "lake"
    assert env["PIPELINES_VAULT_ADDR"] == "https://vault.internal:8200"
    assert env["PIPELINES_VAULT_AUTH"] == "kubernetes"  # pods log in as themselves
    assert env["PIPELINES_DB_SME"] == "secret:sme/postgres"
    assert "PIPELINES_DB_RAW" not in env and "PIPELINES_VAULT_TOKEN" not in env
    deployed = deployment_copy(flow, target, ModuleGraph.build(REPO_ROOT)).flow
    assert deployed.run_config.env["PIPELINES_DB_SME"] == "secret:sme/postgres"
    container = deployed.run_config.job_template["spec"]["template"]["spec"]["containers"][0]
    assert container == {"name": "flow", "envFrom": [{"secretRef": {"name": "pipelines-env"}}]}
    stored = str(deployed.serialize())
    assert "plain-password" not in stored and "hvs.root-token-of-ci" not in stored


def test_how_pods_log_in_to_vault_is_checked_before_anything_is_deployed(tmp_path):
    with pytest.raises(SettingsError, match="PIPELINES_POD_VAULT_AUTH='password' .*is not one"):
        load_settings({**CLOUD, "PIPELINES_POD_VAULT_AUTH": "password"}, root=tmp_path)
    values = {"PIPELINES_POD_VAULT_AUTH": "token", "PIPELINES_SECRETS_BACKEND": "vault"}
    settings = load_settings({**CLOUD, "PIPELINES_FLOW_IMAGE": "img:3", **values}, root=tmp_path)
    assert any(
        p.startswith("PIPELINES_K8S_SECRET_NAME: PIPELINES_POD_VAULT_AUTH=token means the pods")
        for p in target_problems("production", settings)
    )


def test_pods_log_in_with_a_token_from_their_secret_when_told(tmp_path):
    values = {
        **CLOUD,
        "PIPELINES_FLOW_IMAGE": "img:3",
        "PIPELINES_SECRETS_BACKEND": "vault",
        "PIPELINES_VAULT_AUTH": "token",
        "PIPELINES_VAULT_TOKEN": "hvs.of-the-person-registering",
        "PIPELINES_POD_VAULT_AUTH": "token",
        "PIPELINES_K8S_SECRET_NAME": "pipelines-env",
    }
    settings = load_settings(values, root=tmp_path)
    assert not [p for p in target_problems("production", settings) if "VAULT" in p]
    env = dict(build_target("production", settings, tag="deps-1").env)
    assert env["PIPELINES_VAULT_AUTH"] == "token"
    assert "PIPELINES_VAULT_TOKEN" not in env  # the pods' own comes from their Secret
