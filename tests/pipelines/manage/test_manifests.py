"""Every flow's Kubernetes Job, as Prefect's agent makes it, validates; sizes reach the pod."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
from kubernetes_validate.utils import latest_version
from prefect.run_configs import KubernetesRun

from pipelines.errors import ResourceError
from pipelines.manage.inventory import load_repo_flows
from pipelines.manage.manifests import check_target, job_manifest, manifest_problems
from pipelines.utils.inventory import Repo
from pipelines.utils.pipeline_flow import PipelineFlow
from tests.conftest import REPO_ROOT


def check_copy(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def container(manifest: dict) -> dict:
    return manifest["spec"]["template"]["spec"]["containers"][0]


def test_every_flows_job_validates_strictly_on_kubernetes_1_25_and_the_newest():
    flows = load_repo_flows(Repo(REPO_ROOT)).flows
    assert len(flows) >= 7
    for _, flow in flows:
        manifest = job_manifest(flow, check_target())
        # The library's own entry point, as `kubernetes-validate --strict` runs it.
        for version in ("1.25", latest_version()):
            kubernetes_validate.validate(manifest, version, strict=True)
        assert manifest_problems(manifest) == []
        spec = container(manifest)
        assert spec["args"] == ["prefect", "execute", "flow-run"]
        assert spec["envFrom"] == [{"secretRef": {"name": "pipelines-env"}}]


def test_a_broken_job_is_found_on_every_version():
    from pipelines.emd.test_flow.flows import flow

    manifest = job_manifest(flow, check_target())
    container(manifest)["imagePullPolicy"] = 3
    manifest["spec"]["template"]["spec"]["restart"] = "Never"

    problems = manifest_problems(manifest)

    assert len(problems) == 4, problems
    assert any(
        "1.25: spec.template.spec: Additional properties are not allowed ('restart'" in p
        for p in problems
    )
    assert any(
        "spec.template.spec.containers.0.imagePullPolicy: 3 is not of type" in p for p in problems
    )


def test_check_reports_a_flow_whose_job_template_is_invalid(repo_copy: Path):
    flows = repo_copy / "pipelines/emd/test_flow/flows.py"
    flows.write_text(
        flows.read_text()
        .replace(
            "from prefect import Parameter\n",
            "from prefect import Parameter\nfrom prefect.run_configs import KubernetesRun\n",
        )
        .replace(
            "with PipelineFlow(",
            "TEMPLATE = {'apiVersion': 'batch/v1', 'kind': 'Job', 'spec': {'template': {'spec': "
            "{'containers': [{'name': 'flow', 'ports': 'all'}]}}}}\n\nwith PipelineFlow(",
        )
        .replace(
            "    code_owners=CODE_OWNERS,\n",
            "    code_owners=CODE_OWNERS,\n"
            "    run_config=KubernetesRun(labels=['emd'], job_template=TEMPLATE),\n",
            1,
        )
    )
    result = check_copy(repo_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "problem: pipelines.emd.test_flow.flows: flow 'emd: test_flow': its Kubernetes Job is "
        "invalid: Kubernetes 1.25: spec.template.spec.containers.0.ports: 'all' is not of type "
        "'array'"
    ) in result.stdout


def test_cpu_and_memory_reach_the_jobs_requests_and_limits():
    flow = PipelineFlow(
        "emd: sized", org="emd", cpu="500m", memory="2Gi", cpu_limit="2", memory_limit="3Gi"
    )
    resources = container(job_manifest(flow, check_target()))["resources"]
    assert resources == {
        "requests": {"cpu": "500m", "memory": "2Gi"},
        "limits": {"cpu": "2", "memory": "3Gi"},
    }
    unsized = container(job_manifest(PipelineFlow("emd: u", org="emd"), check_target()))
    assert unsized["resources"] == {"requests": {}, "limits": {}}


@pytest.mark.parametrize("bad", ["2GB", "1.5 Gi", "", "0", "-1Gi", "lots", "1Gb", "1e", "2 "])
def test_a_memory_that_is_not_a_quantity_is_refused_with_an_example(bad):
    with pytest.raises(ResourceError) as raised:
        PipelineFlow("emd: bad", org="emd", memory=bad)
    assert str(raised.value).startswith(f"flow 'emd: bad': memory={bad!r} ")
    assert "'512Mi' or '4Gi'" in str(raised.value) or "above zero" in str(raised.value)


@pytest.mark.parametrize("good", ["512Mi", "4Gi", "1G", "1e9", "128974848", "0.5Gi", "1.5Ti"])
def test_kubernetes_memory_quantities_are_accepted(good):
    assert PipelineFlow("emd: ok", org="emd", memory=good).run_config.memory_request == good


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"cpu": "2", "cpu_limit": "1"}, "cpu='2' is above cpu_limit='1'"),
        ({"memory": "4Gi", "memory_limit": "2Gi"}, "memory='4Gi' is above memory_limit='2Gi'"),
        ({"memory": "2000Mi", "memory_limit": "1.9G"}, "memory='2000Mi' is above"),
        ({"cpu": "1500m", "cpu_limit": "1.4"}, "cpu='1500m' is above cpu_limit='1.4'"),
    ],
)
def test_a_request_above_its_limit_is_refused(given, message):
    with pytest.raises(ResourceError, match=message):
        PipelineFlow("emd: swapped", org="emd", **given)


def test_check_refuses_swapped_sizes_set_on_the_run_config_directly(repo_copy: Path):
    flows = repo_copy / "pipelines/emd/test_flow/flows.py"
    flows.write_text(
        flows.read_text()
        + "\nflow.run_config.memory_request, flow.run_config.memory_limit = '8Gi', '1Gi'\n"
    )
    result = check_copy(repo_copy)
    assert result.returncode == 1
    assert (
        "problem: pipelines.emd.test_flow.flows: flow 'emd: test_flow': memory='8Gi' is above "
        "memory_limit='1Gi'"
    ) in result.stdout


def test_an_explicit_run_config_keeps_the_flows_sizes():
    flow = PipelineFlow(
        "emd: own", org="emd", memory="1Gi", run_config=KubernetesRun(labels=["emd", "gpu"])
    )
    assert flow.run_config.memory_request == "1Gi" and "gpu" in flow.run_config.labels


def test_a_flows_own_job_template_keeps_its_settings_and_gets_the_secret():
    template = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {
            "template": {
                "spec": {"nodeSelector": {"pool": "big"}, "containers": [{"name": "flow"}]}
            }
        },
    }
    flow = PipelineFlow("emd: own", org="emd", run_config=KubernetesRun(job_template=template))
    manifest = job_manifest(flow, check_target())
    assert manifest["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "big"}
    assert container(manifest)["envFrom"] == [{"secretRef": {"name": "pipelines-env"}}]
    assert template["spec"]["template"]["spec"]["containers"] == [{"name": "flow"}]  # not changed
    assert manifest_problems(manifest) == []


def test_a_remembered_answer_is_reused_and_a_changed_run_config_checked_again(tmp_path):
    from pipelines.manage import manifests

    memo = tmp_path / "jobs.json"
    good = PipelineFlow("emd: m", org="emd", memory="1Gi")
    assert manifests.flow_manifest_problems([("m", good)], memo=memo) == []
    assert len(json.loads(memo.read_text())) == 1
    broken = PipelineFlow(
        "emd: b",
        org="emd",
        run_config=KubernetesRun(
            job_template={
                "apiVersion": "batch/v1",
                "kind": "Job",
                "spec": {"template": {"spec": {"containers": [{"name": "flow", "ports": 1}]}}},
            }
        ),
    )
    first = manifests.flow_manifest_problems([("m", good), ("b", broken)], memo=memo)
    assert len(first) == 2 and all("ports: 1 is not of type" in p for p in first)
    assert manifests.flow_manifest_problems([("b", broken)], memo=memo) == first  # from memo
    assert len(json.loads(memo.read_text())) == 2
