"""The runs file run_local appends to: bounded by compaction, and no run lost to one while
other processes append."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from pathlib import Path

from pipelines.utils.health import records
from pipelines.utils.health.records import record_run, recorded_runs

NOW = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)


def test_past_its_size_the_file_keeps_each_flows_newest_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "MAX_RUNS_BYTES", 3_000)
    monkeypatch.setattr(records, "KEEP_RUNS_PER_FLOW", 5)
    path = tmp_path / "runs.jsonl"
    for minute in range(60):
        when = NOW + dt.timedelta(minutes=minute)
        record_run(path, "emd: busy", "Success" if minute % 2 else "Failed", when, when)
    record_run(path, "emd: rare", "Success", NOW, NOW)

    assert path.stat().st_size <= 3_000
    runs = recorded_runs(path)
    busy = [r.start for r in runs["emd: busy"]]
    assert busy[0] == NOW + dt.timedelta(minutes=59)  # the newest is always there
    assert len(busy) <= 5 + (3_000 // 100)  # 5 kept at the last compaction, then appends
    assert [r.start for r in runs["emd: rare"]] == [NOW]
    assert [p.name for p in tmp_path.iterdir()] == ["runs.jsonl"]  # no temporary left


def _append_many(path: str, writer: int, count: int) -> None:
    records.MAX_RUNS_BYTES = 4_000  # compactions all the time
    records.KEEP_RUNS_PER_FLOW = 10_000  # ... that keep everything: any loss is a lost append
    for number in range(count):
        when = NOW + dt.timedelta(seconds=number)
        record_run(Path(path), f"emd: writer {writer}", "Success", when, when)


def test_processes_appending_through_compactions_lose_no_run(tmp_path):
    path = tmp_path / "runs.jsonl"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_append_many, args=(str(path), w, 150)) for w in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
        assert writer.exitcode == 0

    lines = path.read_text().splitlines()
    assert len(lines) == 600 == len(set(lines))
    rows = [json.loads(line) for line in lines]
    assert {r["flow"] for r in rows} == {f"emd: writer {w}" for w in range(4)}
    assert all(len(runs) == 150 for runs in recorded_runs(path).values())


LIMITED_WRITE = """
import datetime as dt, resource, sys
from pathlib import Path
from pipelines.utils.health.records import record_run

path = Path(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 20, resource.RLIM_INFINITY))
when = dt.datetime(2026, 12, 4, 13, tzinfo=dt.UTC)
try:
    record_run(path, "emd: cut", "Success", when, when)
except OSError as error:
    print("refused", error.errno)
"""


def test_a_record_cut_short_is_taken_back_and_the_next_one_is_whole(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "runs.jsonl"
    record_run(path, "emd: before", "Success", NOW, NOW)
    before = path.read_bytes()
    # A file size limit (ulimit -f) lets only part of the record through.
    cut = subprocess.run([sys.executable, "-c", LIMITED_WRITE, str(path)], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert cut.stdout.startswith("refused"), cut.stdout + cut.stderr
    assert path.read_bytes() == before
    record_run(path, "emd: after", "Success", NOW, NOW)
    assert set(recorded_runs(path)) == {"emd: before", "emd: after"}


def test_a_torn_line_and_a_damaged_byte_cost_only_their_own_lines(tmp_path, caplog, monkeypatch):
    path = tmp_path / "runs.jsonl"
    record_run(path, "emd: a", "Success", NOW, NOW)
    with path.open("ab") as file:
        file.write(b'{"flow": "emd: b", "sta\xff')  # cut mid-line, with a byte that is not UTF-8
    record_run(path, "emd: c", "Failed", NOW, NOW)

    runs = recorded_runs(path)

    assert set(runs) == {"emd: a", "emd: c"}
    assert f"{path}: skipped 1 damaged line(s) (line 2)" in caplog.text
    monkeypatch.setattr(records, "MAX_RUNS_BYTES", 10)  # the next append compacts
    record_run(path, "emd: d", "Success", NOW, NOW)
    assert set(recorded_runs(path)) == {"emd: a", "emd: c", "emd: d"}
    assert b"\xff" not in path.read_bytes()


def test_status_and_run_never_fail_on_a_damaged_runs_file(tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    data = tmp_path / "data"
    data.mkdir()
    (data / "runs.jsonl").write_bytes(b'{"flow": "emd: x"\xff\n' + b"x" * 2_100_000 + b"\n")
    env = {**__import__("os").environ, "PIPELINES_ENV": "local", "PIPELINES_DATA_DIR": str(data)}
    for args in (["run", "pipelines.emd.test_flow.flows.flow"], ["status", "--org", "emd"]):
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "Traceback" not in done.stderr
    assert "emd: test_flow" in recorded_runs(data / "runs.jsonl")
