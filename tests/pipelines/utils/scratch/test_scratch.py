"""Scratch paths: swept once their process is gone, kept while it lives, removed by a scope."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.utils import scratch
from pipelines.utils.scratch.files import _started_at


def _ended_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_sweep_removes_only_what_ended_processes_made(tmp_path: Path):
    dead = _ended_pid()
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / f"step-p{dead}-abc.csv").write_text("left by a killed run")
        (tmp_path / f"step-p{dead}-def").mkdir()
        (tmp_path / f"step-p{dead}-def" / "part.parquet").write_text("x")
        (tmp_path / f"step-p{living.pid}-ghi").write_text("still being written")
        (tmp_path / f"other-p{dead}-jkl").write_text("another prefix")
        (tmp_path / "step-notes.txt").write_text("not a scratch name")

        removed = scratch.sweep("step-", tmp_path)

        assert sorted(p.name for p in removed) == [f"step-p{dead}-abc.csv", f"step-p{dead}-def"]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [f"step-p{living.pid}-ghi", f"other-p{dead}-jkl", "step-notes.txt"]
        )
    finally:
        living.kill()
        living.wait()


def test_a_new_scratch_file_sweeps_its_prefix_first(tmp_path: Path):
    stale = tmp_path / f"pipelines-url-p{_ended_pid()}-x1"
    stale.write_bytes(b"0" * 1024)
    made = scratch.scratch_file("pipelines-url-", ".csv", tmp_path)
    assert made.name.startswith(f"pipelines-url-p{os.getpid()}-") and made.suffix == ".csv"
    assert not stale.exists()
    scratch.release(made)
    assert list(tmp_path.iterdir()) == []


def test_a_scope_removes_what_was_made_inside_it_however_it_ends(tmp_path: Path):
    kept = scratch.scratch_file("outside-", folder=tmp_path)
    with pytest.raises(KeyboardInterrupt), scratch.scope():
        scratch.scratch_file("inside-", folder=tmp_path)
        (scratch.scratch_dir("inside-", tmp_path) / "part").write_text("x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == [kept]
    scratch.release(kept)


def test_temporary_folder_is_gone_after_its_block(tmp_path: Path):
    with scratch.temporary_folder("pipelines-dbt-", tmp_path) as folder:
        (folder / "profiles.yml").write_text("x")
    assert list(tmp_path.iterdir()) == []


def test_a_prefix_must_end_in_a_separator():
    with pytest.raises(ValueError, match=r"must end with '-' or '\.'"):
        scratch.scratch_file("nodash")


def test_a_process_start_time_is_read_from_proc():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = _started_at(process.pid)
        assert started is not None and abs(started - time.time()) < 10
    finally:
        process.kill()
        process.wait()
