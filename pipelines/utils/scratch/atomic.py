"""Replacing a file in one step, through a scratch file beside it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelines.utils.scratch.files import release, scratch_file


def umask() -> int:
    """This process's umask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes) -> None:
    """Replace path's bytes in one step: readers see the old file or the new, never half."""
    # Named after this process, so the next write of path removes one a kill left behind.
    temporary = scratch_file(f".{path.name}.", folder=path.parent)
    try:
        temporary.write_bytes(data)
        if path.exists():
            shutil.copymode(path, temporary)
        else:  # a new file gets the mode any new file would, not mkstemp's 0600
            temporary.chmod(0o666 & ~umask())
        os.replace(temporary, path)
    finally:
        release(temporary)
