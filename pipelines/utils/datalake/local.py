"""A datalake in a local folder, for the local environment."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from pipelines.errors import DatalakeError
from pipelines.utils.datalake.base import Datalake


class LocalDatalake(Datalake):
    """Files under a root folder; a prefix is replaced by renaming a fully written folder."""

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
        # Write beside the target, then swap: a run killed midway leaves the old folder whole.
        staging = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            for name, source in files.items():
                if move:
                    shutil.move(source, staging / name)
                else:
                    shutil.copyfile(source, staging / name)
            old = None
            if target.exists():
                old = target.parent / f".tmp-old-{target.name}-{uuid.uuid4().hex[:8]}"
                target.rename(old)
            staging.rename(target)
            if old is not None:
                shutil.rmtree(old)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        return [f"{prefix}/{name}" for name in files]

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
