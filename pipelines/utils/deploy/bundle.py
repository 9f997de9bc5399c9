"""Build the stored form of a flow: its code closure zipped, plus how to load it."""

from __future__ import annotations

import binascii
import functools
import hashlib
import io
import json
import pickle
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import Flow

from pipelines.utils.deploy import loader
from pipelines.utils.deploy.graph import ModuleGraph

# Fixed zip timestamps: the same files give the same bytes, so the same storage key.
_EPOCH = (1980, 1, 1, 0, 0, 0)


class FlowModuleError(LookupError):
    """A flow that is not defined in a module of the repo's pipelines package."""


def defining_module(flow: Flow) -> str:
    """The module whose code builds the flow.

    PipelineFlow records it when it is created; for another Flow, the pipelines module that
    holds it under a name.

    Raises:
        FlowModuleError: No pipelines module defines the flow.
    """
    recorded = getattr(flow, "defined_in", None)
    if recorded:
        return str(recorded)
    holders = sorted(
        name
        for name, module in list(sys.modules.items())
        if name.startswith("pipelines.") and any(value is flow for value in vars(module).values())
    )
    if not holders:
        raise FlowModuleError(
            f"Flow {flow.name!r} is not defined in a module of the pipelines package, so its "
            "code cannot be bundled: define it in pipelines/<org>/<project>/flows.py."
        )
    return holders[0]


def bundle_files(graph: ModuleGraph, module: str) -> list[Path]:
    """The files a flow's module needs at run time: its closure, Python and data files."""
    return graph.closure_files(module)


def build_archive(graph: ModuleGraph, module: str) -> bytes:
    """Zip the module's closure with paths from the repo root, byte-for-byte reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in bundle_files(graph, module):
            info = zipfile.ZipInfo(path.relative_to(graph.root).as_posix(), _EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


@dataclass
class BundledFlow:
    """Pickles as a call to loader.load_bundled_flow, so unpickling imports from the bundle."""

    archive: bytes
    module: str
    flow_name: str
    overrides: dict[str, Any]

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _Unpickled(_pickled_loader()), (
            self.archive,
            self.module,
            self.flow_name,
            self.overrides,
        )


class _Unpickled:
    """A callable that pickles as `pickle.loads(data)`: the loader's pickle embedded as bytes.

    The loader travels by value (the image has no pipelines code). Pickled afresh for every
    flow, cloudpickle scanned every loaded module for each of its functions: 2.1 s of a
    500-flow registration. Pickled once, it is the same bytes in every version.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __call__(self, *args: Any) -> Any:
        return pickle.loads(self.data)(*args)  # noqa: S301 (our own loader's bytes)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return pickle.loads, (self.data,)


@functools.cache
def _pickled_loader() -> bytes:
    import cloudpickle

    cloudpickle.register_pickle_by_value(loader)
    try:
        return cloudpickle.dumps(loader.load_bundled_flow)
    finally:
        cloudpickle.unregister_pickle_by_value(loader)


def stored_bytes(archive: bytes, module: str, flow_name: str, flow: Flow) -> bytes:
    """What goes in the bucket, in the format Prefect's storage reads (flow_from_bytes_pickle).

    Args:
        archive: The code bundle (build_archive).
        module: Module that defines the flow.
        flow_name: The flow's name in that module.
        flow: The deployable copy: its name, storage and run config are applied at load.

    Returns:
        JSON with the base64 pickle and the library versions it was built with.
    """
    import cloudpickle
    from prefect.utilities.storage import _get_versions

    overrides = {"name": flow.name, "storage": flow.storage, "run_config": flow.run_config}
    # The flow travels by name, imported from the archive by the loader.
    pickled = cloudpickle.dumps(BundledFlow(archive, module, flow_name, overrides))
    return json.dumps(
        {"flow": binascii.b2a_base64(pickled).decode(), "versions": _get_versions()}
    ).encode()


def bundle_digest(archive: bytes) -> str:
    """SHA-256 of a bundle's bytes."""
    return hashlib.sha256(archive).hexdigest()
