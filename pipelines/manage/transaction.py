"""All-or-nothing file changes: every step is undone if a later one fails."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from pipelines.manage.errors import CliError

LOCK_WAIT_S = 120


@contextlib.contextmanager
def repo_lock(root: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """One tree-changing command at a time per repository: concurrent add-project runs queue
    here, and each re-reads the files it edits once it holds the lock."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"pipelines-{digest}.lock"
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise CliError(
                        f"Another manage.py command has been changing {root} for over "
                        f"{wait_s:.0f} s (lock {path}); wait for it, or remove the lock file "
                        "if no such command runs."
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace path's bytes in one step: readers see the old file or the new, never half."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if path.exists():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Transaction:
    """Record file-system changes and roll them back when the block raises.

    Example:
        with Transaction() as tx:
            tx.move_tree(rendered, target)
            tx.write_text(init_file, new_source)
    """

    def __init__(self) -> None:
        self._undo: list[tuple[str, Path, bytes | None]] = []

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.rollback()

    def move_tree(self, source: Path, target: Path) -> None:
        """Move a rendered folder into place; refuses to merge into an existing one."""
        if target.exists():
            raise FileExistsError(f"{target} already exists")
        created = _missing_parents(target)
        self._undo.append(("rmtree", target, None))
        for parent in created:
            self._undo.append(("rmdir", parent, None))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))

    def write_text(self, path: Path, text: str) -> None:
        """Write a file, remembering its previous bytes (or absence)."""
        before = path.read_bytes() if path.exists() else None
        self._undo.append(("restore", path, before))
        atomic_write(path, text.encode("utf-8"))

    def remove_tree(self, path: Path, backup_root: Path) -> None:
        """Move a folder aside into backup_root so a rollback can bring it back."""
        backup = backup_root / f"{len(self._undo)}-{path.name}"
        shutil.move(str(path), str(backup))
        self._undo.append(("bring_back", path, str(backup).encode()))

    def rollback(self) -> None:
        """Undo every recorded change, newest first. A step that cannot be undone does not stop
        the others; afterwards CliError says what is left and where (nothing is lost: a removed
        folder stays at its backup path)."""
        left = []
        for action, path, data in reversed(self._undo):
            try:
                if action == "rmtree" and path.exists():
                    shutil.rmtree(path)
                elif action == "rmdir" and path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
                elif action == "restore":
                    if data is None:
                        path.unlink(missing_ok=True)
                    else:
                        atomic_write(path, data)
                elif action == "bring_back" and data is not None:
                    shutil.move(data.decode(), str(path))
            except OSError as error:
                where = f" (it is at {data.decode()})" if action == "bring_back" and data else ""
                left.append(f"{action} {path}{where}: {error.strerror or error}")
        self._undo.clear()
        if left:
            raise CliError("Could not undo every step; fix these by hand:\n  " + "\n  ".join(left))


def _missing_parents(path: Path) -> list[Path]:
    """Parents of path that do not exist yet, deepest first."""
    missing = []
    for parent in path.parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing
