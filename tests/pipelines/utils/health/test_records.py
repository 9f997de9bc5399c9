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
