"""The import graph's cache: the same graph as parsing every file, and never trusted blindly."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.utils.deploy.graph import CACHE, ModuleGraph


def shape(graph: ModuleGraph) -> tuple:
    return graph.files, graph.imports, graph.unresolved, graph.errors, graph.data_files


def test_a_graph_read_from_the_cache_is_the_graph_parsed_from_the_files(repo_copy: Path):
    parsed = ModuleGraph.build(repo_copy, cache=False)
    assert not (repo_copy / CACHE).exists()

    first = ModuleGraph.build(repo_copy)  # parses, writes the cache
    cached = json.loads((repo_copy / CACHE).read_text())
    second = ModuleGraph.build(repo_copy)  # reads it

    assert shape(first) == shape(parsed) == shape(second)
    assert len(cached["files"]) == len({p.read_bytes() for p in parsed.files.values()})


def test_a_changed_file_is_parsed_again_and_its_stale_entry_dropped(repo_copy: Path):
    ModuleGraph.build(repo_copy)
    before = set(json.loads((repo_copy / CACHE).read_text())["files"])
    tasks = repo_copy / "pipelines/emd/test_flow/tasks.py"
    tasks.write_text(tasks.read_text() + "\nfrom pipelines.utils.dump_db import drivers\n")

    graph = ModuleGraph.build(repo_copy)

    assert "pipelines.utils.dump_db.drivers" in graph.imports["pipelines.emd.test_flow.tasks"]
    after = set(json.loads((repo_copy / CACHE).read_text())["files"])
    assert len(after - before) == 1 and len(before - after) == 1


def test_syntax_errors_are_cached_and_still_reported(repo_copy: Path):
    (repo_copy / "pipelines/emd/test_flow/tasks.py").write_text("def broken(:\n")
    ModuleGraph.build(repo_copy)

    graph = ModuleGraph.build(repo_copy)

    assert graph.errors["pipelines.emd.test_flow.tasks"].startswith("SyntaxError")
    assert graph.imports["pipelines.emd.test_flow.tasks"] == set()


def test_a_corrupt_or_foreign_cache_is_ignored_and_replaced(repo_copy: Path):
    parsed = ModuleGraph.build(repo_copy, cache=False)
    path = repo_copy / CACHE
    path.parent.mkdir()
    for content in ("{not json", json.dumps({"format": "0-py2.7", "files": {}}), "[]"):
        path.write_text(content)
        assert shape(ModuleGraph.build(repo_copy)) == shape(parsed)
        assert json.loads(path.read_text())["format"] != "0-py2.7"


def test_a_checkout_that_cannot_be_written_still_gets_its_graph(repo_copy: Path):
    (repo_copy / CACHE.parent).write_text("a file where the cache folder would be")

    graph = ModuleGraph.build(repo_copy)

    assert shape(graph) == shape(ModuleGraph.build(repo_copy, cache=False))


def test_modules_outside_the_package_are_recorded_wherever_they_are_imported(repo_copy):
    tasks = repo_copy / "pipelines/emd/test_flow/tasks.py"
    tasks.write_text(
        tasks.read_text()
        + "\n\ndef later():\n    import yaml\n    from google.cloud import storage\n"
        + "    from . import constants\n    return yaml, storage, constants\n"
    )
    graph = ModuleGraph.build(repo_copy, cache=False)
    found = graph.external["pipelines.emd.test_flow.tasks"]
    assert {"yaml", "google", "prefect"} <= found
    assert "pipelines" not in found and "constants" not in found
