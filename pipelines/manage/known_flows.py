"""Which flows each flows module defines, remembered by the digest of its code closure."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.utils.deploy.graph import ModuleGraph, write_cache

# Beside the import graph's cache: written by every registration that imported a module.
CACHE = Path(".pipelines-cache") / "flow-names.json"
_FORMAT = 1


def closure_digest(graph: ModuleGraph, module: str) -> str:
    """SHA-256 of every file importing the module runs (paths and contents): the same
    digest means the same code, so the same flows with the same names."""
    return str(graph.hash_closure(module).hexdigest())


class KnownFlows:
    """The flows (name, defining module) each module defined when its closure had a digest.

    Only a shortcut: a module whose closure changed is imported again, and the server still
    decides what is registered (the latest version's storage key), so a wrong or missing
    file costs time, never a version.
    """

    def __init__(self, root: Path) -> None:
        self.path = root / CACHE
        self.entries: dict[str, list[list[str]]] = {}
        self.changed = False
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("format") == _FORMAT:
            self.entries = data.get("modules") or {}

    def get(self, graph: ModuleGraph, module: str) -> list[tuple[str, str]] | None:
        """(flow name, defining module) of each flow the module defines, if known."""
        found = self.entries.get(_key(graph, module))
        return None if found is None else [(name, where) for name, where in found]

    def record(self, graph: ModuleGraph, module: str, flows: list[tuple[str, str]]) -> None:
        key = _key(graph, module)
        # One entry per module: the previous digest's is dropped.
        for old in [k for k in self.entries if k.split(" ", 1)[0] == module and k != key]:
            del self.entries[old]
        value = [list(flow) for flow in flows]
        if self.entries.get(key) != value:
            self.entries[key] = value
            self.changed = True

    def save(self) -> None:
        """Write the file in one rename; a checkout that cannot be written is left as is."""
        if self.changed:
            write_cache(self.path, {"format": _FORMAT, "modules": self.entries})


def _key(graph: ModuleGraph, module: str) -> str:
    return f"{module} {closure_digest(graph, module)}"
