"""Temporary files and folders that never outlive their run.

Each name carries its process's id (`pipelines-url-p4242-k2j3.csv`), so the next run can tell a
file whose process is gone (killed, or stopped with Ctrl-C) from one a live run still writes,
and remove it; `scope()` removes what a run made when it ends, however it ends.
"""

from pipelines.utils.scratch.atomic import atomic_write, umask
from pipelines.utils.scratch.files import (
    release,
    scope,
    scratch_dir,
    scratch_file,
    scratch_path,
    sweep,
    temporary_folder,
)

__all__ = [
    "atomic_write",
    "release",
    "scope",
    "scratch_dir",
    "scratch_file",
    "scratch_path",
    "sweep",
    "temporary_folder",
    "umask",
]
