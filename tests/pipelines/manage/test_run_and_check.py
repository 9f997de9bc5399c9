"""manage.py run, check and query: exit codes and messages, on the repo and on planted faults."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.manage.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_run_succeeds_with_params_parsed_as_json_or_text():
    result = run("run", "pipelines.emd.test_flow.flows.flow", "--param", "param=val")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("Flow 'emd: test_flow' succeeded.\n")


def test_run_unknown_parameter_exits_non_zero_and_lists_the_parameters():
    result = run("run", "pipelines.emd.test_flow.flows.flow", "--param", "nope=1")
    assert result.exit_code == 1
    assert result.output == (
        "Error: Flow 'emd: test_flow': unknown parameter(s): nope.\n"
        "Its parameters are:\n"
        "  param (default: 'default')\n"
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("pipelines.emd.nothing.flows.flow", "Error: Cannot import 'pipelines.emd.nothing.flows'"),
        (
            "pipelines.emd.test_flow.flows.flw",
            "Error: 'pipelines.emd.test_flow.flows.flw' is not defined. "
            "Flows in pipelines.emd.test_flow.flows: pipelines.emd.test_flow.flows.flow.",
        ),
        ("tests.pipelines.manage.sample_flows.not_a_flow", "is a int, not a Flow"),
        ("flow", "is not a dotted path to a flow"),
    ],
)
def test_run_unknown_flow_path_fails_before_anything_runs(path, message):
    result = run("run", path)
    assert result.exit_code == 1
    assert message in result.output


def test_run_bad_param_syntax_is_a_usage_error():
    result = run("run", "pipelines.emd.test_flow.flows.flow", "--param", "novalue")
    assert result.exit_code == 2
    assert "expected KEY=VALUE, got 'novalue'" in result.output


def test_run_failure_exits_non_zero_naming_the_task_and_message():
    result = run(
        "run", "tests.pipelines.manage.sample_flows.failing", "--param", "reason=disk full"
    )
    assert result.exit_code == 1
    assert (
        "Error: Flow 'always fails' failed: Some reference tasks failed.\n"
        "  fail: RuntimeError: disk full"
    ) in (result.output)


def test_check_passes_on_the_repo():
    result = run("check")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"ok: \d+ flow\(s\) checked, no problems.\n", result.output)


def check_copy(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_fails_on_a_duplicate_flow_name(repo_copy: Path):
    constants = repo_copy / "pipelines/emd/template_pipeline/constants.py"
    constants.write_text(
        constants.read_text().replace('"emd: template_pipeline"', '"emd: test_flow"')
    )
    result = check_copy(repo_copy)
    assert result.returncode == 1
    assert (
        "problem: flow name 'emd: test_flow' is used 2 times "
        "(pipelines.emd.template_pipeline.flows, pipelines.emd.test_flow.flows); "
        "flow names must be unique across the repo"
    ) in result.stdout


def test_check_fails_on_a_project_missing_from_its_org_init(repo_copy: Path):
    init = repo_copy / "pipelines/emd/__init__.py"
    init.write_text(
        init.read_text().replace("import pipelines.emd.test_flow.flows  # noqa: F401\n", "")
    )
    result = check_copy(repo_copy)
    assert result.returncode == 1
    assert (
        "problem: pipelines/emd/__init__.py does not import the project 'test_flow': "
        "add `import pipelines.emd.test_flow.flows  # noqa: F401`"
    ) in result.stdout
    assert re.search(r"Error: 1 problem\(s\) in \d+ flow\(s\).", result.stderr)


def test_check_reports_a_broken_project_and_still_checks_the_others(repo_copy: Path):
    (repo_copy / "pipelines/emd/test_flow/tasks.py").write_text("def broken(:\n")
    result = check_copy(repo_copy)
    assert result.returncode == 1
    assert "problem: pipelines.emd.test_flow.flows: import failed: SyntaxError" in result.stdout


def test_query_prints_rows_from_the_local_warehouse(monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    assert run("run", "pipelines.emd.template_pipeline.flows.flow").exit_code == 0
    result = run("query", "SELECT count(*) AS n FROM template_pipeline.rain_per_hour")
    assert result.exit_code == 0
    assert result.output.split() == ["n", "192"]
    bad = run("query", "SELECT * FROM nowhere")
    assert bad.exit_code == 1 and bad.output.startswith("Error: Query failed: Catalog Error")


@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` and `dask worker` as separate processes on loopback."""
    dask = shutil.which("dask", path=os.path.dirname(sys.executable))
    assert dask, "the dask CLI is installed with dask[distributed]"
    scheduler_file = tmp_path / "scheduler.json"
    worker_log = (tmp_path / "worker.log").open("w")
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [dask, "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
         "--no-dashboard", "--host", "127.0.0.1"],
        stdout=worker_log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[3],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if scheduler_file.exists() and "Registered to" in (tmp_path / "worker.log").read_text():
                break
            time.sleep(0.2)
        else:
            pytest.fail("the Dask worker did not register within 60 s")
        yield json.loads(scheduler_file.read_text())["address"], tmp_path / "worker.log"
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)
        worker_log.close()


def test_manage_run_on_a_separate_dask_scheduler_and_worker(dask_cluster):
    address, worker_log = dask_cluster
    repo = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PIPELINES_DASK_ADDRESS": address}
    result = subprocess.run(
        [sys.executable, "manage.py", "run", "pipelines.emd.test_flow.flows.flow",
         "--param", "param=val"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"with DaskExecutor on {address}" in result.stdout
    # The task ran in the worker process: its log lines are in the worker's output.
    assert "param = val" in worker_log.read_text()
