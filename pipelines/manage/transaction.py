"""All-or-nothing file changes: every step is undone if a later one fails."""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from pipelines.errors import CommandError
from pipelines.utils.scratch import atomic_write, sweep

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
                    raise CommandError(
                        f"Another manage.py command has been changing {root} for over "
                        f"{wait_s:.0f} s (lock {path}); wait for it, or remove the lock file "
                        "if no such command runs."
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


JOURNAL = ".pipelines-journal.json"  # in the repo root, git-ignored
TRASH = ".pipelines-trash"  # removed folders wait here until their command has finished


class Transaction:
    """Record file-system changes and roll them back when the block raises.

    With a repo root, each step is written to a journal *before* it happens, so a command
    killed midway (SIGKILL, power loss) is undone by `recover` at the start of the next one.

    Example:
        with Transaction(root, "add-project x") as tx:
            tx.move_tree(rendered, target)
            tx.write_text(init_file, new_source)
    """

    def __init__(self, root: Path | None = None, command: str = "") -> None:
        self._undo: list[tuple[str, Path, bytes | None]] = []
        self._root = root
        self._command = command
        self._trash = root / TRASH / f"{os.getpid()}-{time.time_ns()}" if root else None

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
        else:
            self._finish()

    def _log(self, action: str, path: Path, data: bytes | None) -> None:
        self._undo.append((action, path, data))
        if self._root is None:
            return
        entries = [
            {
                "action": a,
                "path": str(p),
                "data": None if d is None else base64.b64encode(d).decode(),
            }
            for a, p, d in self._undo
        ]
        record = {"command": self._command, "pid": os.getpid(), "steps": entries}
        atomic_write(self._root / JOURNAL, json.dumps(record).encode())

    def _finish(self) -> None:
        self._undo.clear()
        if self._root is None:
            return
        (self._root / JOURNAL).unlink(missing_ok=True)
        if self._trash is not None and self._trash.exists():
            shutil.rmtree(self._trash)
        _remove_empty(self._root / TRASH)

    def move_tree(self, source: Path, target: Path) -> None:
        """Move a rendered folder into place; refuses to merge into an existing one."""
        if target.exists():
            raise FileExistsError(f"{target} already exists")
        created = _missing_parents(target)
        for parent in reversed(created):
            self._log("rmdir", parent, None)
        self._log("rmtree", target, None)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))

    def write_text(self, path: Path, text: str) -> None:
        """Write a file, remembering its previous bytes (or absence)."""
        before = path.read_bytes() if path.exists() else None
        self._log("restore", path, before)
        atomic_write(path, text.encode("utf-8"))

    def remove_tree(self, path: Path, backup_root: Path | None = None) -> None:
        """Move a folder aside so a rollback can bring it back; deleted when the block ends."""
        folder = backup_root or self._trash
        if folder is None:
            raise ValueError("remove_tree needs a backup folder or a repo root")
        folder.mkdir(parents=True, exist_ok=True)
        backup = folder / f"{len(self._undo)}-{path.name}"
        self._log("bring_back", path, str(backup).encode())
        try:
            os.rename(path, backup)
            return
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise CommandError(
                    f"Could not move {path} aside to remove it: {error.strerror}. "
                    "Nothing was removed."
                ) from error
        # Another file system (a mount): copy, then delete. Undoing puts back whatever the
        # delete took, from the copy, so a delete that stops halfway loses nothing.
        self._log("merge_back", path, str(backup).encode())
        shutil.copytree(path, backup, symlinks=True)
        shutil.rmtree(path)

    def rollback(self) -> None:
        """Undo every recorded change, newest first. A step that cannot be undone does not stop
        the others; afterwards CommandError says what is left and where (nothing is lost: a removed
        folder stays at its backup path)."""
        left = _undo_steps(self._undo)
        if not left:
            self._finish()  # nothing left to undo: no journal, and the trash is empty
        self._undo.clear()
        if left:
            raise CommandError(
                "Could not undo every step; fix these by hand:\n  " + "\n  ".join(left)
            )


def _undo_steps(steps: list[tuple[str, Path, bytes | None]]) -> list[str]:
    """Undo steps newest first; each is safe to run whether or not its change happened."""
    left = []
    for action, path, data in reversed(steps):
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
            elif action == "merge_back" and data is not None and Path(data.decode()).exists():
                _merge_back(Path(data.decode()), path)
            elif action == "bring_back" and data is not None and Path(data.decode()).exists():
                if path.exists():
                    raise FileExistsError(errno.EEXIST, "is in the way", str(path))
                shutil.move(data.decode(), str(path))
        except OSError as error:
            kept = action in ("bring_back", "merge_back")
            where = f" (it is at {data.decode()})" if kept and data else ""
            left.append(f"{action} {path}{where}: {error.strerror or error}")
    return left


def _merge_back(backup: Path, path: Path) -> None:
    """Undo a copy-then-delete move: put back from the full copy at backup what the delete
    removed from path (a kill during the copy leaves path whole), then drop the copy."""
    if not path.exists():
        shutil.move(str(backup), str(path))
        return
    for folder, dirs, files in os.walk(backup):
        here = path / Path(folder).relative_to(backup)
        for name in dirs:
            if not (here / name).is_symlink():
                (here / name).mkdir(exist_ok=True)
        for name in files:
            if not os.path.lexists(here / name):
                shutil.copy2(Path(folder) / name, here / name, follow_symlinks=False)
    shutil.rmtree(backup)


def recover(root: Path) -> str | None:
    """Undo a command that was killed midway, from its journal; call it holding repo_lock.

    Returns:
        What was undone, for the user; None when no command was interrupted.

    Raises:
        CommandError: Some step could not be undone (the journal is kept for the next try).
    """
    journal = root / JOURNAL
    sweep(f".{JOURNAL}.", root)  # a kill while the journal itself was being written
    if not journal.exists():
        return None
    try:
        record = json.loads(journal.read_text(encoding="utf-8"))
        steps = [
            (
                step["action"],
                Path(step["path"]),
                None if step["data"] is None else base64.b64decode(step["data"]),
            )
            for step in record["steps"]
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise CommandError(
            f"{journal} is unreadable ({error}); check the tree with `git status`, then delete it."
        ) from None
    for action, path, _ in steps:
        if action == "restore":  # a kill midway through writing this file
            sweep(f".{path.name}.", path.parent)
    left = _undo_steps(steps)
    if left:
        raise CommandError(
            f"`manage.py {record.get('command')}` was interrupted and could not be fully undone; "
            "fix these by hand, then delete " + str(journal) + ":\n  " + "\n  ".join(left)
        )
    journal.unlink()
    _remove_empty(root / TRASH)
    return (
        f"`manage.py {record.get('command')}` was interrupted earlier; its "
        f"{len(steps)} step(s) were undone, so the tree is as it was before it."
    )


def _remove_empty(folder: Path) -> None:
    """Delete a folder tree if it holds no file (the trash once its backups are gone)."""
    if not folder.is_dir():
        return
    for child in sorted(folder.rglob("*"), reverse=True):
        if child.is_dir() and not any(child.iterdir()):
            child.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()


def _missing_parents(path: Path) -> list[Path]:
    """Parents of path that do not exist yet, deepest first."""
    missing = []
    for parent in path.parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing
