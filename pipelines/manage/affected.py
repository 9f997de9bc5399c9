"""Which flows a change affects: git diff -> static import closure -> flow modules."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from pipelines.errors import CommandError
from pipelines.manage.lock import RUNTIME_LOCK, pins_text
from pipelines.utils.deploy.graph import ModuleGraph
from pipelines.utils.inventory import Repo, flow_modules

# What goes into the flow-run image; a change here means a new image for every flow.
IMAGE_FILES = ("Dockerfile", RUNTIME_LOCK)


@dataclass(frozen=True)
class Affected:
    """A flow module to register, and why."""

    module: str
    reason: str  # "all", "dependencies" or "changed"
    changed: str | None = None  # the changed file that reached it
    via: tuple[str, ...] = ()  # the import chain from the flow module to that file
    modules: int = 0  # modules its bundle carries (its static import closure)


def dependency_hash(root: Path) -> str:
    """Hash of what the image installs: the runtime lock's pins and the Dockerfile.

    Only the pins of requirements.lock count (its comments say who needs what) and the
    Dockerfile without its comments: editing either's comments, or a range in pyproject.toml
    that leaves the lock as it is, does not move flows to a new image.
    """
    dockerfile, lock = root / "Dockerfile", root / RUNTIME_LOCK
    return dependencies_digest(
        lock.read_text(encoding="utf-8") if lock.exists() else "",
        dockerfile.read_text(encoding="utf-8") if dockerfile.exists() else "",
    )


def dependencies_digest(lock: str, dockerfile: str) -> str:
    """dependency_hash of a runtime lock file and a Dockerfile given as text."""
    digest = hashlib.sha256(pins_text(lock).encode())
    instructions = [
        line.strip()
        for line in dockerfile.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    digest.update(b"\0" + "\n".join(instructions).encode())
    return digest.hexdigest()


def image_tag(root: Path) -> str:
    """The flow-run image tag: deps-<first 12 hex digits of the dependency hash>."""
    return f"deps-{dependency_hash(root)[:12]}"


def _git(root: Path, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True
        )
    except FileNotFoundError as error:
        raise CommandError("git is not installed; --since needs it (or use --all).") from error
    except subprocess.CalledProcessError as error:
        raise CommandError(f"git {args[0]} failed: {error.stderr.strip()}") from error
    return result.stdout


def merge_base(root: Path, since: str) -> str:
    """The commit where HEAD's branch left `since`: what `--since REV` compares against.

    Raises:
        CommandError: since is not a commit (checked before it reaches any other git command, so a
            value like `--output=FILE` can never act as an option), or shares no history.
    """
    if not since or since.startswith("-"):
        raise CommandError(f"--since {since!r} is not a revision: give a commit, branch or tag.")
    try:
        commit = _git(
            root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{since}^{{commit}}"
        )
    except CommandError:
        raise CommandError(
            f"--since {since!r} is not a commit here (for a remote branch, "
            "`git fetch` it first, e.g. origin/main)."
        ) from None
    try:
        return _git(root, "merge-base", commit.strip(), "HEAD").strip()
    except CommandError:
        raise CommandError(f"--since {since!r} shares no history with HEAD.") from None


def changed_files(root: Path, since: str) -> set[Path]:
    """Files this branch changed since it left `since` (`git diff REV...` semantics: the merge
    base against the working tree, uncommitted changes included), plus untracked files that
    git does not ignore. Renames count as delete + add."""
    base = merge_base(root, since)
    changed = _git(root, "diff", "--name-only", "--no-renames", base, "--")
    untracked = _git(root, "ls-files", "--others", "--exclude-standard")
    lines = changed.splitlines() + untracked.splitlines()
    found = {(root / line).resolve() for line in lines if line.strip()}
    image_files = {(root / name).resolve() for name in IMAGE_FILES}
    if found & image_files and not _dependencies_changed(root, base):
        found -= image_files  # comments or tool settings only: no flow runs differently
    return found


def _dependencies_changed(root: Path, base: str) -> bool:
    """Whether what the image installs differs between commit `base` and the working tree."""

    def at_base(name: str) -> str:
        try:
            return _git(root, "show", f"{base}:{name}")
        except CommandError:
            return ""  # not in that commit

    before = dependencies_digest(at_base(RUNTIME_LOCK), at_base("Dockerfile"))
    return before != dependency_hash(root)


def affected_flows(
    repo: Repo, graph: ModuleGraph, changed: set[Path] | None
) -> tuple[list[Affected], list[str]]:
    """The flow modules to register and the deleted flow files to report.

    Args:
        repo: The repository.
        graph: Its import graph, built from the resolved repo root (absolute paths).
        changed: Absolute paths of changed files; None means every flow.

    Returns:
        (affected flow modules with reasons, relative paths of deleted flows modules)
    """
    modules = [m.module for m in flow_modules(repo) if m.module in graph.files]
    found = _affected(repo, graph, changed, modules)
    deleted = found[1]
    sized = [replace(item, modules=len(graph.closure(item.module))) for item in found[0]]
    return sized, deleted


def _affected(
    repo: Repo, graph: ModuleGraph, changed: set[Path] | None, modules: list[str]
) -> tuple[list[Affected], list[str]]:
    if changed is None:
        return [Affected(m, "all") for m in modules], []
    root = repo.root.resolve()
    deleted = sorted(
        str(p.relative_to(root))
        for p in changed
        if not p.exists()
        and p.name == "flows.py"
        and root / "pipelines" in (p.parent.parent, p.parent.parent.parent)
    )
    image_changed = [f for f in IMAGE_FILES if (root / f) in changed]
    if image_changed:
        return [Affected(m, "dependencies", image_changed[0]) for m in modules], deleted
    found = []
    for module in modules:
        hit = graph.why(module, changed)
        if hit:
            path, chain = hit
            found.append(Affected(module, "changed", str(path.relative_to(root)), tuple(chain)))
    return found, deleted
