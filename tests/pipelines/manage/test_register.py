"""manage.py register against fake-gcs-server and PrefectTestServer: idempotent, isolated."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.cloud import storage

from tests.conftest import REPO_ROOT, deploy_environment

OURS = {"emd: template_pipeline", "emd: test_flow"}


def register(env: dict[str, str], *args: str, cwd: Path = REPO_ROOT):
    return subprocess.run(
        [sys.executable, "manage.py", "register", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def env(cloud_env):
    """CD's environment: production, an image repository instead of a fixed image."""
    env = {**deploy_environment(cloud_env), "PIPELINES_IMAGE_REPOSITORY": "ghcr.io/city/pipelines"}
    env.pop("PIPELINES_FLOW_IMAGE")
    return env


def blobs(env) -> list[str]:
    client = storage.Client(project="test")
    return sorted(b.name for b in client.list_blobs(env["PIPELINES_FLOWS_BUCKET"]))


def test_register_all_twice_second_time_uploads_nothing_and_creates_no_version(env, prefect_server):
    first = register(env, "--all", "--json")
    assert first.returncode == 0, first.stdout[-3000:]
    outcomes = {o["flow"]: o for o in json.loads(first.stdout)}
    assert set(outcomes) >= OURS
    assert all(o["status"] == "registered" and o["uploaded"] for o in outcomes.values())
    versions_after_first = len(prefect_server.flows)
    uploads_after_first = blobs(env)
    creates_after_first = len(prefect_server.calls("create_flow_from_compressed_string"))

    second = register(env, "--all")

    assert second.returncode == 0, second.stderr
    assert "registered: 0, skipped (unchanged): " in second.stdout
    assert ", failed: 0, uploads: 0" in second.stdout
    assert len(prefect_server.flows) == versions_after_first
    assert blobs(env) == uploads_after_first
    assert len(prefect_server.calls("create_flow_from_compressed_string")) == creates_after_first
    for name in OURS:
        assert f"{name}: skipped (unchanged, v1)" in second.stdout


def test_registered_flows_are_production_versions_that_load_back_and_run(env, prefect_server):
    assert register(env, "--all").returncode == 0
    tag = subprocess.run(
        [sys.executable, "manage.py", "image-tag"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()
    (record,) = [f for f in prefect_server.flows.values() if f["name"] == "emd: test_flow"]
    serialized = record["serialized_flow"]
    assert prefect_server.project_name(record) == "main" and record["is_schedule_active"] is True
    assert serialized["run_config"]["image"] == f"ghcr.io/city/pipelines:{tag}"
    assert serialized["run_config"]["labels"] == ["emd"]
    key = serialized["storage"]["flows"]["emd: test_flow"]
    assert key.startswith("emd-test-flow/") and key.endswith(".pickle")
    loader = (
        "import json, sys\n"
        "from prefect.serialization.storage import StorageSchema\n"
        "flow = StorageSchema().load(json.loads(sys.stdin.read())).get_flow('emd: test_flow')\n"
        "state = flow.run(parameters={'param': 'val'}, run_on_schedule=False)\n"
        "print('RAN', state.is_successful())\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", loader],
        input=json.dumps(serialized["storage"]),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "RAN True" in ran.stdout, ran.stdout + ran.stderr


def test_staging_registers_staging_versions_with_schedules_off(env, prefect_server):
    result = register(env, "--all", "--staging")
    assert result.returncode == 0, result.stderr
    names = {f["name"]: f for f in prefect_server.flows.values()}
    record = names["emd: test_flow (staging)"]
    assert prefect_server.project_name(record) == "staging"
    assert record["is_schedule_active"] is False
    assert not prefect_server.calls("set_schedule_active")


# Runs manage.py in-process, then lists every flows module the run imported.
IMPORTED_FLOWS_PROBE = """
import runpy, sys
sys.argv = ["manage.py", "register", "--all", "--json"]
try:
    runpy.run_path("manage.py", run_name="__main__")
finally:
    print(sorted(m for m in sys.modules if m.endswith(".flows")), file=sys.stderr)
"""


def test_an_unchanged_repo_is_decided_without_importing_any_flow(env, prefect_server, repo_copy):
    first = register(env, "--all", "--json", cwd=repo_copy)
    assert first.returncode == 0, first.stderr[-3000:]
    versions = len(prefect_server.flows)

    second = subprocess.run(
        [sys.executable, "-c", IMPORTED_FLOWS_PROBE],
        cwd=repo_copy, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stderr.rstrip().endswith("[]"), second.stderr[-2000:]
    registered = {o["flow"]: (o["flow_id"], o["version"]) for o in json.loads(first.stdout)}
    skipped = {o["flow"]: (o["flow_id"], o["version"]) for o in json.loads(second.stdout)}
    assert skipped == registered
    assert all(o["status"] == "skipped" for o in json.loads(second.stdout))
    assert len(prefect_server.flows) == versions


def test_remembered_flow_names_are_a_shortcut_never_the_truth(env, prefect_server, repo_copy):
    from pipelines.manage.known_flows import CACHE

    first = register(env, "--all", "--json", cwd=repo_copy)
    assert first.returncode == 0, first.stderr[-3000:]
    versions = len(prefect_server.flows)
    remembered = json.loads((repo_copy / CACHE).read_text())
    wrong = {
        key: [["emd: a flow nobody registered", key.split(" ")[0]]] for key in remembered["modules"]
    }
    (repo_copy / CACHE).write_text(json.dumps({**remembered, "modules": wrong}))

    second = register(env, "--all", "--json", cwd=repo_copy)

    # Names the server does not know send each module through the import: same answers.
    assert second.returncode == 0, second.stderr[-3000:]
    outcomes = json.loads(second.stdout)
    assert {o["flow"] for o in outcomes} == {o["flow"] for o in json.loads(first.stdout)}
    assert all(o["status"] == "skipped" for o in outcomes)
    assert len(prefect_server.flows) == versions
    assert json.loads((repo_copy / CACHE).read_text()) == remembered


def test_only_the_changed_flow_gets_a_new_version(env, prefect_server, repo_copy):
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo_copy, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo_copy, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo_copy, check=True)
    assert register(env, "--all", cwd=repo_copy).returncode == 0
    tasks = repo_copy / "pipelines/emd/test_flow/tasks.py"
    tasks.write_text(tasks.read_text().replace('"param = %s"', '"param is %s"'))
    subprocess.run([*git, "commit", "-qam", "reword a log line"], cwd=repo_copy, check=True)

    result = register(env, "--since", "HEAD~1", "--json", cwd=repo_copy)

    assert result.returncode == 0, result.stderr
    (outcome,) = json.loads(result.stdout)
    assert outcome["flow"] == "emd: test_flow"
    assert outcome["status"] == "registered" and outcome["version"] == 2 and outcome["uploaded"]
    latest = {(f["name"], f["version"]) for f in prefect_server.flows.values() if not f["archived"]}
    assert ("emd: test_flow", 2) in latest and ("emd: template_pipeline", 1) in latest

    # Reverted: version 1's bytes are in the bucket under the same key, so they are not sent
    # again (a create-only upload) and the server still gets a new version.
    stored = {
        b.name: b.generation
        for b in storage.Client(project="test").list_blobs(env["PIPELINES_FLOWS_BUCKET"])
    }
    tasks.write_text(tasks.read_text().replace('"param is %s"', '"param = %s"'))
    subprocess.run([*git, "commit", "-qam", "revert"], cwd=repo_copy, check=True)
    result = register(env, "--since", "HEAD~1", "--json", cwd=repo_copy)
    (outcome,) = json.loads(result.stdout)
    assert outcome["status"] == "registered" and outcome["version"] == 3
    assert not outcome["uploaded"]
    after = {
        b.name: b.generation
        for b in storage.Client(project="test").list_blobs(env["PIPELINES_FLOWS_BUCKET"])
    }
    assert after == stored


def test_a_broken_project_is_reported_and_the_others_still_register(env, prefect_server, repo_copy):
    (repo_copy / "pipelines/emd/test_flow/tasks.py").write_text("def broken(:\n")
    result = register(env, "--all", "--json", cwd=repo_copy)
    assert result.returncode == 1
    outcomes = {o["module"]: o for o in json.loads(result.stdout)}
    broken = outcomes["pipelines.emd.test_flow.flows"]
    assert broken["status"] == "failed" and broken["detail"].startswith("SyntaxError")
    assert outcomes["pipelines.emd.template_pipeline.flows"]["status"] == "registered"
    assert "1 flow(s) failed; the others were processed." in result.stderr


def test_register_names_every_missing_variable_before_any_request(prefect_server):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT__", "PIPELINES_"))}
    env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    result = register(env, "--all")
    assert result.returncode == 1
    for name in (
        "PIPELINES_ENV",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "PREFECT__SERVER__HOST",
        "PIPELINES_FLOWS_BUCKET",
        "PIPELINES_IMAGE_REPOSITORY",
    ):
        assert name in result.stderr
    assert prefect_server.requests == []


def test_register_reports_the_version_the_server_gave(env, prefect_server):
    # An archived version 1 and 2 of the same flow group: the server's next version is 3.
    group = None
    for version in (1, 2):
        planted = prefect_server.plant_flow(
            "emd: test_flow", "main", version=version, archived=True, flow_group_id=group
        )
        group = prefect_server.flows[planted]["flow_group_id"]
    result = register(env, "--all", "--json")
    assert result.returncode == 0, result.stderr
    (outcome,) = [o for o in json.loads(result.stdout) if o["flow"] == "emd: test_flow"]
    assert outcome["status"] == "registered" and outcome["version"] == 3
    assert prefect_server.flows[outcome["flow_id"]]["version"] == 3


def test_run_cloud_and_staging_cd_never_archive_each_other(env, cloud_env, prefect_server):
    readme_example = (
        "from pipelines.emd.utils import run_cloud\n"
        "from pipelines.emd.test_flow.flows import flow\n"
        'run_cloud(flow, labels=["LABEL"], parameters={"param": "val"})\n'
    )

    def run_cloud(label: str) -> None:
        done = subprocess.run(
            [sys.executable, "-c", readme_example.replace("LABEL", label)],
            cwd=REPO_ROOT,
            env=cloud_env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr

    run_cloud("example")
    staged = register(env, "--all", "--staging")
    assert staged.returncode == 0, staged.stderr
    run_cloud("other")  # other labels: a new development version
    live = {
        (f["name"], f["version"]): f["archived"]
        for f in prefect_server.flows.values()
        if f["name"].startswith("emd: test_flow")
    }
    assert live == {
        ("emd: test_flow (development)", 1): True,  # replaced by the person's second run
        ("emd: test_flow (development)", 2): False,
        ("emd: test_flow (staging)", 1): False,  # untouched by either run_cloud
    }
    groups = {f["name"]: f["flow_group_id"] for f in prefect_server.flows.values()}
    assert groups["emd: test_flow (development)"] != groups["emd: test_flow (staging)"]


RUN_STORED = (
    "import json, sys\n"
    "from prefect.serialization.storage import StorageSchema\n"
    "storage, name = json.loads(sys.stdin.read())\n"
    "flow = StorageSchema().load(storage).get_flow(name)\n"
    "import pipelines\n"
    "print('CODE', pipelines.__file__)\n"
    "state = flow.run(run_on_schedule=False)\n"
    "for task, task_state in state.result.items():\n"
    "    if not task_state.is_successful():\n"
    "        print('TASK', task.name, task_state.message)\n"
    "print('RAN', state.is_successful())\n"
)


def run_stored(record: dict, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """Load a registered flow from the bucket as an agent's pod would, and run it (on local
    resources: what is tested is the stored code, not the environment)."""
    storage = record["serialized_flow"]["storage"]
    return subprocess.run(
        [sys.executable, "-c", RUN_STORED],
        input=json.dumps([storage, record["name"]]),
        cwd=cwd,
        env={**env, "PIPELINES_ENV": "local"},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_flow_registered_from_a_deleted_checkout_runs_to_success_elsewhere(
    env, prefect_server, repo_copy, tmp_path
):
    registered = register(env, "--all", cwd=repo_copy)
    assert registered.returncode == 0, registered.stdout + registered.stderr
    (record,) = [f for f in prefect_server.flows.values() if f["name"] == "emd: template_pipeline"]
    checkout = str(repo_copy)
    shutil.rmtree(repo_copy)
    pod = tmp_path / "pod"
    pod.mkdir()

    ran = run_stored(record, {**env, "PIPELINES_DATA_DIR": str(pod / "data")}, cwd=pod)

    assert "RAN True" in ran.stdout, ran.stdout + ran.stderr
    # The code came from the flow's bundle, not from this checkout's installed package.
    assert "/pipelines-flow-code/" in ran.stdout.split("CODE ")[1].splitlines()[0]
    assert checkout not in ran.stdout + ran.stderr
    assert (pod / "data").is_dir()


def test_a_module_outside_the_bundle_is_an_error_not_another_copy(env, prefect_server, repo_copy):
    # A name import_module gets at run time cannot be seen by registration: it must not
    # silently come from another copy of the code (here, the installed package).
    tasks = repo_copy / "pipelines/emd/test_flow/tasks.py"
    tasks.write_text(
        tasks.read_text()
        + "\n\n@task\ndef late() -> None:\n"
        + "    import importlib\n\n    name = 'pipelines.utils.dump_db'\n"
        + "    importlib.import_module(name)\n"
    )
    flows = repo_copy / "pipelines/emd/test_flow/flows.py"
    source = flows.read_text().replace("import echo", "import echo, late")
    flows.write_text(source + "    late(upstream_tasks=[echoed])\n")
    assert register(env, "--all", cwd=repo_copy).returncode == 0
    (record,) = [f for f in prefect_server.flows.values() if f["name"] == "emd: test_flow"]

    ran = run_stored(record, env, cwd=repo_copy)

    assert "RAN False" in ran.stdout, ran.stdout + ran.stderr
    assert "pipelines.utils.dump_db is not in this flow's code bundle" in ran.stdout


def test_register_is_a_function_that_returns_a_report_of_closed_outcomes(
    env, prefect_server, monkeypatch
):
    from prefect.utilities.configuration import set_temporary_config

    from pipelines.manage.register import Status
    from pipelines.manage.register import register as register_flows
    from pipelines.utils.inventory import Repo

    for name, value in env.items():  # the settings the command would read
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="exactly one of all_flows or since"):
        register_flows(Repo(REPO_ROOT))
    lines: list[str] = []

    with set_temporary_config({"cloud.api": prefect_server.url, "backend": "server"}):
        planned = register_flows(Repo(REPO_ROOT), all_flows=True, dry_run=True)
        done = register_flows(Repo(REPO_ROOT), all_flows=True, staging=True, progress=lines.append)
        again = register_flows(Repo(REPO_ROOT), all_flows=True, staging=True)

    assert planned.dry_run and {o.flow for o in planned.outcomes} >= OURS
    assert {o.status for o in planned.outcomes} == {Status.WOULD_REGISTER}
    assert {o.status for o in done.outcomes} == {Status.REGISTERED}
    assert {o.status for o in again.outcomes} == {Status.SKIPPED}
    assert len(done.outcomes) == len(planned.outcomes) and done.uploads == len(done.outcomes)
    assert any(line.endswith(" ...") for line in lines)
    assert all(isinstance(o.status, Status) for r in (planned, done, again) for o in r.outcomes)


def test_register_publishes_every_flows_expectations_for_the_watchdog(env, prefect_server):
    lake = storage.Client(project="test").bucket(env["PIPELINES_DATALAKE_BUCKET"])
    published = lake.blob("staging/_health/expectations.json")
    gone = {"module": "pipelines.emd.removed.flows", "name": "emd: removed"}
    published.upload_from_string(json.dumps({"flows": {"emd: removed": gone}}))

    done = register(env, "--all")

    assert done.returncode == 0, done.stderr
    flows = json.loads(published.download_as_bytes())["flows"]
    assert "emd: removed" not in flows  # its module is no longer in the repo
    assert flows["emd: template_pipeline"]["tables"] == [
        {"table": table, "freshness": 7200.0, "source": "cadence + grace"}
        for table in ("template_pipeline.rain_per_station_day", "template_pipeline.rain_per_hour")
    ]  # the model it builds, then the table it writes
    assert flows["emd: template_pipeline"]["module"] == "pipelines.emd.template_pipeline.flows"
    where = f"gs://{lake.name}/staging/_health/expectations.json"
    assert f"expectations of {len(flows)} flow(s) published to {where}" in done.stdout


@pytest.mark.parametrize("staging", [[], ["--staging"]])
def test_register_from_the_local_environment_is_refused_naming_pipelines_env(
    env, prefect_server, staging
):
    local = {**env, "PIPELINES_ENV": "local"}
    done = register(local, "--all", *staging)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "Error: register needs:\n  PIPELINES_ENV: is local (the default); register deploys to "
        "an environment: set PIPELINES_ENV=prod (or dev) with that environment's datalake and "
        "BigQuery settings"
    )
    assert prefect_server.requests == [] and blobs(env) == []


def test_register_fails_when_the_expectations_cannot_be_published(env, prefect_server, tmp_path):
    done = register({**env, "PIPELINES_DATALAKE_BUCKET": "no-such-lake-bucket"}, "--all")
    assert done.returncode == 1
    assert "registered: " in done.stdout  # the report comes first
    assert done.stderr.startswith(
        "Error: Flows registered, but the watchdog's expectations were not published: "
    )
    assert done.stderr.rstrip().endswith("then register again.")


@pytest.mark.parametrize("args", [["register", "--all"], ["dev-flows", "list"]])
def test_a_server_that_does_not_answer_is_one_line_naming_it(env, args):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = {**env, "PREFECT__SERVER__PORT": str(port), "TEST_NO_BACKOFF": "1",
            "PYTHONPATH": str(REPO_ROOT / "tests" / "support" / "no_network")}  # fmt: skip
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=down,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"Error: Prefect Server at http://127.0.0.1:{port} did not answer (ConnectionError): "
        "check PREFECT__SERVER__HOST and PREFECT__SERVER__PORT, and that the server is up."
    )
    assert "Check that the path exists" not in done.stdout + done.stderr
