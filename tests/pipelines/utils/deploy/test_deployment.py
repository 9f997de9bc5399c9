"""A stored flow, exactly as register writes it, loads and runs with no repo code installed."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipelines.manage.inventory import load_modules
from pipelines.utils.deploy.deployment import deployment_copy
from pipelines.utils.deploy.graph import ModuleGraph
from pipelines.utils.deploy.target import Target
from pipelines.utils.inventory import Repo, flow_modules
from tests.conftest import REPO_ROOT
from tests.support.without_repo import run_without_repo

TARGET = Target(
    project="main",
    bucket="flows",
    image="ghcr.io/city/pipelines:deps-abc123",
    schedule_active=True,
    env=(("PIPELINES_ENV", "local"),),
)

LOAD_EVERY_FLOW = """
import json, sys
from pathlib import Path
from prefect import Flow
from prefect.utilities.storage import flow_from_bytes_pickle

stored = json.loads(sys.stdin.read())
for name, path in stored.items():
    flow = flow_from_bytes_pickle(Path(path).read_bytes())  # what GCS.get_flow does
    assert isinstance(flow, Flow) and flow.name == name, (name, flow)
    assert flow.storage.flows[name].endswith(".pickle"), flow.storage.flows
    print("LOADED", name, type(flow).__module__, flow.storage.__class__.__name__)
    if name == "emd: template_pipeline":
        import pipelines
        print("CODE", pipelines.__file__)
        state = flow.run(run_on_schedule=False)
        for task, task_state in state.result.items():
            if not task_state.is_successful():
                print("TASK", task.name, task_state.message)
        print("RAN", state.is_successful())
"""


def test_every_stored_flow_loads_without_the_repo_and_the_example_runs(tmp_path: Path):
    repo = Repo(REPO_ROOT)
    found = load_modules([m.module for m in flow_modules(repo)])
    assert not found.problems
    graph = ModuleGraph.build(REPO_ROOT, cache=False)
    stored = {}
    for index, (_, flow) in enumerate(found.flows):
        deployment = deployment_copy(flow, TARGET, graph)
        path = tmp_path / f"flow-{index}.json"
        path.write_bytes(deployment.data())  # the bytes register uploads
        stored[deployment.flow.name] = str(path)
    assert {"emd: template_pipeline", "emd: test_flow"} <= set(stored)
    pod = tmp_path / "pod"
    pod.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT__", "PIPELINES_"))}
    env.update(PIPELINES_ENV="local", PIPELINES_DATA_DIR=str(pod / "data"))

    ran = run_without_repo(LOAD_EVERY_FLOW, cwd=pod, env=env, stdin=json.dumps(stored))

    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output[-4000:]
    assert sorted(
        line.split(" ", 1)[1].rsplit(" ", 2)[0]
        for line in ran.stdout.splitlines()
        if line.startswith("LOADED")
    ) == sorted(stored)
    assert "/pipelines-flow-code/" in ran.stdout.split("CODE ")[1].splitlines()[0]
    assert "RAN True" in ran.stdout, output[-4000:]
    assert str(REPO_ROOT) not in output


def test_the_isolated_interpreter_really_cannot_import_pipelines(tmp_path: Path):
    ran = run_without_repo("import pipelines", cwd=REPO_ROOT, env=dict(os.environ))
    assert ran.returncode == 1
    assert "No module named 'pipelines'" in ran.stderr


def test_a_change_to_the_deployment_recipe_gives_every_flow_a_new_key(monkeypatch):
    from pipelines.emd.test_flow.flows import flow
    from pipelines.utils.deploy import keys

    graph = ModuleGraph.build(REPO_ROOT, cache=False)
    before = deployment_copy(flow, TARGET, graph).key
    assert deployment_copy(flow, TARGET, graph).key == before
    monkeypatch.setattr(keys, "recipe_digest", lambda: b"a fixed loader")
    assert deployment_copy(flow, TARGET, graph).key != before
