"""Run-time helpers as tasks: rename the run, its labels and mode, child runs and waiting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import prefect
from prefect import Client, task
from prefect.engine import signals

from pipelines.utils.context import current_settings
from pipelines.utils.flow_runs.runs import (
    ChildRunError,
    create_child,
    current_run,
    on_server,
    render_name,
    wait_for,
)


@task
def rename_current_flow_run(template: str) -> str:
    """Rename the current run, e.g. "{flow_name} {now:%Y-%m-%d %H:%M} {param[table_id]}".

    The time is when the task runs, in America/Sao_Paulo. Locally (no server) the name is
    only logged.

    Args:
        template: Python format string with flow_name, now and param.

    Returns:
        The new name.

    Raises:
        ValueError: The template names something else.
    """
    name = render_name(template)
    logger = prefect.context.get("logger")
    if on_server():
        Client().set_flow_run_name(prefect.context.get("flow_run_id"), name)
        logger.info("Flow run renamed to %r", name)
    else:
        logger.info("Local run: would rename the flow run to %r", name)
    return name


@task
def get_current_flow_labels() -> list[str]:
    """The agent labels of the current run (on the server); locally, an empty list.

    Returns:
        The labels, sorted.
    """
    return sorted(current_run().labels) if on_server() else []


@task
def get_current_flow_mode() -> str:
    """'prod' when the current run's flow is in the production project, else 'dev'
    (the staging and development project). Locally (no server): 'dev'.

    Returns:
        'prod' or 'dev'.
    """
    if not on_server():
        return "dev"
    production = current_settings().require("PIPELINES_PROD_PROJECT")
    return "prod" if current_run().project == production else "dev"


@task
def create_child_run(
    flow_name: str,
    parameters: Mapping[str, Any] | None = None,
    labels: list[str] | None = None,
    run_name: str | None = None,
) -> str:
    """Start a child run of `flow_name` in the parent's project, with its labels by default.

    Locally the child flow (found by name among the repo's flows) runs in this process.

    Args:
        flow_name: The child flow's name (as registered, suffix included).
        parameters: The child's parameters.
        labels: Agent labels; None: the parent's.
        run_name: Name of the child run.

    Returns:
        The child run's id.

    Raises:
        signals.FAIL: No such flow in the parent's project.
    """
    try:
        return create_child(flow_name, parameters, labels, run_name)
    except (ChildRunError, LookupError) as error:
        raise signals.FAIL(str(error)) from None


@task
def wait_for_run(run_id: str, timeout_s: float = 3600.0, poll_s: float = 10.0) -> str:
    """Wait for a child run; its state changes are logged here. On timeout it is cancelled.

    Args:
        run_id: What create_child_run returned.
        timeout_s: Longest wait.
        poll_s: Seconds between checks.

    Returns:
        The child's final state.

    Raises:
        signals.FAIL: The child failed, was cancelled or timed out (the message links it).
    """
    try:
        return wait_for(run_id, timeout_s, poll_s)
    except ChildRunError as error:
        raise signals.FAIL(str(error)) from None
