"""The repo's static import graph, read with ast (nothing is imported)."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.constants import SHARED_PACKAGES

PACKAGE = "pipelines"
# Folders outside the package that a module reads at run time: their files travel in the
# bundles of flows whose closure holds that module, and a change to one affects those flows.
# queries/ is the dbt project (every flow that can materialize a model).
EXTERNAL_DATA = {"queries": "pipelines.utils.dbt.profiles"}
_GENERATED = {"target", "logs", "dbt_packages", "__pycache__"}
# Calls that import a module named by a string: `importlib.import_module("pipelines.x")`.
_DYNAMIC_IMPORTS = ("import_module", "__import__")
# What each file's import statements say, by the file's SHA-256: parsing every file was 0.6 s
# of a 500-project repo's graph; reading the facts back takes a tenth of that.
CACHE = Path(".pipelines-cache") / "imports.json"
_CACHE_FORMAT = f"2-py{sys.version_info.major}.{sys.version_info.minor}"
# An import fact: ["import", name] | ["from", module, level, [names]] | ["call", text].
Fact = list[Any]


@dataclass
class ModuleGraph:
    """Modules of the `pipelines` package, their files, and what each one's import runs.

    A module depends on what its import statements (and `import_module("literal")` calls)
    name, transitively, and on the `__init__` of every package above it, which Python runs
    first. The exception is an org's `__init__` (`pipelines/<org>/__init__.py`): it only lists
    the org's projects and is never run when a flow loads, so flows do not depend on it.
    Non-Python files count for every module of the package folder that holds them.
    """

    root: Path
    files: dict[str, Path] = field(default_factory=dict)  # module -> .py file
    imports: dict[str, set[str]] = field(default_factory=dict)
    # Dotted names an import statement gives that match no file (yet): a deleted or renamed
    # module, or a name defined inside a package's __init__.
    unresolved: dict[str, set[str]] = field(default_factory=dict)
    data_files: dict[str, set[Path]] = field(default_factory=dict)  # module -> non-.py files
    errors: dict[str, str] = field(default_factory=dict)  # module -> syntax error
    # Top-level names of the modules outside the package each module imports (anywhere in
    # it: functions and try blocks too), e.g. {"pandas", "os"}: what the image must provide.
    external: dict[str, set[str]] = field(default_factory=dict)
    _digests: dict[Path, bytes] = field(default_factory=dict, repr=False)
    _closure_hashes: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, root: Path, cache: bool = True) -> ModuleGraph:
        """Parse every module under root/pipelines (files parsed before are read from
        root/.pipelines-cache unless cache is False)."""
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
        known = _read_cache(root / CACHE) if cache else {}
        used: dict[str, Any] = {}
        for module, path in graph.files.items():
            source = path.read_bytes()
            digest = hashlib.sha256(source)
            graph._digests[path] = digest.digest()
            entry = known.get(digest.hexdigest())
            if entry is None:
                entry = _parse(source, path)
            used[digest.hexdigest()] = entry
            if isinstance(entry, str):
                graph.errors[module] = entry
                graph.imports[module] = set()
                continue
            graph._resolve(module, path, entry)
        if cache and used.keys() != known.keys():
            write_cache(root / CACHE, {"format": _CACHE_FORMAT, "files": used})
        for path in non_python:
            for module in graph.package_modules(path):
                graph.data_files.setdefault(module, set()).add(path)
        for folder, module in EXTERNAL_DATA.items():
            if module not in graph.files:
                continue
            for path in sorted((root / folder).rglob("*")):
                relative = path.relative_to(root / folder).parts
                if path.is_file() and not _GENERATED & set(relative):
                    graph.data_files.setdefault(module, set()).add(path)
        return graph

    def _resolve(self, module: str, path: Path, facts: list[Fact]) -> None:
        is_package = path.name == "__init__.py"
        package = module if is_package else module.rpartition(".")[0]
        found: set[str] = set()
        missing: set[str] = set()
        outside: set[str] = set()

        def name(dotted: str) -> None:
            if dotted and dotted.partition(".")[0] != PACKAGE:
                outside.add(dotted.partition(".")[0])
            if dotted == PACKAGE or dotted.startswith(PACKAGE + "."):
                target = self._target(dotted)
                found.update(target)
                if dotted not in self.files:
                    missing.add(dotted)

        for fact in facts:
            if fact[0] == "import":
                name(fact[1])
            elif fact[0] == "from":
                _, imported, level, names = fact
                base = _absolute(imported, level, package)
                if not base.startswith(PACKAGE):
                    if not level and base:
                        outside.add(base.partition(".")[0])
                    continue
                submodules = [f"{base}.{alias}" for alias in names]
                if self.is_org(base):
                    # `from pipelines.emd import x`: x is a module; the org list is not run.
                    for dotted in submodules:
                        name(dotted)
                    continue
                name(base)
                for dotted in submodules:
                    if dotted in self.files:
                        found.add(dotted)
                    else:
                        missing.add(dotted)
            else:  # import_module("...") with a literal
                text = fact[1]
                level = len(text) - len(text.lstrip("."))
                name(_absolute(text[level:], level, package) if level else text)
        found.discard(module)
        self.imports[module] = found
        self.external[module] = outside
        if missing:
            self.unresolved[module] = missing

    def _target(self, dotted: str) -> set[str]:
        """The deepest repo module a dotted import names ('a.b.c' or its parent 'a.b')."""
        parts = dotted.split(".")
        while parts:
            name = ".".join(parts)
            if name in self.files:
                return set() if self.is_org(name) else {name}
            parts.pop()
        return set()

    def is_org(self, name: str) -> bool:
        """Whether a dotted name is an org package (pipelines.<org>), never run by a flow."""
        parts = name.split(".")
        path = self.files.get(name)
        return (
            len(parts) == 2
            and parts[0] == PACKAGE
            and parts[1] not in SHARED_PACKAGES
            and path is not None
            and path.name == "__init__.py"
        )

    def parents(self, module: str) -> set[str]:
        """Packages whose __init__ Python runs before the module: all above it but orgs."""
        parts = module.split(".")
        above = {".".join(parts[:depth]) for depth in range(1, len(parts))}
        return {p for p in above if p in self.files and not self.is_org(p)}

    def edges(self, module: str) -> set[str]:
        """What importing a module runs directly: its imports and its packages' __init__."""
        return self.imports.get(module, set()) | self.parents(module)

    def package_modules(self, path: Path) -> list[str]:
        """Modules of the package folder nearest above path (path may no longer exist)."""
        folder = path.parent
        while folder != self.root and not (folder / "__init__.py").exists():
            folder = folder.parent
        if folder == self.root:
            return []
        prefix = module_name(self.root, folder / "__init__.py")
        return [m for m, f in self.files.items() if f.parent == folder and m.startswith(prefix)]

    def owners(self, path: Path) -> set[str]:
        """Modules whose behaviour a file's change (or deletion) can alter.

        An existing .py file owns its module; a data file (existing or deleted) is owned by
        the modules of its package; a deleted .py file by every module that still imports it.
        """
        if path.suffix == ".py":
            if path.exists():
                return {m for m, f in self.files.items() if f == path}
            gone = module_name(self.root, path)
            return {
                module
                for module, names in self.unresolved.items()
                if any(n == gone or n.startswith(gone + ".") for n in names)
            }
        for folder, module in EXTERNAL_DATA.items():
            if path.is_relative_to(self.root / folder) and module in self.files:
                generated = _GENERATED & set(path.relative_to(self.root / folder).parts)
                return set() if generated else {module}
        if path.exists():
            return {m for m, files in self.data_files.items() if path in files}
        return set(self.package_modules(path))

    def closure(self, module: str) -> set[str]:
        """The module and everything importing it runs in the repo, transitively."""
        seen = {module}
        queue = deque([module])
        while queue:
            for imported in self.edges(queue.popleft()):
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

    def hash_closure(self, module: str) -> Any:
        """A SHA-256 object fed every file of the module's closure: its path from the root,
        a NUL, and its content's digest (a copy: the caller may feed it more)."""
        if module not in self._closure_hashes:
            digest = hashlib.sha256()
            for path in self.closure_files(module):
                digest.update(path.relative_to(self.root).as_posix().encode() + b"\0")
                digest.update(self.digest(path))
            self._closure_hashes[module] = digest
        return self._closure_hashes[module].copy()

    def why(self, module: str, changed: set[Path]) -> tuple[Path, list[str]] | None:
        """A shortest import chain from module to a module a changed file touches."""
        touched: dict[str, Path] = {}
        for path in sorted(changed):
            for owner in self.owners(path):
                touched.setdefault(owner, path)
        parents: dict[str, str | None] = {module: None}
        queue = deque([module])
        while queue:
            current = queue.popleft()
            if current in touched:
                chain = []
                node: str | None = current
                while node is not None:
                    chain.append(node)
                    node = parents[node]
                return touched[current], list(reversed(chain))
            for imported in sorted(self.edges(current)):
                if imported not in parents:
                    parents[imported] = current
                    queue.append(imported)
        return None


