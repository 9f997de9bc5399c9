"""Registered flows run in the flow-run image the way a Kubernetes pod runs them.

The image is built from the Dockerfile (`make image`, podman; the base image made offline when
it cannot be pulled). Prefect 1.4.1's own Kubernetes agent polls the test server, makes each
Job and creates it through a stubbed Kubernetes API that starts the Job's container with
podman (tests/support/cluster.py). The container runs `prefect execute flow-run` with Prefect's
CloudFlowRunner against the test server and loads the flow from fake-gcs-server: nothing of
the repo is in it but what each flow's bundle carries. Each scenario ends with the run's final
state read from the server.

Under CI=true these run and must pass; elsewhere they are skipped, naming what is missing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, cloud_environment, deploy_environment
from tests.support import image as podman_image
from tests.support.cluster import REPORTED, Cluster, remove_containers


def _pod_tools_or_skip() -> None:
    missing = podman_image.missing_tools()
    if not missing:
        return
    message = (
        f"pod tests need {', '.join(missing)}: apt-get install podman buildah runc "
        "debootstrap uidmap (.ci/run installs them)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the pod tests must run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def flow_image() -> str:
    """The flow-run image, built from this checkout's Dockerfile and lock."""
    _pod_tools_or_skip()
    podman_image.wait_for_prebuild()
    base = podman_image.ensure_base()
    name = podman_image.image_name()
    seconds = podman_image.build_image(name)
    size = podman_image.image_size(name)
    REPORTED.append(
        f"pod: flow-run image {name}: {size / 1e9:.2f} GB (base image: {base}), "
        f"make image {seconds:.0f} s"
    )
    return name


@pytest.fixture
def cluster(flow_image, gcs_emulator, tmp_path):
    from tests.support.prefect_server import PrefectTestServer

    jobs = tmp_path / "jobs"
    jobs.mkdir()
    with PrefectTestServer(simulate_agent=False) as server:
        server.add_project("staging")
        server.add_project("main")
        env = cloud_environment(tmp_path, gcs_emulator.url, server.port)
        env["PIPELINES_FLOW_IMAGE"] = flow_image
        found = Cluster(server, env, jobs)
        try:
            yield found
        finally:
            found.stop_agent()
            remove_containers(found.jobs_dir)


def report(cluster: Cluster, scenario: str, run_id: str) -> None:
    """The run's final state and its pod's time, in the session's summary."""
    run = cluster.server.flow_runs[run_id]
    seconds = cluster.pod_seconds(run_id)
    REPORTED.append(
        f"pod: {scenario}: {run['state']} ({run['state_message']}); {seconds:.1f} s from its "
        "container's start to that state"
    )


RUN_CLOUD = """\
from pipelines.emd.utils import run_cloud
from pipelines.emd.test_flow.flows import flow

run_cloud(flow, labels=["example"], parameters={"param": "val"})
"""


def run_cloud(cluster: Cluster, code: str = RUN_CLOUD) -> str:
    """The README's run_cloud snippet, as a developer runs it; the flow run's id."""
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=cluster.env, capture_output=True,
        text=True, timeout=180,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return re.search(r"/flow-run/([0-9a-f-]{36})", ran.stdout).group(1)


