"""Prefect Server's documents live in one package, match the real schema, and the client reads
what the test server answers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from graphql import parse, validate
from prefect import Client

from pipelines.utils.server import Server
from pipelines.utils.server import client as server_client
from pipelines.utils.server.documents import DOCUMENTS
from tests.support.prefect_server import PrefectTestServer
from tests.support.prefect_server.schema import build_prefect_schema

ROOT = Path(__file__).resolve().parents[4]
# A string that opens like a GraphQL operation: `query Name(` / `mutation Name(` / `query {`.
OPERATION = re.compile(r"^\s*(query|mutation)\s*(\w+\s*)?[({]", re.MULTILINE)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_document_is_valid_against_the_real_schema(name):
    schema = build_prefect_schema(PrefectTestServer.__new__(PrefectTestServer))
    assert validate(schema, parse(DOCUMENTS[name])) == []


def test_each_operation_is_written_once():
    operations = [parse(text).definitions[0] for text in DOCUMENTS.values()]
    names = [op.name.value for op in operations]  # type: ignore[attr-defined]
    assert len(set(names)) == len(names)
    bodies = [" ".join(text.split()) for text in DOCUMENTS.values()]
    assert len(set(bodies)) == len(bodies)


def test_no_module_outside_the_server_package_writes_a_document():
    found = []
    home = ROOT / "pipelines" / "utils" / "server"
    for path in sorted((ROOT / "pipelines").rglob("*.py")):
        if path.is_relative_to(home):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and OPERATION.search(text):
                found.append(str(path.relative_to(ROOT)))
    assert found == []


@pytest.fixture
def server():
    with PrefectTestServer() as running:
        running.add_project("main")
        yield running


def test_the_client_reads_runs_and_flows_as_the_callers_expect(server):
    api = Server(Client(api_server=server.url))
    old = server.plant_flow("emd: f", "main", version=1)
    group = server.flows[old]["flow_group_id"]
    new = server.plant_flow("emd: f", "main", version=2, flow_group_id=group)
    running = server.plant_flow_run(new, "Running", name="r1")
    failed = server.plant_flow_run(old, "Failed", name="r0")
    assert api.project_id("main") and api.project_id("nope") is None
    assert api.latest_flow_id("emd: f", "main") == new
    assert api.latest_flow_id("emd: g", "main") is None
    assert api.run(running)["flow"]["project"]["name"] == "main"
    assert api.run_state(running) == ("Running", None)
    assert api.other_running_runs(old, failed) == [running]
    assert api.recent_states(running, 10) == ["Failed"]
    assert api.versions([old, new]) == {old: 1, new: 2}
    assert api.cancel_run(running) == "Cancelled"
    assert api.run_state(running)[0] == "Cancelled"
    assert api.archive_flow(new) is True
    assert [f["id"] for f in api.live_versions("main")] == [old]
    assert api.delete_run(failed) is True
    assert failed not in server.flow_runs


def test_long_lists_are_sent_in_batches(server, monkeypatch):
    monkeypatch.setattr(server_client, "BATCH", 2)
    api = Server(Client(api_server=server.url))
    ids = [server.plant_flow(f"emd: f{i}", "main") for i in range(5)]
    names = [f"emd: f{i}" for i in range(5)]
    assert sorted(api.latest_versions("main", names)) == names
    assert sorted(api.versions(ids)) == sorted(ids)
    assert len(server.calls("LatestVersions")) == 3 and len(server.calls("Versions")) == 3
