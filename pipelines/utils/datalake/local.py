"""A datalake in a local folder, for the local environment."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

from pipelines.constants import DEFAULT_LOCK_TIMEOUT_S
from pipelines.errors import DatalakeError
from pipelines.utils.datalake.base import Datalake
from pipelines.utils.datalake.schema import history_key
from pipelines.utils.scratch import release, scratch_path


class LocalDatalake(Datalake):
    """Files under a root folder; a prefix is replaced by renaming a fully written folder."""

    keeps_unloaded_writes = True

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def location(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if path != self.root.resolve() and self.root.resolve() not in path.parents:
            raise DatalakeError(f"Key {key!r} points outside the datalake {self.root}.")
        return path

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def list_keys(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.exists():
            return []
        root = self.root.resolve()
        return sorted(
            str(p.relative_to(root))
            for p in base.rglob("*")
            if p.is_file() and ".tmp-" not in str(p)
        )

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def replace_prefix(self, prefix: str, files: dict[str, Path], move: bool = False) -> list[str]:
        target = self._path(prefix)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target, then swap: a run killed midway leaves the old folder whole,
        # and the next swap of this prefix removes what it left.
        staging = scratch_path(f".tmp-{target.name}-", target.parent)
        staging.mkdir()
        try:
            for name, source in files.items():
                if move:
                    shutil.move(source, staging / name)
                else:
                    shutil.copyfile(source, staging / name)
            old = None
            if target.exists():
                old = scratch_path(f".tmp-old-{target.name}-", target.parent)
                target.rename(old)
            staging.rename(target)
            if old is not None:
                release(old)
        finally:
            release(staging)
        return [f"{prefix}/{name}" for name in files]

    def local_file(self, key: str, folder: Path) -> Path:
        return self._path(key)

    def put(self, key: str, source: Path) -> str:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".tmp-{target.name}")
        shutil.copyfile(source, partial)
        partial.rename(target)
        return key

    def delete_prefix(self, prefix: str) -> int:
        target = self._path(prefix)
        if not target.exists():
            return 0
        count = sum(1 for p in target.rglob("*") if p.is_file())
        shutil.rmtree(target)
        return count

    # Writes not yet loaded: <root>/.pipelines-pending/<id>.json says which table folder, and
    # <id>/ keeps the files it held before (hard links, so keeping them costs no copy). The
    # writing process holds <dataset>.<table>.lock until settle(), so a second run's write
    # of the same table waits, and a journal whose lock is free was left by a killed run.
    @property
    def _pending(self) -> Path:
        return self.root / ".pipelines-pending"

    def _journals(self) -> dict[str, dict]:
        found = {}
        for path in sorted(self._pending.glob("*.json")) if self._pending.is_dir() else []:
            try:
                entry = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # a journal cut short by a kill: its write never started
            found[entry["prefix"]] = entry
        return found

    def _held_key(self, prefix: str) -> tuple[str, str]:
        return (str(self.root.resolve()), prefix)

    def _lock_path(self, prefix: str) -> Path:
        return self._pending / (prefix.replace("/", ".") + ".lock")

    def write_id(self, prefix: str) -> str | None:
        entry = self._journals().get(prefix)
        return entry["id"] if entry else None

    def begin_write(self, prefix: str, timeout: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        key = self._held_key(prefix)
        held = _HELD.get(key)
        if held is not None and held[1] != _current_run():
            # A run of this process ended between its write and its load (a notebook going
            # on after a failure): its write is settled back first (Warehouse.recover does
            # it before any write or read); never joined to this run's.
            raise DatalakeError(
                f"{prefix} holds the unsettled write of an earlier run of this process: "
                "settle it first (the warehouse's recover does)."
            )
        if held is None:
            self._pending.mkdir(parents=True, exist_ok=True)
            descriptor = _wait_for_lock(
                self._lock_path(prefix), timeout, f"{prefix} is being written"
            )
            _HELD[key] = (descriptor, _current_run())
        if prefix in self._journals():
            return  # an earlier write of this run is not loaded yet: keep the older copy
        write_id = uuid.uuid4().hex[:16]
        kept = self._pending / write_id
        target = self._path(prefix)
        if target.is_dir():
            shutil.copytree(target, kept, copy_function=_link_or_copy)
        # The table's schema history goes back with its folder (it lives outside it).
        history = self._path(history_key(prefix))
        if history.is_file():
            _link_or_copy(str(history), str(self._pending / f"{write_id}.schema"))
        entry = {
            "id": write_id,
            "prefix": prefix,
            "existed": target.is_dir(),
            "history": history.is_file(),
        }
        partial = self._pending / f".{write_id}.json"
        partial.write_text(json.dumps(entry), encoding="utf-8")
        partial.rename(self._pending / f"{write_id}.json")

    def settle(self, prefix: str, loaded: bool) -> None:
        entry = self._journals().get(prefix)
        if entry is not None:
            kept = self._pending / entry["id"]
            kept_history = self._pending / f"{entry['id']}.schema"
            if not loaded:
                target = self._path(prefix)
                discard = self._pending / f"{entry['id']}-discard"
                if target.exists():
                    target.rename(discard)
                if entry["existed"]:
                    kept.rename(target)
                shutil.rmtree(discard, ignore_errors=True)
                history = self._path(history_key(prefix))
                if entry.get("history"):
                    kept_history.rename(history)
                else:
                    history.unlink(missing_ok=True)
            kept_history.unlink(missing_ok=True)
            (self._pending / f"{entry['id']}.json").unlink()
            shutil.rmtree(kept, ignore_errors=True)
        held = _HELD.pop(self._held_key(prefix), None)
        if held is not None:
            os.close(held[0])  # releases the lock

    def has_ended_writes(self) -> bool:
        return has_unsettled_writes(self.root)

    def pending_writes(self) -> dict[str, str]:
        stale = {}
        for prefix, entry in self._journals().items():
            held = _HELD.get(self._held_key(prefix))
            if held is not None:
                if held[1] != _current_run():  # a run of this process that has ended
                    stale[prefix] = entry["id"]
                continue  # else this run's own write, not loaded yet
            try:
                descriptor = _wait_for_lock(self._lock_path(prefix), 0, "")
            except DatalakeError:
                continue  # its writer is alive
            os.close(descriptor)
            stale[prefix] = entry["id"]
        return stale


# (datalake root, table prefix) -> the open lock file of a write this process has begun, and
# the flow run that began it: a write outlives its run only when the run ended before the load.
_HELD: dict[tuple[str, str], tuple[int, str | None]] = {}


def _current_run() -> str | None:
    """The flow run this code runs in (Prefect gives every run, local ones too, an id)."""
    import prefect

    return prefect.context.get("flow_run_id")


def has_unsettled_writes(root: Path) -> bool:
    """Whether this process holds writes under a datalake root that no running run owns."""
    here = str(root.resolve())
    return any(r == here and run != _current_run() for (r, _), (_, run) in _HELD.items())


def _wait_for_lock(path: Path, timeout: float, what: str) -> int:
    """Open and lock path exclusively, waiting up to timeout seconds; the descriptor holds
    the lock until closed (or the process ends, however it ends)."""
    import fcntl
    import time

    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return descriptor
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(descriptor)
                raise DatalakeError(
                    f"{what} by another run; waited {timeout:g} s (raise "
                    "PIPELINES_WAREHOUSE_LOCK_TIMEOUT_S to wait longer)."
                ) from None
            time.sleep(0.1)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
