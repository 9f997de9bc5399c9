"""The flow-run image and a pod's run, against the same flow under run_local in the same run.

Builds the image as `make image` does (podman; the base made offline when it cannot be
pulled), then runs `emd: test_flow` --runs times each way, alternated:
- pod: registered by run_cloud on the test Prefect server, started by Prefect's own Kubernetes
  agent as a podman container (tests/support/cluster.py); timed from the container's start to
  the run's final state on the server, and from create_flow_run to that state;
- local: `python manage.py run pipelines.emd.test_flow.flows.flow`, the whole process.
Also reports the image's size and, with --peak, the pod's peak memory (podman stats).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import cloud_environment  # noqa: E402
from tests.support import image  # noqa: E402
from tests.support.cluster import Cluster, remove_containers  # noqa: E402
from tests.support.gcs_emulator import start_gcs_emulator  # noqa: E402
from tests.support.prefect_server import PrefectTestServer  # noqa: E402

RUN_CLOUD = """
from pipelines.emd.utils import run_cloud
from pipelines.emd.test_flow.flows import flow
run_cloud(flow, labels=["example"], parameters={"param": "val"})
"""


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} s"


def local_run(env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "run", "pipelines.emd.test_flow.flows.flow", "--param", "param=val"],
        cwd=REPO, env={**env, "PIPELINES_ENV": "local"}, check=True, capture_output=True,
    )  # fmt: skip
    return time.monotonic() - started


def pod_run(cluster: Cluster) -> tuple[float, float, float]:
    started = time.monotonic()
    ran = subprocess.run(
        [sys.executable, "-c", RUN_CLOUD], cwd=REPO, env=cluster.env, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    run_id = re.search(r"/flow-run/([0-9a-f-]{36})", ran.stdout).group(1)
    run = cluster.wait_for(run_id)
    total = time.monotonic() - started
    assert run["state"] == "Success", cluster.diagnostics(run_id)
    return cluster.pod_seconds(run_id), cluster.job_seconds(run_id), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    missing = image.missing_tools()
    if missing:
        raise SystemExit(f"bench/pods.py needs {', '.join(missing)} (apt-get install them)")
    print(f"base image: {image.ensure_base()}")
    tag = subprocess.run(
        [sys.executable, "manage.py", "image-tag"], cwd=REPO, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    name = f"localhost/pipelines:{tag}"
    seconds = image.build_image(name)
    print(f"image {name}: {image.image_size(name) / 1e9:.2f} GB (make image: {seconds:.0f} s)")
    gcs = start_gcs_emulator()
    pods, jobs_, totals, locals_ = [], [], [], []
    try:
        with PrefectTestServer(simulate_agent=False) as server, tempfile.TemporaryDirectory() as t:
            server.add_project("staging")
            env = cloud_environment(Path(t), gcs.url, server.port)
            env["PIPELINES_FLOW_IMAGE"] = name
            jobs = Path(t) / "jobs"
            jobs.mkdir()
            cluster = Cluster(server, env, jobs)
            cluster.start_agent()
            try:
                pod_run(cluster)  # warm-up: the first container start reads the image's layers
                for _ in range(args.runs):
                    pod, job, total = pod_run(cluster)
                    pods.append(pod)
                    jobs_.append(job)
                    totals.append(total)
                    locals_.append(local_run(env))
            finally:
                cluster.stop_agent()
                remove_containers(jobs)
    finally:
        gcs.stop()
    print(f"emd: test_flow in its pod, container start -> final state: {spread(pods)}")
    print(f"emd: test_flow, Job created -> final state:              {spread(jobs_)}")
    print(f"emd: test_flow by run_cloud, submitted -> final state:    {spread(totals)}")
    print(f"emd: test_flow under run_local (manage.py run, whole process): {spread(locals_)}")
    ratio = statistics.median(pods) / statistics.median(locals_)
    print(f"pod / run_local (medians): {ratio:.2f}x")
    print(json.dumps({"pod_s": pods, "job_s": jobs_, "submitted_s": totals, "local_s": locals_}))


if __name__ == "__main__":
    main()
