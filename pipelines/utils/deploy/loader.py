"""Load a flow from its code bundle; pickled by value, so it uses the standard library only."""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import io
import os
import sys
import tempfile
import types
import zipfile
from typing import Any

PACKAGE = "pipelines"


class BundleOnlyFinder(importlib.abc.MetaPathFinder):
    """Finds `pipelines` modules in the bundle and nowhere else.

    A module missing from the bundle is an error, never a fallback to another copy of the
    code (an installed package, a checkout on the path): a flow runs the code it was
    registered with, all of it.
    """

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != PACKAGE and not name.startswith(PACKAGE + "."):
            return None
        parent = name.rpartition(".")[0]
        search = list(sys.modules[parent].__path__) if parent else [self.root]
        spec = importlib.machinery.PathFinder.find_spec(name, search)
        if spec is None:
            raise ModuleNotFoundError(
                f"{name} is not in this flow's code bundle ({self.root}). Registration bundles "
                "the modules the flow's import statements name; import it with a static "
                "`import` (or `importlib.import_module('a.literal.name')`) so it is found.",
                name=name,
            )
        return spec


def unpack(archive: bytes) -> str:
    """Extract a bundle once per machine, under a folder named by its content hash."""
    digest = hashlib.sha256(archive).hexdigest()[:24]
    home = os.path.join(tempfile.gettempdir(), "pipelines-flow-code")
    root = os.path.join(home, digest)
    if not os.path.isdir(root):
        os.makedirs(home, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{digest}-", dir=home)
        zipfile.ZipFile(io.BytesIO(archive)).extractall(staging)
        try:
            os.rename(staging, root)
        except OSError:  # another process extracted the same bundle first
            if not os.path.isdir(root):
                raise
    return root


def activate(root: str, module: str) -> None:
    """Make `pipelines` resolve to the bundle at root only, then import the flow's module.

    Packages above the module whose __init__ is not in the bundle (an org's list of its
    projects) become empty packages, exactly as when the flow was registered.
    """
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, BundleOnlyFinder)]
    sys.meta_path.insert(0, BundleOnlyFinder(root))
    importlib.invalidate_caches()
    parts = module.split(".")
    for depth in range(1, len(parts)):
        package = ".".join(parts[:depth])
        folder = os.path.join(root, *parts[:depth])
        if not os.path.isfile(os.path.join(folder, "__init__.py")):
            stub = types.ModuleType(package)
            stub.__path__ = [folder]
            sys.modules[package] = stub
            if depth > 1:
                setattr(sys.modules[".".join(parts[: depth - 1])], parts[depth - 1], stub)
        else:
            importlib.import_module(package)


def load_bundled_flow(
    archive: bytes, module: str, flow_name: str, overrides: dict[str, Any]
) -> Any:
    """Unpack the bundle, import the flow's module from it and return the registered flow.

    Args:
        archive: Zip of the flow's code closure (Python and data files), paths from the repo
            root.
        module: The module that defines the flow.
        flow_name: The flow's name in that module.
        overrides: Attributes the registered version sets on the flow (name, storage,
            run_config).

    Returns:
        The flow, with the overrides applied to a copy.
    """
    root = unpack(archive)
    activate(root, module)
    from prefect import Flow  # the image has prefect; only pipelines comes from the bundle

    loaded = importlib.import_module(module)
    flows = [v for v in vars(loaded).values() if isinstance(v, Flow) and v.name == flow_name]
    if not flows:
        raise LookupError(f"{module} (from the bundle at {root}) defines no flow {flow_name!r}.")
    flow = flows[0].copy()
    for attribute, value in overrides.items():
        setattr(flow, attribute, value)
    return flow
