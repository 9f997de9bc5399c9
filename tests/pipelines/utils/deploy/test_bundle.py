"""The code bundle: a valid zip of exactly the closure, the same bytes for the same files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from pipelines.utils.deploy.bundle import build_archive
from pipelines.utils.deploy.graph import ModuleGraph

MODULE = "pipelines.emd.template_pipeline.flows"


def test_the_archive_is_a_zip_holding_exactly_the_closure_byte_for_byte(repo_copy: Path):
    graph = ModuleGraph.build(repo_copy)
    files = graph.closure_files(MODULE)

    archive = zipfile.ZipFile(io.BytesIO(build_archive(graph, MODULE)))

    assert archive.testzip() is None  # every member's CRC checks
    assert archive.namelist() == [p.relative_to(repo_copy).as_posix() for p in files]
    for info, path in zip(archive.infolist(), files, strict=True):
        assert archive.read(info) == path.read_bytes()
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o644


def test_the_same_files_give_the_same_bytes_and_a_change_changes_them(repo_copy: Path):
    first = build_archive(ModuleGraph.build(repo_copy), MODULE)
    assert build_archive(ModuleGraph.build(repo_copy), MODULE) == first

    tasks = repo_copy / "pipelines/emd/template_pipeline/tasks.py"
    tasks.write_text(tasks.read_text() + "\n# changed\n")
    changed = build_archive(ModuleGraph.build(repo_copy), MODULE)

    assert changed != first
    member = "pipelines/emd/template_pipeline/tasks.py"
    assert zipfile.ZipFile(io.BytesIO(changed)).read(member) == tasks.read_bytes()


def test_a_non_ascii_file_name_reads_back(repo_copy: Path):
    data = repo_copy / "pipelines/emd/template_pipeline/data/estações.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    graph = ModuleGraph.build(repo_copy)

    archive = zipfile.ZipFile(io.BytesIO(build_archive(graph, MODULE)))

    name = "pipelines/emd/template_pipeline/data/estações.csv"
    assert archive.read(name) == data.read_bytes()
