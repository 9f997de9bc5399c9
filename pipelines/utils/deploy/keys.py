"""Content-addressed version keys, computed from files alone (no flow is imported)."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from pipelines.utils.deploy.graph import ModuleGraph
from pipelines.utils.deploy.target import Target


def deployed_name(name: str, suffix: str) -> str:
    """A flow's name in a target, e.g. 'emd: test_flow (development)'."""
    return name if not suffix or name.endswith(suffix) else f"{name}{suffix}"


def storage_key(flow_name: str, digest: str) -> str:
    """Where a version's bytes go in the bucket: <slug of name>/<digest>.pickle."""
    from slugify import slugify

    return f"{slugify(flow_name)}/{digest[:32]}.pickle"


def version_digest(
    graph: ModuleGraph, module: str, name: str, target: Target, dependencies: str
) -> str:
    """The digest of one version: the bundle's files by path and content (what the archive
    zips, without zipping it), the image's dependencies, the deployed name and the target.
    An unchanged flow gets the digest, so the key, its latest version already has.

    Args:
        graph: The checkout's import graph.
        module: The module that builds the flow (its closure is the bundle).
        name: The flow's deployed name.
        target: Where it goes.
        dependencies: Hash of what the image installs.

    Returns:
        The hex SHA-256.
    """
    digest = graph.hash_closure(module)
    digest.update(dependencies.encode())
    digest.update(recipe_digest())
    digest.update(json.dumps([name, asdict(target)], sort_keys=True).encode())
    return digest.hexdigest()


# The code that decides what a stored version is (its run config, the pickle, the loader that
# reads it in the pod): a change to any of them gives every flow a new version, so a fix to
# the stored format reaches flows whose own code did not change.
_RECIPE = ("deployment.py", "bundle.py", "loader.py")


@functools.cache
def recipe_digest() -> bytes:
    """SHA-256 of the deployment recipe's source files."""
    digest = hashlib.sha256()
    for name in _RECIPE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.digest()