def _parse(source: bytes, path: Path) -> list[Fact] | str:
    """The import facts of a file's source, or its syntax error as text."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        return f"SyntaxError: {error.msg} (line {error.lineno})"
    facts: list[Fact] = []
    for node in _running(tree):
        if isinstance(node, ast.Import):
            facts += [["import", alias.name] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            facts.append(["from", node.module or "", node.level, names])
        elif isinstance(node, ast.Call) and _called(node) in _DYNAMIC_IMPORTS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                facts.append(["call", first.value])
    return facts


def _running(tree: ast.AST):
    """Every node of a tree but those under `if TYPE_CHECKING:`, which never run (a flow's
    bundle does not carry what only type checkers import)."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _read_cache(path: Path) -> dict[str, Any]:
    """The cached facts by file digest; {} when absent, unreadable or of another format."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _CACHE_FORMAT:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def write_cache(path: Path, data: dict[str, Any]) -> None:
    """Replace a cache file in one rename. A cache that cannot be written is not an error:
    the checkout (read-only, say) only does the work again next time."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(exist_ok=True)
        partial.write_text(json.dumps(data))
        partial.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()


def _absolute(name: str, level: int, package: str) -> str:
    """The absolute dotted name of a (possibly relative) import inside package."""
    if not level:
        return name
    parts = package.split(".")
    anchor = ".".join(parts[: len(parts) - level + 1])
    return f"{anchor}.{name}" if name else anchor


def _called(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def module_name(root: Path, path: Path) -> str:
    """pipelines/emd/x/flows.py -> pipelines.emd.x.flows; a package's __init__ -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)