def test_run_cloud_test_flow_succeeds_in_its_pod(cluster: Cluster):
    cluster.start_agent()
    run_id = run_cloud(cluster)

    run = cluster.wait_for(run_id)

    assert run["state"] == "Success", cluster.diagnostics(run_id)
    job = cluster.job_of(run_id)
    assert job["problems"] == []
    container = job["manifest"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == cluster.env["PIPELINES_FLOW_IMAGE"]
    assert container["args"] == ["prefect", "execute", "flow-run"]
    assert "param = val" in cluster.pod_log(run_id)
    tasks = cluster.server.task_runs_of(run_id)
    assert tasks and {t["state"] for t in tasks} == {"Success"}
    assert any("param = val" in (log["message"] or "") for log in cluster.server.logs)
    report(cluster, "emd: test_flow by run_cloud", run_id)


def register(cluster: Cluster, env: dict[str, str], cwd: Path = REPO_ROOT) -> None:
    """`manage.py register --all`, as CD runs it: from a deployment environment (the cluster's
    own when the test gives none; its pods then run in prod, on the flows bucket as lake)."""
    if env.get("PIPELINES_ENV", "local") == "local":
        env = deploy_environment(env)
    ran = subprocess.run(
        [sys.executable, "manage.py", "register", "--all"], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]


def start_run(cluster: Cluster, name: str, parameters: dict[str, Any] | None = None) -> str:
    """A run of the newest version of `name`, created as the UI or a schedule would."""
    from prefect import Client

    versions = [f for f in cluster.server.flows.values() if f["name"] == name]
    newest = max(versions, key=lambda f: f["version"])
    return Client(api_server=cluster.server.url).create_flow_run(
        flow_id=newest["id"], parameters=parameters or {}
    )


def count_rows(warehouse: Any, table: str) -> int:
    ((count,),) = warehouse.rows(f"SELECT count(*) FROM `{table}`")
    return int(count)


def test_template_pipeline_in_dev_succeeds_with_its_materialization_in_a_second_pod(
    cluster: Cluster, bigquery_emulator, gcs_bucket, tmp_path
):
    from pipelines.settings import load_settings
    from pipelines.utils.warehouse.bigquery import BigQueryWarehouse

    # What the same flow writes locally: the counts the pods must reproduce in BigQuery.
    local = {**cluster.env, "PIPELINES_ENV": "local", "PIPELINES_DATA_DIR": str(tmp_path / "l")}
    counts = {}
    ran = subprocess.run(
        [sys.executable, "manage.py", "run", "pipelines.emd.template_pipeline.flows.flow"],
        cwd=REPO_ROOT, env=local, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    for table in ("template_pipeline.rain_per_hour", "template_pipeline.rain_per_station_day"):
        queried = subprocess.run(
            [sys.executable, "manage.py", "query", f"SELECT count(*) AS n FROM {table}"],
            cwd=REPO_ROOT, env=local, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        counts[table] = int(queried.stdout.split()[-1])
    assert (
        counts["template_pipeline.rain_per_hour"]
        > counts["template_pipeline.rain_per_station_day"]
        > 0
    )

    _, lake = gcs_bucket
    dev = {
        **cluster.env,
        "PIPELINES_ENV": "dev",
        "PIPELINES_DATALAKE_BUCKET": lake,
        "PIPELINES_BIGQUERY_PROJECT": bigquery_emulator.project,
    }
    register(cluster, dev)
    cluster.start_agent(pod_env={"PIPELINES_BIGQUERY_API_ENDPOINT": bigquery_emulator.endpoint})
    run_id = start_run(cluster, "emd: template_pipeline")

    run = cluster.wait_for(run_id, timeout=600)

    assert run["state"] == "Success", cluster.diagnostics(run_id)
    (child,) = [r for r in cluster.server.flow_runs.values() if r["id"] != run_id]
    assert cluster.server.flows[child["flow_id"]]["name"] == "emd: materialize"
    assert child["state"] == "Success", cluster.diagnostics(child["id"])
    assert cluster.job_of(child["id"])["container"] != cluster.job_of(run_id)["container"]
    environment = {e["name"]: e.get("value") for e in _container(cluster.job_of(run_id))["env"]}
    assert environment["PIPELINES_ENV"] == "dev"
    warehouse = BigQueryWarehouse(
        load_settings(
            {**dev, "PIPELINES_BIGQUERY_API_ENDPOINT": bigquery_emulator.endpoint}, root=tmp_path
        )
    )
    # Loaded by the first pod, built by dbt in the second (dev models go to <dataset>_dev).
    assert (
        count_rows(warehouse, "template_pipeline.rain_per_hour")
        == counts["template_pipeline.rain_per_hour"]
    )
    assert (
        count_rows(warehouse, "template_pipeline_dev.rain_per_station_day")
        == counts["template_pipeline.rain_per_station_day"]
    )
    report(cluster, "emd: template_pipeline (dev)", run_id)
    report(cluster, "emd: materialize, its child", child["id"])


def test_the_watchdog_reads_what_register_published_in_its_pod(
    cluster: Cluster, bigquery_emulator, gcs_bucket
):
    _, lake = gcs_bucket
    dev = {
        **cluster.env,
        "PIPELINES_ENV": "dev",
        "PIPELINES_DATALAKE_BUCKET": lake,
        "PIPELINES_BIGQUERY_PROJECT": bigquery_emulator.project,
    }
    register(cluster, dev)  # registers every flow and publishes their expectations to the lake
    cluster.start_agent(pod_env={"PIPELINES_BIGQUERY_API_ENDPOINT": bigquery_emulator.endpoint})
    run_id = start_run(cluster, "admin: watchdog")  # by hand: a dry run

    run = cluster.wait_for(run_id)

    assert run["state"] == "Success", cluster.diagnostics(run_id)
    problems = [
        log["message"]
        for log in cluster.server.logs
        if log.get("flow_run_id") == run_id and (log["message"] or "").startswith("Problem: ")
    ]
    # Registered, scheduled, never run: the pod read the expectations, the server and BigQuery.
    assert any("emd: template_pipeline" in p for p in problems), cluster.pod_log(run_id)
    report(cluster, "admin: watchdog, a dry run", run_id)


def _container(job: dict[str, Any]) -> dict[str, Any]:
    return job["manifest"]["spec"]["template"]["spec"]["containers"][0]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_flow_changed_and_registered_again_runs_its_new_code_in_the_next_pod(
    cluster: Cluster, repo_copy: Path
):
    cluster.start_agent()
    register(cluster, cluster.env, cwd=repo_copy)
    first = start_run(cluster, "emd: test_flow", {"param": "val"})
    assert cluster.wait_for(first)["state"] == "Success", cluster.diagnostics(first)
    edit(
        repo_copy / "pipelines/emd/test_flow/tasks.py",
        '.info("param = %s", text)',
        '.info("param, as changed = %s", text)',
    )
    register(cluster, cluster.env, cwd=repo_copy)
    versions = sorted(
        f["version"] for f in cluster.server.flows.values() if f["name"] == "emd: test_flow"
    )
    assert versions == [1, 2]

    second = start_run(cluster, "emd: test_flow", {"param": "val"})

    assert cluster.wait_for(second)["state"] == "Success", cluster.diagnostics(second)
    assert "param = val" in cluster.pod_log(first)
    assert "param, as changed = val" in cluster.pod_log(second)
    assert "param = val" not in cluster.pod_log(second)
    report(cluster, "emd: test_flow, changed and registered again", second)


@pytest.fixture
def alert_receiver():
    """A local webhook that keeps every JSON body it is sent."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/pods-test-token", received
    server.shutdown()


def test_a_failing_flows_pod_ends_failed_and_its_alert_reaches_the_webhook(
    cluster: Cluster, repo_copy: Path, alert_receiver
):
    url, received = alert_receiver
    edit(
        repo_copy / "pipelines/emd/test_flow/tasks.py",
        "    text = str(param)\n",
        "    text = str(param)\n    raise ValueError(f'the source is down for {text}')\n",
    )
    # The webhook's path is its token: it reaches the pods through their Secret only.
    cluster.secrets["pipelines-env"] = {"PIPELINES_FAILURE_WEBHOOK_URL": url}
    register(cluster, {**cluster.env, "PIPELINES_K8S_SECRET_NAME": "pipelines-env"}, repo_copy)
    cluster.start_agent()
    run_id = start_run(cluster, "emd: test_flow", {"param": "val"})

    run = cluster.wait_for(run_id)

    assert run["state"] == "Failed", cluster.diagnostics(run_id)
    deadline = time.monotonic() + 30
    while not received and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(received) == 1, received
    alert = json.dumps(received[0])
    assert "emd: test_flow" in alert and "the source is down for val" in alert
    assert "pods-test-token" not in cluster.pod_log(run_id)
    report(cluster, "emd: test_flow, failing", run_id)


def test_a_dump_reads_its_vault_secret_inside_the_pod_and_logs_no_password(
    cluster: Cluster, repo_copy: Path, openbao, postgres_url, bigquery_emulator, gcs_bucket
):
    from tests.conftest import connect_postgres

    password = f"pod-S3cret-{os.urandom(4).hex()}"
    table = f"pod_source_{os.urandom(3).hex()}"
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {table} (id int, name text)")
        conn.execute(f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    url = f"postgresql://postgres:{password}@127.0.0.1:5432/test"  # trust auth: accepted
    openbao.client().secrets.kv.v2.create_or_update_secret(
        path="pipelines/emd/pod_db", secret={"url": url}, mount_point="secret"
    )
    flows = repo_copy / "pipelines/emd/test_flow/flows.py"
    flows.write_text(
        flows.read_text()
        + "\n\nfrom pipelines.utils.dump_db import create_dump_db_flow  # noqa: E402\n\n"
        + 'dump = create_dump_db_flow("emd: pod_dump", org="emd")\n'
    )
    _, lake = gcs_bucket
    register(
        cluster,
        {
            **cluster.env,
            # Registered as CD does, for dev: the pod loads into the datalake and BigQuery.
            "PIPELINES_ENV": "dev",
            "PIPELINES_DATALAKE_BUCKET": lake,
            "PIPELINES_BIGQUERY_PROJECT": bigquery_emulator.project,
            "PIPELINES_SECRETS_BACKEND": "vault",
            "PIPELINES_VAULT_ADDR": openbao.address,
            "PIPELINES_VAULT_PREFIX": "pipelines/",
            "PIPELINES_POD_VAULT_AUTH": "token",
            "PIPELINES_K8S_SECRET_NAME": "pipelines-env",
            "PIPELINES_DB_POD": "secret:emd/pod_db",
        },
        repo_copy,
    )
    cluster.secrets["pipelines-env"] = {"PIPELINES_VAULT_TOKEN": openbao.root_token}
    cluster.start_agent(pod_env={"PIPELINES_BIGQUERY_API_ENDPOINT": bigquery_emulator.endpoint})
    try:
        run_id = start_run(
            cluster,
            "emd: pod_dump",
            {"connection": "pod", "dataset_id": "pods", "table_id": "source", "table": table},
        )
        run = cluster.wait_for(run_id)
    finally:
        with connect_postgres() as conn:
            conn.execute(f"DROP TABLE {table}")

    assert run["state"] == "Success", cluster.diagnostics(run_id)
    environment = {e["name"]: e.get("value") for e in _container(cluster.job_of(run_id))["env"]}
    assert environment["PIPELINES_DB_POD"] == "secret:emd/pod_db"
    assert environment["PIPELINES_VAULT_AUTH"] == "token"
    logged = "\n".join(str(log["message"]) for log in cluster.server.logs)
    assert "Dumped 3 rows in 1 partition(s)" in logged, logged[-3000:]
    everything = logged + cluster.pod_log(run_id) + cluster.agent_log.read_text()
    everything += json.dumps(cluster.jobs())
    assert password not in everything
    report(cluster, "emd: pod_dump, its connection a Vault secret", run_id)


INSTALLED = """
import json, importlib.metadata as m, importlib.util, os, shutil
print(json.dumps({
    "uid": os.getuid(),
    "dists": {d.metadata["Name"]: d.version for d in m.distributions()},
    "pipelines": importlib.util.find_spec("pipelines") is not None,
    "compilers": [c for c in ("gcc", "cc", "x86_64-linux-gnu-gcc-12") if shutil.which(c)],
}))
"""


def test_the_image_holds_exactly_the_lock_no_repo_code_no_compiler_and_no_root(flow_image):
    from pipelines.manage.lock import canonical, read_pins

    ran = podman_image.podman("run", "--rm", flow_image, "python", "-c", INSTALLED)
    found = json.loads(ran.stdout)
    pins = read_pins((REPO_ROOT / "requirements.lock").read_text())
    venv = {canonical(name): version for name, version in found["dists"].items()}
    assert venv == pins  # the venv holds the lock, every pin at its version, nothing else
    assert found["uid"] == 1000
    assert found["pipelines"] is False
    assert found["compilers"] == []
