"""A tree-changing command stopped at any point (kill, Ctrl-C, a failing step) leaves the tree
as it was: no temporary files, no half-moved folders, and nothing that blocks later commands."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.manage.cli import cli
from tests.conftest import snapshot


def invoke(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--repo-root", str(root), *args])


def run_with_hook(root: Path, hook: str, *args: str) -> subprocess.Popen:
    """manage.py in its own process, with `hook` (Python) run first to stop it somewhere."""
    script = f"import os, sys, time\n{hook}\nfrom pipelines.manage.cli import main\nmain()\n"
    return subprocess.Popen(
        [sys.executable, "-c", script, "--repo-root", str(root), *args],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


KILL_WHILE_WRITING = """
from pipelines.manage import transaction
real_replace = os.replace
def replace(source, target):
    if os.path.basename(target) == {name!r}:
        os._exit(9)  # killed with the temporary file written and not yet renamed
    real_replace(source, target)
transaction.os.replace = replace
"""


@pytest.mark.parametrize("name", [".pipelines-journal.json", "__init__.py"])
def test_a_kill_midway_through_a_file_write_leaves_no_temporary_file(repo_copy: Path, name):
    before = snapshot(repo_copy)
    killed = run_with_hook(repo_copy, KILL_WHILE_WRITING.format(name=name), "add-project", "qa")
    assert killed.wait(timeout=120) == 9, killed.stdout.read()
    left = [p for p in repo_copy.rglob(f".{name}.p{killed.pid}-*")]
    assert len(left) == 1  # what the kill left, named after the killed process

    result = invoke(repo_copy, "add-project", "qa_other")
    assert result.exit_code == 0, result.output
    assert invoke(repo_copy, "remove-project", "qa_other", "--yes").exit_code == 0

    assert snapshot(repo_copy) == before


STOP_AT_SECOND_MOVE = """
from pipelines.manage import transaction
real_rename, moves = os.rename, []
def rename(source, target):
    real_rename(source, target)
    moves.append(target)
    if len(moves) == 2:
        print("moved", flush=True)
        time.sleep(60)  # stopped here, half done
transaction.os.rename = rename
"""


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 1)])
def test_kill_or_ctrl_c_during_a_command_rolls_it_back_at_once(repo_copy: Path, sent, code):
    before = snapshot(repo_copy)
    running = run_with_hook(repo_copy, STOP_AT_SECOND_MOVE, "add-project", "qa")
    assert running.stdout.readline() == "moved\n"
    running.send_signal(sent)

    assert running.wait(timeout=60) == code
    assert snapshot(repo_copy) == before  # no journal left for a later command to undo


STOP_THE_DELETE = """
import errno, shutil
from pathlib import Path
real_rename, real_rmtree = os.rename, shutil.rmtree
def rename(source, target, *args, **kwargs):
    if ".pipelines-trash" in str(target):  # as across a mount: the move copies, then deletes
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    real_rename(source, target, *args, **kwargs)
def rmtree(path, *args, **kwargs):
    if {stop} and "/pipelines/emd/qa" in str(path):
        files = sorted(p for p in Path(path).rglob("*") if p.is_file())
        for file in files[:3]:
            file.unlink()
        {then}
    real_rmtree(path, *args, **kwargs)
os.rename, shutil.rmtree = rename, rmtree
"""
FAIL = 'raise PermissionError(errno.EACCES, "Permission denied", str(files[3]))'
KILL = "os._exit(9)  # killed with the folder copied and half deleted"


def _as_if_another_file_system(monkeypatch, stop: bool = False) -> None:
    """Run STOP_THE_DELETE in this process, until monkeypatch puts things back."""
    monkeypatch.setattr(os, "rename", os.rename)
    monkeypatch.setattr(shutil, "rmtree", shutil.rmtree)
    exec(STOP_THE_DELETE.format(stop=stop, then=FAIL), {"os": os})


def test_remove_project_across_file_systems_removes_it(repo_copy: Path, monkeypatch):
    before = snapshot(repo_copy)
    assert invoke(repo_copy, "add-project", "qa").exit_code == 0
    _as_if_another_file_system(monkeypatch)

    result = invoke(repo_copy, "remove-project", "qa", "--yes")

    assert result.exit_code == 0, result.output
    assert snapshot(repo_copy) == before


def test_a_delete_that_stops_halfway_is_rolled_back_and_blocks_nothing(
    repo_copy: Path, monkeypatch
):
    assert invoke(repo_copy, "add-project", "qa").exit_code == 0
    before = snapshot(repo_copy)
    with monkeypatch.context() as patched:
        _as_if_another_file_system(patched, stop=True)
        refused = invoke(repo_copy, "remove-project", "qa", "--yes")

    assert refused.exit_code == 1
    assert refused.output.startswith("Error: Permission denied (")
    assert len(refused.output.splitlines()) == 1
    assert snapshot(repo_copy) == before  # the three deleted files are back
    later = invoke(repo_copy, "add-project", "qa_other")
    assert later.exit_code == 0, later.output
    assert "interrupted" not in later.output


def test_a_kill_halfway_through_a_copied_delete_is_undone_by_the_next_command(repo_copy: Path):
    assert invoke(repo_copy, "add-project", "qa").exit_code == 0
    before = snapshot(repo_copy)
    killed = run_with_hook(
        repo_copy, STOP_THE_DELETE.format(stop=True, then=KILL), "remove-project", "qa", "--yes"
    )
    assert killed.wait(timeout=120) == 9, killed.stdout.read()
    assert snapshot(repo_copy) != before

    later = invoke(repo_copy, "add-project", "qa_other")

    assert later.exit_code == 0, later.output
    assert "`manage.py remove-project qa --org emd` was interrupted earlier" in later.output
    assert invoke(repo_copy, "remove-project", "qa_other", "--yes").exit_code == 0
    assert snapshot(repo_copy) == before


def test_a_folder_that_cannot_be_moved_aside_is_refused_before_anything_changes(
    repo_copy: Path, monkeypatch
):
    assert invoke(repo_copy, "add-project", "qa").exit_code == 0
    before = snapshot(repo_copy)
    real_rename = os.rename

    def rename(source, target, *args, **kwargs):
        if ".pipelines-trash" in str(target):
            raise PermissionError(errno.EACCES, "Permission denied")
        real_rename(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    result = invoke(repo_copy, "remove-project", "qa", "--yes")
    monkeypatch.undo()

    assert result.exit_code == 1
    assert result.output == (
        f"Error: Could not move {repo_copy / 'pipelines/emd/qa'} aside to remove it: "
        "Permission denied. Nothing was removed.\n"
    )
    assert snapshot(repo_copy) == before
