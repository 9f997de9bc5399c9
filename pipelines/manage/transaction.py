"""All-or-nothing file changes: every step is undone if a later one fails."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType


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
        path.write_text(text, encoding="utf-8")

    def remove_tree(self, path: Path, backup_root: Path) -> None:
        """Move a folder aside into backup_root so a rollback can bring it back."""
        backup = backup_root / f"{len(self._undo)}-{path.name}"
        shutil.move(str(path), str(backup))
        self._undo.append(("bring_back", path, str(backup).encode()))

    def rollback(self) -> None:
        """Undo every recorded change, newest first."""
        for action, path, data in reversed(self._undo):
            if action == "rmtree" and path.exists():
                shutil.rmtree(path)
            elif action == "rmdir" and path.is_dir() and not any(path.iterdir()):
                path.rmdir()
            elif action == "restore":
                if data is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(data)
            elif action == "bring_back" and data is not None:
                shutil.move(data.decode(), str(path))
        self._undo.clear()


def _missing_parents(path: Path) -> list[Path]:
    """Parents of path that do not exist yet, deepest first."""
    missing = []
    for parent in path.parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing
