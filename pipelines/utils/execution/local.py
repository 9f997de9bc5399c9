"""run_local: run a flow now, in this process, on the executor settings choose."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import prefect
from prefect import Flow
from prefect.engine.state import State
from prefect.executors import Executor

from pipelines.settings import Settings
from pipelines.utils import scratch
from pipelines.utils.context import LOCAL_RUNNER_KEY, current_settings, using
from pipelines.utils.execution.executors import describe_executor, make_executor
from pipelines.utils.execution.parameters import check_parameters
from pipelines.utils.health.records import record_run
from pipelines.utils.redaction import redact
from pipelines.utils.resources import resources
from pipelines.utils.warehouse.factory import settle_ended_writes


def run_local(
    flow: Flow,
    parameters: Mapping[str, Any] | None = None,
    *,
    executor: Executor | None = None,
    settings: Settings | None = None,
) -> State:
    """Run a flow now (not on its schedule) in this process, and summarise the run.

    Args:
        flow: The flow to run; it is not modified.
        parameters: Values for the flow's Parameters.
        executor: Executor to use instead of the one settings choose.
        settings: Settings to read instead of the environment and .env.

    Returns:
        The flow run's final state; `state.result[task]` holds each task's state.

    Raises:
        FlowParameterError: Unknown or missing parameters (before anything runs).
        SettingsError: The environment (PIPELINES_ENV) lacks settings (before anything runs).
    """
    given = check_parameters(flow, parameters)
    settings = settings or current_settings()
    settings.check_environment()
    executor = executor or make_executor(settings)
    logger = prefect.utilities.logging.get_logger("run_local")
    logger.info(
        "Running flow %r with %s (env: %s)", flow.name, describe_executor(executor), settings.env
    )
    # Work on a copy so the caller's flow keeps its schedule and configuration.
    runnable = flow.copy()
    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC)
    # Every task reads these settings (context.using) and starts local children through
    # run_local; Ctrl-C skips the tasks that clean up (downloads, staging): the scope removes
    # their files.
    with using(settings), prefect.context(**{LOCAL_RUNNER_KEY: run_local}), scratch.scope():
        try:
            state = runnable.run(parameters=given, executor=executor, run_on_schedule=False)
        finally:
            settle_ended_writes(settings)
    if state is None:  # only when run_on_schedule loops forever, which it does not here
        raise RuntimeError(f"Flow {flow.name!r} returned no state.")
    _record(settings, flow.name, state, started_at, logger)
    for line in summarize(state, time.monotonic() - started):
        logger.info(line)
    return state


def _record(
    settings: Settings, flow_name: str, state: State, started: dt.datetime, logger: Any
) -> None:
    """Keep the run where `manage.py status` finds it; a full disk only costs the record."""
    path = resources(settings).runs_file
    if path is None:
        return
    try:
        record_run(path, flow_name, type(state).__name__, started, dt.datetime.now(dt.UTC))
    except OSError as error:
        logger.warning("The run was not recorded in %s: %s", path, error)


def summarize(state: State, seconds: float) -> list[str]:
    """Lines that sum up a run: tasks by state, duration, failures and outputs."""
    task_states: dict[Any, State] = state.result if isinstance(state.result, dict) else {}
    counts = Counter(type(s).__name__ for s in task_states.values())
    by_state = ", ".join(f"{n} {name}" for name, n in sorted(counts.items())) or "no tasks"
    lines = [f"Flow run {type(state).__name__} in {seconds:.1f}s: {by_state}"]
    lines += [f"  failed: {name}: {message}" for name, message in failed_tasks(state)]
    for task_state in task_states.values():
        location = getattr(task_state.result, "location", None)
        if task_state.is_successful() and location:
            lines.append(f"  output: {location}")
    return lines


def failed_tasks(state: State) -> list[tuple[str, str]]:
    """(task name, error) for each failed task of a flow run, e.g. ('load', 'OSError: ...'):
    the tasks that failed on their own first, then those that did not run because of them."""
    from prefect.engine.state import TriggerFailed

    task_states: dict[Any, State] = state.result if isinstance(state.result, dict) else {}
    failed = []
    ordered = sorted(task_states.items(), key=lambda item: isinstance(item[1], TriggerFailed))
    for task, task_state in ordered:
        if task_state.is_failed():
            error = task_state.result
            message = (
                f"{type(error).__name__}: {error}"
                if isinstance(error, BaseException)
                else str(task_state.message)
            )
            failed.append((task.name, redact(message)))
    return failed
