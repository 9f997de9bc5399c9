"""A flow state handler that skips a run while another run of the same flow is running."""

from __future__ import annotations

import prefect
import requests
from prefect import Flow
from prefect.engine.state import Skipped, State
from prefect.exceptions import ClientError

from pipelines.errors import ServiceUnreachableError
from pipelines.utils.server import Server
from pipelines.utils.server.context import server_run_id


def skip_if_running(flow: Flow, old_state: State, new_state: State) -> State:
    """Skip a run when another run of the same flow is already running (asks the API).

    Only acts on runs that come from a Prefect backend; local runs are left alone. When the
    API is unreachable or failing (connection error, timeout, 5xx), the run goes ahead with a
    warning: that is weather. When the API answers with a GraphQL error, the query is wrong
    (a bug, not weather): the error is logged naming the query, and the run goes ahead.

    Args:
        flow: The flow whose state changed.
        old_state: The previous state.
        new_state: The new state.

    Returns:
        Skipped when another run is running, else new_state.
    """
    run_id, flow_id = server_run_id(), prefect.context.get("flow_id")
    if not new_state.is_running() or run_id is None or not flow_id:
        return new_state
    logger = prefect.context.get("logger")
    try:
        others = Server().other_running_runs(flow_id, run_id)
    except ClientError as error:
        logger.error(
            "skip_if_running: the API refused the query RunningRuns, so overlapping runs are "
            "not detected; running anyway. This is a bug in the query: %s",
            error,
        )
        return new_state
    except (
        ServiceUnreachableError,
        requests.ConnectionError,
        requests.Timeout,
        requests.HTTPError,
    ) as error:
        logger.warning(
            "skip_if_running: could not reach the API to ask for running runs (%s: %s); "
            "running anyway",
            type(error).__name__,
            error,
        )
        return new_state
    if others:
        message = f"Run {others[0]} of {flow.name!r} is still running; skipping this one."
        logger.info(message)
        return Skipped(message)
    return new_state
