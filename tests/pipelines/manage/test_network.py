"""No command reaches for a service that settings did not name: every host looked up is
recorded by an interpreter that has no network (tests/support/no_network)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NO_NETWORK = Path(__file__).resolve().parents[2] / "support" / "no_network"
COMMANDS = [
    (["list-projects"], 0),
    (["settings"], 0),
    (["run", "pipelines.emd.test_flow.flows.flow"], 0),
    # It tidies Prefect Server: with no server named, refused before any task runs.
    (["run", "pipelines.admin.housekeeping.flows.flow"], 1),
    (["run", "pipelines.admin.watchdog.flows.flow"], 1),
    (["run", "--all"], 0),
    (["status"], 0),
    (["query", "SELECT 1 AS one"], 0),
    (["lineage", "template_pipeline.rain_per_hour"], 0),
    (["catalog"], 0),
    (["check"], 0),
    (["dev-flows", "list"], 1),
    (["register", "--all", "--dry-run"], None),
]


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    import shutil

    from tests.conftest import COPIED, IGNORED, REPO_ROOT

    root = tmp_path_factory.mktemp("offline") / "repo"
    root.mkdir()
    for name in COPIED:
        source = REPO_ROOT / name
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, root / name, **({"ignore": IGNORED} if source.is_dir() else {}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINES_", "PREFECT__"))}
    env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    env.update(
        PIPELINES_ENV="local",
        PIPELINES_DATA_DIR=str(root.parent / "data"),
        PYTHONPATH=str(NO_NETWORK),
        TEST_HOST_LOOKUPS=str(root.parent / "lookups.txt"),
    )
    return root, env


@pytest.mark.parametrize(("args", "code"), COMMANDS, ids=[" ".join(a) for a, _ in COMMANDS])
def test_no_command_looks_up_a_host_settings_did_not_give(offline, args, code):
    root, env = offline
    lookups = Path(env["TEST_HOST_LOOKUPS"])
    lookups.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    if code is not None:
        assert done.returncode == code, done.stdout[-2000:] + done.stderr[-3000:]
    looked_up = set(lookups.read_text().split()) if lookups.exists() else set()
    assert looked_up <= {"127.0.0.1", "localhost", "::1"}, (looked_up, done.stderr[-3000:])
    assert "no network in this test" not in done.stdout + done.stderr


def test_a_flow_that_needs_an_unset_setting_is_refused_with_run_alls_line(offline):
    root, env = offline
    done = subprocess.run(
        [sys.executable, "manage.py", "run", "pipelines.admin.housekeeping.flows.flow"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "Error: Flow 'admin: housekeeping' cannot run here: needs PREFECT__SERVER__HOST "
        "(Prefect Server API host, e.g. http://prefect-apollo.prefect.svc.cluster.local)."
    )
    assert (
        not (root.parent / "data" / "runs.jsonl").exists()
        or "housekeeping" not in (root.parent / "data" / "runs.jsonl").read_text()
    )
