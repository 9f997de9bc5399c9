"""What happened: runs (from the server, or the runs run_local records) and table loads."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The local runs file's size past which it keeps only each flow's newest runs.
MAX_RUNS_BYTES = 2_000_000
KEEP_RUNS_PER_FLOW = 100
# Prefect's state names, by what the watchdog makes of them.
FAILED = frozenset({"Failed", "TimedOut", "Cancelled"})
NOT_STARTED = frozenset({"Scheduled", "Submitted", "Queued", "Pending"})


@dataclass(frozen=True)
class Run:
    """One run of a flow as the health checks read it."""

    state: str
    start: dt.datetime | None  # None: not started yet
    end: dt.datetime | None = None
    scheduled: dt.datetime | None = None
    id: str | None = None

    @property
    def when(self) -> dt.datetime | None:
        """When it ran, or was to run."""
        return self.start or self.scheduled

    @property
    def finished(self) -> bool:
        return self.end is not None or self.state == "Success" or self.state in FAILED

    @property
    def failed(self) -> bool:
        return self.state in FAILED


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    found = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def run_from(row: dict[str, Any]) -> Run:
    """A run from a server row (state, start_time, end_time, scheduled_start_time, id) or a
    recorded line (state, start, end)."""
    return Run(
        state=str(row["state"]),
        start=_time(row.get("start_time", row.get("start"))),
        end=_time(row.get("end_time", row.get("end"))),
        scheduled=_time(row.get("scheduled_start_time")),
        id=row.get("id"),
    )


def record_run(
    path: Path, flow_name: str, state: str, start: dt.datetime, end: dt.datetime
) -> None:
    """Append one local run to the runs file (one JSON line, under a lock on the file so runs
    in parallel neither mix their lines nor lose one to a compaction). Past MAX_RUNS_BYTES the
    file keeps each flow's newest KEEP_RUNS_PER_FLOW runs."""
    import fcntl

    line = json.dumps(
        {"flow": flow_name, "state": state, "start": start.isoformat(), "end": end.isoformat()}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current != os.fstat(descriptor).st_ino:
                continue  # compacted while we waited: append to the new file
            os.write(descriptor, (line + "\n").encode())
            if os.fstat(descriptor).st_size > MAX_RUNS_BYTES:
                _compact(path)
            return
        finally:
            os.close(descriptor)  # and the lock with it


def _compact(path: Path) -> None:
    """Keep each flow's newest KEEP_RUNS_PER_FLOW lines (the caller holds the file's lock)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    kept: list[str] = []
    per_flow: dict[str, int] = {}
    for line in reversed(lines):  # appended in order: newest last
        try:
            flow = str(json.loads(line)["flow"])
        except (ValueError, KeyError, TypeError):
            continue  # a torn line goes
        per_flow[flow] = per_flow.get(flow, 0) + 1
        if per_flow[flow] <= KEEP_RUNS_PER_FLOW:
            kept.append(line)
    from pipelines.utils.scratch import atomic_write

    atomic_write(path, "".join(f"{line}\n" for line in reversed(kept)).encode("utf-8"))


def recorded_runs(path: Path | None) -> dict[str, list[Run]]:
    """The recorded runs of each flow, newest first; a torn or foreign line is skipped."""
    if path is None or not path.is_file():
        return {}
    found: dict[str, list[Run]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
            found.setdefault(str(row["flow"]), []).append(run_from(row))
        except (ValueError, KeyError, TypeError):
            continue
    for runs in found.values():
        runs.sort(key=lambda r: r.when or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
    return found
