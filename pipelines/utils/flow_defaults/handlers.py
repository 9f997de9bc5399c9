"""Flow state handlers: failure alerts to a webhook, and skipping overlapping runs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import prefect
import requests
from prefect import Client, Flow
from prefect.engine.state import Skipped, State
from prefect.exceptions import ClientError

from pipelines.utils.flow_defaults.alerts import alerts_for, failure_text, payload
from pipelines.utils.redaction import origin, register_secret, secrets_in_url
from pipelines.utils.resources import current_settings

WEBHOOK_TIMEOUT_S = 10

# Hasura's filters take its own `uuid` scalar; the server's `UUID` is only for its mutations.
_RUNNING = """
query RunningRuns($flow_id: uuid!, $run_id: uuid!) {
  flow_run(
    where: {
      flow: {flow_group: {flows: {id: {_eq: $flow_id}}}}
      state: {_eq: "Running"}
      id: {_neq: $run_id}
    }
  ) { id }
}
"""


def failure_message(flow: Flow, state: State) -> dict[str, Any]:
    """The alert of a failed run, as Discord and Slack webhooks both accept it."""
    return payload(failure_text(flow, state, "", current_settings()))


def notify_failure(flow: Flow, old_state: State, new_state: State) -> State:
    """Post failure alerts to the org's webhook (PIPELINES_FAILURE_WEBHOOK_URL_<ORG>, else
    PIPELINES_FAILURE_WEBHOOK_URL), mentioning the code owners.

    A flow that keeps failing posts one alert per PIPELINES_ALERT_INTERVAL_MIN, then a
    summary of the failures not posted (when it succeeds again, or fails after the interval).
    A webhook that is down or refuses the post is logged and otherwise ignored: the alert
    never changes the run's own state.

    Args:
        flow: The flow whose state changed.
        old_state: The previous state.
        new_state: The new state.

    Returns:
        new_state, unchanged.
    """
    if not new_state.is_finished() or old_state.is_finished() or new_state.is_skipped():
        return new_state
    logger = prefect.context.get("logger") or prefect.utilities.logging.get_logger()
    try:
        url, posts = alerts_for(flow, new_state)
    except Exception as error:  # an alert must never fail the run it reports on
        logger.warning("Failure alert not sent: %s: %s", type(error).__name__, error)
        return new_state
    if not url:
        if new_state.is_failed():
            logger.debug("No failure webhook configured: failure alert not sent")
        return new_state
    # A Discord or Slack webhook's path is its token: only scheme and host may be logged.
    register_secret(url, urlsplit(url).path, *secrets_in_url(url))
    for text in posts:
        try:
            response = requests.post(url, json=payload(text), timeout=WEBHOOK_TIMEOUT_S)
            response.raise_for_status()
            logger.info("Failure alert sent to the webhook at %s", origin(url))
        except Exception as error:  # an alert must never fail the run it reports on
            logger.warning(
                "Failure alert to the webhook at %s not sent: %s", origin(url), type(error).__name__
            )
    return new_state


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
    run_id, flow_id = prefect.context.get("flow_run_id"), prefect.context.get("flow_id")
    from_backend = prefect.context.get("running_with_backend")
    if not new_state.is_running() or not from_backend or not run_id or not flow_id:
        return new_state
    logger = prefect.context.get("logger")
    try:
        result = Client().graphql(_RUNNING, variables={"flow_id": flow_id, "run_id": run_id})
    except ClientError as error:
        logger.error(
            "skip_if_running: the API refused the query RunningRuns, so overlapping runs are "
            "not detected; running anyway. This is a bug in the query: %s",
            error,
        )
        return new_state
    except (requests.ConnectionError, requests.Timeout, requests.HTTPError) as error:
        logger.warning(
            "skip_if_running: could not reach the API to ask for running runs (%s: %s); "
            "running anyway",
            type(error).__name__,
            error,
        )
        return new_state
    others = [run["id"] for run in result["data"]["flow_run"]]
    if others:
        message = f"Run {others[0]} of {flow.name!r} is still running; skipping this one."
        logger.info(message)
        return Skipped(message)
    return new_state
