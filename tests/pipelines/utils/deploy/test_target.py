"""Targets: each kind of version is placed from settings in one place."""

from __future__ import annotations

import pytest

from pipelines.settings import SettingsError, load_settings
from pipelines.utils.deploy.target import Target, build_target, check_target

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
    assert build_target(kind, settings, tag="deps-1") == expected


def test_development_target_uses_the_flow_image_and_given_labels(tmp_path):
    settings = load_settings({**CLOUD, "PIPELINES_FLOW_IMAGE": "img:2"}, root=tmp_path)
    target = build_target("development", settings, labels=["b", "a"])
    assert target == Target("staging", "flows", "img:2", False, " (development)", ("a", "b"))


def test_check_target_names_every_missing_setting(tmp_path):
    settings = load_settings({"PREFECT__BACKEND": "cloud"}, root=tmp_path)
    with pytest.raises(SettingsError) as error:
        check_target("development", settings, "run_cloud needs:")
    lines = str(error.value).splitlines()
    assert lines[0] == "run_cloud needs:"
    named = [line.strip().split(":")[0].split("=")[0] for line in lines[1:]]
    assert {"PREFECT__BACKEND", "PIPELINES_FLOWS_BUCKET", "PIPELINES_FLOW_IMAGE"} <= set(named)
