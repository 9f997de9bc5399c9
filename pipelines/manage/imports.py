"""The repo's static import graph, read with ast (nothing is imported).

A module depends on what its import statements name, transitively. A package's __init__
counts only when the package itself is imported (`from pkg import x`, `import pkg`), not when
a submodule is (`import pkg.sub`), so the org aggregation files do not tie every flow to every
other. Non-Python files count for every module of the package folder that holds them.
"""

from __future__ import annotations

import ast
import hashlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "pipelines"


@dataclass
class ModuleGraph:
    """Modules of the `pipelines` package, their files, and who imports whom."""

    root: Path
    files: dict[str, Path] = field(default_factory=dict)  # module -> .py file
    imports: dict[str, set[str]] = field(default_factory=dict)
    data_files: dict[str, set[Path]] = field(default_factory=dict)  # module -> non-.py files
    errors: dict[str, str] = field(default_factory=dict)  # module -> syntax error
    _digests: dict[Path, bytes] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, root: Path) -> ModuleGraph:
        """Parse every module under root/pipelines."""
        graph = cls(root=root)
        package_dir = root / PACKAGE
        non_python: list[Path] = []
        for path in sorted(package_dir.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix == ".py":
                graph.files[module_name(root, path)] = path
            elif path.suffix not in (".pyc", ".pyo"):
                non_python.append(path)
        for module, path in graph.files.items():
            try:
                tree = ast.parse(path.read_bytes(), filename=str(path))
            except SyntaxError as error:
                graph.errors[module] = f"SyntaxError: {error.msg} (line {error.lineno})"
                graph.imports[module] = set()
                continue
            graph.imports[module] = graph._resolve(module, path, tree)
        for path in non_python:
            for module in graph._modules_of_package_holding(path):
                graph.data_files.setdefault(module, set()).add(path)
        return graph

    def _resolve(self, module: str, path: Path, tree: ast.AST) -> set[str]:
        is_package = path.name == "__init__.py"
        package = module if is_package else module.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found |= self._target(alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    anchor = ".".join(parts[: len(parts) - node.level + 1])
                    base = f"{anchor}.{base}" if base else anchor
                if not base.startswith(PACKAGE):
                    continue
                found |= self._target(base)
                for alias in node.names:
                    if f"{base}.{alias.name}" in self.files:
                        found.add(f"{base}.{alias.name}")
        found.discard(module)
        return found

    def _target(self, dotted: str) -> set[str]:
        """The deepest repo module a dotted import names ('a.b.c' or its parent 'a.b')."""
        parts = dotted.split(".")
        while parts:
            name = ".".join(parts)
            if name in self.files:
                return {name}
            parts.pop()
        return set()

    def _modules_of_package_holding(self, path: Path) -> list[str]:
        folder = path.parent
        while folder != self.root and not (folder / "__init__.py").exists():
            folder = folder.parent
        prefix = module_name(self.root, folder / "__init__.py")
        return [m for m, f in self.files.items() if f.parent == folder and m.startswith(prefix)]

    def closure(self, module: str) -> set[str]:
        """The module and everything it imports in the repo, transitively."""
        seen = {module}
        queue = deque([module])
        while queue:
            for imported in self.imports.get(queue.popleft(), ()):
                if imported not in seen:
                    seen.add(imported)
                    queue.append(imported)
        return seen

    def closure_files(self, module: str) -> list[Path]:
        """Every file (Python and data) a module's behaviour rests on, sorted."""
        files: set[Path] = set()
        for name in self.closure(module):
            if name in self.files:
                files.add(self.files[name])
            files |= self.data_files.get(name, set())
        return sorted(files)

    def digest(self, path: Path) -> bytes:
        """SHA-256 of a file's bytes, read once per graph (shared files are in many closures)."""
        if path not in self._digests:
            self._digests[path] = hashlib.sha256(path.read_bytes()).digest()
        return self._digests[path]

    def why(self, module: str, changed: set[Path]) -> tuple[Path, list[str]] | None:
        """A shortest import chain from module to a module whose files changed."""
        parents: dict[str, str | None] = {module: None}
        queue = deque([module])
        while queue:
            current = queue.popleft()
            own = {self.files.get(current)} | self.data_files.get(current, set())
            hit = sorted(p for p in own & changed if p is not None)
            if hit:
                chain = []
                node: str | None = current
                while node is not None:
                    chain.append(node)
                    node = parents[node]
                return hit[0], list(reversed(chain))
            for imported in sorted(self.imports.get(current, ())):
                if imported not in parents:
                    parents[imported] = current
                    queue.append(imported)
        return None


def module_name(root: Path, path: Path) -> str:
    """pipelines/emd/x/flows.py -> pipelines.emd.x.flows; a package's __init__ -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)
