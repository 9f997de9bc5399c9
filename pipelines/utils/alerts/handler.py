"""The failure alert: a flow state handler that posts to the org's webhook."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import prefect
import requests
from prefect import Flow
from prefect.engine.state import State

from pipelines.utils.alerts.messages import alerts_for, failure_text, payload
from pipelines.utils.context import current_settings
from pipelines.utils.redaction import origin, register_secret, secrets_in_url

WEBHOOK_TIMEOUT_S = 10


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
