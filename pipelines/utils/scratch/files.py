"""Scratch files named after their process, swept once that process is gone."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

# `<prefix>p<pid>-<random><suffix>`: the pid tells the next run whose file it is.
_OWNER = re.compile(r"p(\d+)-")

_made: set[Path] = set()
_lock = threading.Lock()


def _check(prefix: str) -> None:
    if not prefix or prefix[-1] not in "-.":
        raise ValueError(f"scratch prefix {prefix!r} must end with '-' or '.' (e.g. 'my-step-')")


def _swept(prefix: str, folder: Path | None, create: bool = False) -> Path:
    """The folder a new scratch path goes in (made first with create), once dead runs' are
    gone."""
    _check(prefix)
    where = folder or Path(tempfile.gettempdir())
    if create:
        where.mkdir(parents=True, exist_ok=True)
    sweep(prefix, where)
    return where


def scratch_file(prefix: str, suffix: str = "", folder: Path | None = None) -> Path:
    """Create an empty file for this process, after removing what dead runs left there.

    Args:
        prefix: What the file is, ending in '-' or '.' (e.g. 'pipelines-url-').
        suffix: Its ending (e.g. '.parquet').
        folder: Where to make it; the system's temporary folder by default.

    Returns:
        The new file's path; `release` it when done (a `scope` does it too).
    """
    where = _swept(prefix, folder)
    handle, name = tempfile.mkstemp(prefix=f"{prefix}p{os.getpid()}-", suffix=suffix, dir=where)
    os.close(handle)
    return _remember(Path(name))


def scratch_dir(prefix: str, folder: Path | None = None) -> Path:
    """Create an empty folder for this process, after removing what dead runs left there.

    Args:
        prefix: What the folder is for, ending in '-' or '.' (e.g. 'pipelines-dbt-').
        folder: Where to make it; the system's temporary folder by default.

    Returns:
        The new folder's path (mode 0700); `release` it when done.
    """
    where = _swept(prefix, folder, create=True)
    return _remember(Path(tempfile.mkdtemp(prefix=f"{prefix}p{os.getpid()}-", dir=where)))


def scratch_path(prefix: str, folder: Path) -> Path:
    """A new name for this process in folder, nothing made there yet (a rename's target, or
    a folder to create with the usual mode), after removing what dead runs left.

    Args:
        prefix: What it is, ending in '-' or '.'.
        folder: Where it will be.
    """
    where = _swept(prefix, folder)
    return _remember(where / f"{prefix}p{os.getpid()}-{uuid.uuid4().hex[:12]}")


@contextlib.contextmanager
def temporary_folder(prefix: str, folder: Path | None = None) -> Iterator[Path]:
    """A scratch_dir removed when the block ends (tempfile.TemporaryDirectory, but one a
    killed run leaves behind is swept by the next)."""
    path = scratch_dir(prefix, folder)
    try:
        yield path
    finally:
        release(path)


def release(path: Path | str) -> None:
    """Delete a scratch file or folder (whichever it is; gone already is fine)."""
    path = Path(path)
    with _lock:
        _made.discard(path)
    _remove(path)


@contextlib.contextmanager
def scope() -> Iterator[None]:
    """Remove, when the block ends however it ends, every scratch path made inside it that is
    still there (a run stopped by Ctrl-C skips the tasks that would have cleaned up)."""
    with _lock:
        before = set(_made)
    try:
        yield
    finally:
        with _lock:
            left = _made - before
        for path in left:
            release(path)


def sweep(prefix: str, folder: Path | None = None) -> list[Path]:
    """Remove the scratch paths with this prefix whose process has ended.

    Args:
        prefix: As given to scratch_file or scratch_dir.
        folder: Where to look; the system's temporary folder by default.

    Returns:
        What was removed.
    """
    where = folder or Path(tempfile.gettempdir())
    removed = []
    for entry in Path(where).glob(f"{glob.escape(prefix)}p*-*"):
        owner = _OWNER.match(entry.name[len(prefix) :])
        if owner and not _owner_alive(int(owner.group(1)), entry):
            _remove(entry)
            removed.append(entry)
    return removed


def _remember(path: Path) -> Path:
    with _lock:
        _made.add(path)
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _owner_alive(pid: int, entry: Path) -> bool:
    """Whether the process that made entry may still be using it."""
    if pid == os.getpid():
        return True  # this process's own: its scope or release removes it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, run by another user
    try:
        changed = entry.lstat().st_ctime
    except FileNotFoundError:
        return True  # removed meanwhile
    started = _started_at(pid)
    # A process that started after the entry last changed is not its maker: the pid was reused.
    return started is None or started <= changed + 1


def _started_at(pid: int) -> float | None:
    """When a process started (Unix time), from /proc; None where /proc cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
