"""run_cloud against fake-gcs-server and PrefectTestServer, through Prefect's own Client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.run_configs import KubernetesRun
from prefect.serialization.storage import StorageSchema

from pipelines.emd.test_flow.flows import flow as test_flow
from pipelines.settings import SettingsError, load_settings
from pipelines.utils.execution.cloud import development_copy, run_cloud
from tests.conftest import REPO_ROOT

README_EXAMPLE = """\
from pipelines.emd.utils import run_cloud
from pipelines.emd.test_flow.flows import flow

run_cloud(flow, labels=["example"], parameters={"param": "val"})
"""
CLOUD_KEYS = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "PREFECT__BACKEND",
    "PREFECT__SERVER__HOST",
    "PREFECT__SERVER__PORT",
    "PIPELINES_FLOWS_BUCKET",
    "PIPELINES_FLOW_IMAGE",
)


def python(code: str, env: dict[str, str], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def test_seed_snippet_without_environment_names_every_missing_variable(prefect_server):
    env = {k: v for k, v in os.environ.items() if k not in CLOUD_KEYS}
    result = python(README_EXAMPLE, env)
    assert result.returncode != 0
    for key in CLOUD_KEYS:  # Prefect's backend is Prefect Server unless set otherwise
        assert (key in result.stderr) == (key != "PREFECT__BACKEND"), key
    assert "run_cloud needs these environment variables" in result.stderr
    assert prefect_server.requests == []


def test_missing_pieces_fail_before_any_request(cloud_env, prefect_server):
    env = {**cloud_env, "PREFECT__BACKEND": "cloud"}
    env.pop("PIPELINES_FLOW_IMAGE")
    env["GOOGLE_APPLICATION_CREDENTIALS"] = "/nowhere/key.json"
    result = python(README_EXAMPLE, env)
    assert result.returncode != 0
    assert "PREFECT__BACKEND='cloud': Prefect backend; must be 'server'." in result.stderr
    assert "GOOGLE_APPLICATION_CREDENTIALS='/nowhere/key.json': no such file." in result.stderr
    assert "PIPELINES_FLOW_IMAGE: Docker image that runs flows on Kubernetes." in result.stderr
    assert prefect_server.requests == []


def test_seed_snippet_registers_a_development_version_and_starts_a_run(cloud_env, prefect_server):
    result = python(README_EXAMPLE, cloud_env)
    assert result.returncode == 0, result.stdout + result.stderr

    ((flow_id, registered),) = prefect_server.flows.items()
    ((run_id, run),) = prefect_server.flow_runs.items()
    assert (
        f"Version {flow_id} of 'emd: test_flow (development)' in project 'staging', "
        f"labels ['emd', 'example']\n"
        f"Run submitted, please check it at:\n"
        f"http://prefect-ui.prefect.svc.cluster.local:8080/flow-run/{run_id}\n"
    ) in result.stdout
    assert "Uploaded emd-test-flow-development/" in result.stdout + result.stderr
    assert f"to {cloud_env['PIPELINES_FLOWS_BUCKET']}" in result.stdout + result.stderr
    assert run["flow_id"] == flow_id and run["parameters"] == {"param": "val"}

    serialized = registered["serialized_flow"]
    assert registered["name"] == "emd: test_flow (development)"
    assert prefect_server.project_name(registered) == "staging"
    assert registered["is_schedule_active"] is False
    assert not prefect_server.calls("set_schedule_active")
    assert serialized["storage"]["type"] == "GCS"
    assert serialized["storage"]["bucket"] == cloud_env["PIPELINES_FLOWS_BUCKET"]
    assert serialized["run_config"]["type"] == "KubernetesRun"
    assert serialized["run_config"]["image"] == "ghcr.io/city/pipelines:deps-abc123"
    assert sorted(serialized["run_config"]["labels"]) == ["emd", "example"]

    # Load the flow back from the emulator bucket the way an agent does, and run it.
    loader = (
        "import json, sys\n"
        "from prefect.serialization.storage import StorageSchema\n"
        "storage = StorageSchema().load(json.loads(sys.stdin.read()))\n"
        "flow = storage.get_flow('emd: test_flow (development)')\n"
        "state = flow.run(parameters={'param': 'val'}, run_on_schedule=False)\n"
        "print('LOADED', type(flow).__name__, state.is_successful())\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", loader], input=json.dumps(serialized["storage"]), cwd=REPO_ROOT,
        env=cloud_env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert "LOADED PipelineFlow True" in loaded.stdout, loaded.stdout + loaded.stderr
    assert StorageSchema  # the schema the agent uses, imported here for readers


def test_cleanup_archives_older_development_versions(cloud_env, prefect_server):
    code = README_EXAMPLE.replace("})", "}, cleanup=True)")
    # The same code twice is one version (registered the way manage.py register does); other
    # labels make another, and the older one is archived.
    for _ in range(2):
        assert python(code, cloud_env).returncode == 0
    assert len(prefect_server.flows) == 1 and len(prefect_server.flow_runs) == 2
    assert python(code.replace('["example"]', '["other"]'), cloud_env).returncode == 0
    other = {**cloud_env}
    python(
        README_EXAMPLE.replace("test_flow", "template_pipeline").replace(
            'parameters={"param": "val"}', "parameters={}"
        ),
        other,
    )
    versions = sorted(
        (f["name"], f["version"], f["archived"]) for f in prefect_server.flows.values()
    )
    assert versions == [
        ("emd: template_pipeline (development)", 1, False),
        ("emd: test_flow (development)", 1, True),
        ("emd: test_flow (development)", 2, False),
    ]


def manage(env: dict[str, str], *args: str, input: str | None = None):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, input=input,
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_dev_flows_list_and_delete(cloud_env, prefect_server):
    for project in ("test_flow", "template_pipeline"):
        code = README_EXAMPLE.replace("test_flow", project).replace(
            'parameters={"param": "val"}', "parameters=None"
        )
        assert python(code, cloud_env).returncode == 0

    listed = manage(cloud_env, "dev-flows", "list")
    assert listed.returncode == 0, listed.stderr
    assert "2 development version(s) in project 'staging'." in listed.stdout
    assert "emd: template_pipeline (development)" in listed.stdout

    refused = manage(cloud_env, "dev-flows", "delete", "emd: test_flow", input="n\n")
    assert refused.returncode == 1
    assert "Nothing archived" in refused.stderr

    deleted = manage(cloud_env, "dev-flows", "delete", "emd: test_flow", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "Archived 1 development version(s) in 'staging'." in deleted.stdout
    archived = {f["name"]: f["archived"] for f in prefect_server.flows.values()}
    assert archived == {
        "emd: test_flow (development)": True,
        "emd: template_pipeline (development)": False,
    }
    assert "1 development version(s)" in manage(cloud_env, "dev-flows", "list").stdout
    assert manage(cloud_env, "dev-flows", "delete", "--yes").returncode == 0
    assert all(f["archived"] for f in prefect_server.flows.values())


def test_dev_flows_delete_matches_the_name_exactly(cloud_env, prefect_server):
    # "_" is a LIKE wildcard: a pattern match on the name would take this one too.
    lookalike = prefect_server.plant_flow("emd: test1flow (development)", "staging")
    assert python(README_EXAMPLE, cloud_env).returncode == 0
    deleted = manage(cloud_env, "dev-flows", "delete", "emd: test_flow", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "Archived 1 development version(s) in 'staging'." in deleted.stdout
    assert prefect_server.flows[lookalike]["archived"] is False


def test_development_copy_leaves_the_flow_unchanged(tmp_path):
    settings = load_settings(
        {"PIPELINES_FLOWS_BUCKET": "bucket", "PIPELINES_FLOW_IMAGE": "image:1"}, root=tmp_path
    )
    before = (test_flow.name, test_flow.storage, test_flow.run_config, test_flow.schedule)
    labels_before = set(test_flow.run_config.labels)

    dev = development_copy(test_flow, ["example"], settings).flow

    assert (test_flow.name, test_flow.storage, test_flow.run_config, test_flow.schedule) == before
    assert set(test_flow.run_config.labels) == labels_before
    assert dev.name == "emd: test_flow (development)"
    assert isinstance(dev.run_config, KubernetesRun) and dev.run_config.image == "image:1"
    assert dev.run_config.labels == {"emd", "example"}
    assert dev.storage.bucket == "bucket"


def test_run_cloud_in_process_fails_before_network_with_all_names(tmp_path):
    with pytest.raises(SettingsError) as error:
        run_cloud(test_flow, ["example"], settings=load_settings({}, root=tmp_path))
    for key in CLOUD_KEYS:
        assert key in str(error.value)
