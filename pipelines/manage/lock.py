"""The lock files: the exact versions the image and the virtualenvs install (`make lock`)."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.utils.deploy.graph import ModuleGraph

# What the flow-run image installs (the runtime dependencies and every extra), and what the
# project's virtualenv installs (the same pins plus the CLI, CD and test tools).
RUNTIME_LOCK = "requirements.lock"
DEV_LOCK = "requirements-dev.lock"
# Which distribution provides each importable name, for the installed set it was read from.
PROVIDERS_CACHE = Path(".pipelines-cache") / "providers.json"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)")


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(text: str) -> dict[str, str]:
    """name -> version of every `name==version` line (comments and `# via` lines skipped)."""
    pins = {}
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def pins_text(text: str) -> str:
    """The pins alone, sorted, one per line: what the image tag hashes of a lock file."""
    return "\n".join(f"{name}=={version}" for name, version in sorted(read_pins(text).items()))


def lock_problems(root: Path) -> list[str]:
    """Where the lock files disagree with pyproject.toml or with each other, each with its fix.

    The image must install exactly what the tests ran with: every runtime requirement pinned
    in requirements.lock at a version its range allows, and the same pin in the dev lock.
    """
    from packaging.requirements import Requirement

    fix = "run `make lock` and commit the lock files"
    runtime_path, dev_path = root / RUNTIME_LOCK, root / DEV_LOCK
    missing = [p.name for p in (runtime_path, dev_path) if not p.is_file()]
    if missing:
        return [f"{', '.join(missing)} missing: {fix}."]
    runtime = read_pins(runtime_path.read_text(encoding="utf-8"))
    dev = read_pins(dev_path.read_text(encoding="utf-8"))
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for requirements in project.get("optional-dependencies", {}).values():
        wanted += [r for r in requirements if not r.startswith(project["name"] + "[")]
    problems = []
    for text in wanted:
        requirement = Requirement(text)
        name = canonical(requirement.name)
        pinned = runtime.get(name)
        if pinned is None:
            problems.append(f"{RUNTIME_LOCK} does not pin {requirement.name} ({text}): {fix}.")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(
                f"{RUNTIME_LOCK} pins {name}=={pinned}, which pyproject.toml's {text!r} does "
                f"not allow: {fix}."
            )
    for name, version in sorted(runtime.items()):
        if dev.get(name) != version:
            problems.append(
                f"{DEV_LOCK} has {name}=={dev.get(name, '(nothing)')} but the image installs "
                f"{name}=={version}: the tests would not run with the image's versions; {fix}."
            )
    return problems


def imported_top_levels(path: Path) -> dict[str, int]:
    """Top-level module names a file imports anywhere (functions and try blocks included),
    with the first line of each; relative imports are left out."""
    import ast

    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            found.setdefault(name.partition(".")[0], node.lineno)
    return found


def image_import_problems(root: Path, graph: ModuleGraph, modules: list[str]) -> list[str]:
    """Modules the flows' code imports that the flow-run image does not install.

    Each third-party import in the code closure of `modules` (the flows' modules) is mapped
    to the distribution that provides it here, which must be pinned in requirements.lock: a
    lazy import inside a task would otherwise fail only in the pod, at run time.
    """
    import sys

    lock = root / RUNTIME_LOCK
    if not lock.is_file():
        return []  # lock_problems names it
    pinned = read_pins(lock.read_text(encoding="utf-8"))
    closure = sorted({m for module in modules for m in graph.closure(module)})
    providers: dict[str, list[str]] | None = None
    problems = []
    for module in closure:
        for name in sorted(graph.external.get(module, ())):
            if name in sys.stdlib_module_names or name == "__future__":
                continue
            providers = providers if providers is not None else installed_providers(root)
            dists = providers.get(name)
            if dists and any(canonical(d) in pinned for d in dists):
                continue
            path = graph.files[module]
            line = imported_top_levels(path).get(name, 1)
            where = f"{path.relative_to(root)}:{line}"
            if not dists:
                problems.append(
                    f"{where}: imports {name}, which no installed distribution provides; add "
                    f"its distribution to pyproject.toml's dependencies and run `make lock`."
                )
            else:
                problems.append(
                    f"{where}: imports {name} ({', '.join(sorted(set(dists)))}), which the "
                    f"flow-run image does not install ({RUNTIME_LOCK}): add it to "
                    "pyproject.toml's dependencies (or an extra) and run `make lock`."
                )
    return problems


def installed_providers(root: Path) -> dict[str, list[str]]:
    """importlib.metadata.packages_distributions(), remembered in .pipelines-cache/ for the
    set of installed distributions (a full scan reads every RECORD: half a second)."""
    import hashlib
    import json
    import sys
    from importlib.metadata import packages_distributions

    from pipelines.utils.deploy.graph import write_cache

    listing = sorted(
        entry
        for folder in sys.path
        if os.path.isdir(folder)
        for entry in os.listdir(folder)
        if entry.endswith((".dist-info", ".egg-info"))
    )
    key = hashlib.sha256("\n".join([sys.prefix, *listing]).encode()).hexdigest()
    cache = root / PROVIDERS_CACHE
    try:
        known = json.loads(cache.read_text())
        if known.get("key") == key:
            return dict(known["providers"])
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    providers = {name: list(dists) for name, dists in packages_distributions().items()}
    write_cache(cache, {"key": key, "providers": providers})
    return providers
