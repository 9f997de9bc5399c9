"""The last commit that touched each file, from one pass over `git log`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Commit:
    """A commit as the catalog shows it."""

    sha: str
    date: str
    subject: str
    order: int  # 0 is the newest


def git(root: Path, *args: str) -> str | None:
    """What a git command prints in root; None outside a checkout or without git."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=120, check=False
        )
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


class History:
    """Last commits by file (paths relative to the repo root), read lazily from git."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._last: dict[str, Commit] | None = None

    def _read(self) -> dict[str, Commit]:
        """One `git log --name-only` over the whole history: the first commit naming a file
        is its last. Outside a git checkout (or without git) nothing is known."""
        log = git(self.root, "log", "--format=%x00%h%x09%cs%x09%s", "--name-only", "--no-renames")
        last: dict[str, Commit] = {}
        for order, block in enumerate((log or "").split("\x00")[1:]):
            header, _, names = block.partition("\n")
            sha, date, subject = (header.split("\t", 2) + ["", ""])[:3]
            commit = Commit(sha, date, subject, order)
            for name in names.split("\n"):
                if name and name not in last:
                    last[name] = commit
        return last

    def last_commit(self, paths: Iterable[Path]) -> Commit | None:
        """The newest commit among the last commits of these files (None: none committed)."""
        if self._last is None:
            self._last = self._read()
        found = [self._last.get(self._relative(p)) for p in paths]
        commits = [c for c in found if c is not None]
        return min(commits, key=lambda c: c.order) if commits else None

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() if path.is_absolute() else path.as_posix()
