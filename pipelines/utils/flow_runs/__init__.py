"""The current flow run and its children: rename, labels, mode, child runs waited for."""

from pipelines.errors import ChildRunError
from pipelines.utils.flow_runs.runs import create_child, on_server, wait_for
from pipelines.utils.flow_runs.tasks import (
    create_child_run,
    get_current_flow_labels,
    get_current_flow_mode,
    rename_current_flow_run,
    wait_for_run,
)

__all__ = [
    "ChildRunError",
    "create_child",
    "create_child_run",
    "get_current_flow_labels",
    "get_current_flow_mode",
    "on_server",
    "rename_current_flow_run",
    "wait_for",
    "wait_for_run",
]
