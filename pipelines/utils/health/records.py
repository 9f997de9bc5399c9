"""What happened: runs (from the server, or the runs run_local records) and table loads."""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The local runs file's size past which it keeps only each flow's newest runs.
MAX_RUNS_BYTES = 2_000_000
KEEP_RUNS_PER_FLOW = 100
# Prefect's state names, by what the watchdog makes of them.
FAILED = frozenset({"Failed", "TimedOut", "Cancelled"})


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
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current != os.fstat(descriptor).st_ino:
                continue  # compacted while we waited: append to the new file
            _append_whole(descriptor, line)
            if os.fstat(descriptor).st_size > MAX_RUNS_BYTES:
                _compact(path)
            return
        finally:
            os.close(descriptor)  # and the lock with it


def _append_whole(descriptor: int, line: str) -> None:
    """Append one record on a line of its own, whole or not at all: a write cut short (a full
    disk, a file size limit) is taken back, and a line an earlier cut left unended does not
    swallow this one."""
    size = os.fstat(descriptor).st_size
    data = (line + "\n").encode()
    if size and os.pread(descriptor, 1, size - 1) != b"\n":
        data = b"\n" + data  # the torn line stays alone, and is skipped when read
    try:
        written = os.write(descriptor, data)
        if written != len(data):
            raise OSError(errno.ENOSPC, f"only {written} of {len(data)} bytes were written")
    except BaseException:
        os.ftruncate(descriptor, size)
        raise


def _lines(path: Path) -> list[tuple[int, str | None]]:
    """(line number, text) of each line of the runs file; text None when the line is not
    UTF-8 (damaged): the other lines still read."""
    found: list[tuple[int, str | None]] = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            found.append((number, raw.decode("utf-8")))
        except UnicodeDecodeError:
            found.append((number, None))
    return found


def _compact(path: Path) -> None:
    """Keep each flow's newest KEEP_RUNS_PER_FLOW lines (the caller holds the file's lock)."""
    kept: list[str] = []
    per_flow: dict[str, int] = {}
    for _, line in reversed(_lines(path)):  # appended in order: newest last
        try:
            flow = str(json.loads(line)["flow"])  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError):
            continue  # a torn or damaged line goes
        per_flow[flow] = per_flow.get(flow, 0) + 1
        if per_flow[flow] <= KEEP_RUNS_PER_FLOW:
            kept.append(line)  # type: ignore[arg-type]
    from pipelines.utils.scratch import atomic_write

    atomic_write(path, "".join(f"{line}\n" for line in reversed(kept)).encode("utf-8"))


def recorded_runs(path: Path | None) -> dict[str, list[Run]]:
    """The recorded runs of each flow, newest first; a torn, damaged or foreign line is
    skipped, with one warning naming the lines."""
    if path is None or not path.is_file():
        return {}
    found: dict[str, list[Run]] = {}
    skipped = []
    for number, line in _lines(path):
        try:
            row = json.loads(line)  # type: ignore[arg-type]
            found.setdefault(str(row["flow"]), []).append(run_from(row))
        except (ValueError, KeyError, TypeError, AttributeError):
            if line is None or line.strip():
                skipped.append(number)
    if skipped:
        listed = ", ".join(map(str, skipped[:5])) + (" ..." if len(skipped) > 5 else "")
        logging.getLogger("pipelines.health").warning(
            "%s: skipped %d damaged line(s) (line %s); the next compaction drops them.",
            path, len(skipped), listed,
        )  # fmt: skip
    for runs in found.values():
        runs.sort(key=lambda r: r.when or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)
    return found
