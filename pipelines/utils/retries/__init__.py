"""Retry transient failures (connections, timeouts) with exponential backoff."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from pipelines.errors import PipelinesError
from pipelines.utils.redaction import redact

RETRIES = 3
TRANSIENT = (
    "connection refused",
    "connection reset",
    "connection aborted",
    "could not connect",
    "server closed the connection",
    "lost connection",
    "timed out",
    "timeout",
    "too many connections",
    "broken pipe",
    "can't connect",
    "temporarily unavailable",
)
# HTTP answers a cloud API gives when trying again later can work (google.api_core's errors
# carry the status as `code`).
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
T = TypeVar("T")


def is_transient(error: BaseException) -> bool:
    """Connection-level failures worth retrying; anything else (bad SQL, 404, types) is not.
    An error of this project's own is transient only by its type: its message may name a
    setting such as timeout_s without being a timeout."""
    if isinstance(error, PipelinesError) and not isinstance(error, ConnectionError | TimeoutError):
        return False
    text = str(error).lower()
    status = getattr(error, "code", None)
    return (
        isinstance(error, ConnectionError | TimeoutError)
        or (isinstance(status, int) and status in TRANSIENT_STATUS)
        or any(p in text for p in TRANSIENT)
    )


def with_retries(
    attempt: Callable[[], T],
    logger: logging.Logger | logging.LoggerAdapter,
    retries: int = RETRIES,
    base_s: float = 2.0,
    mask: Callable[[str], str] = redact,
) -> T:
    """Run attempt(); retry transient errors after base_s, 2*base_s, 4*base_s seconds.

    Args:
        attempt: The work; it must be safe to run again.
        logger: Where retries are reported.
        retries: Retries after the first attempt.
        base_s: First wait.
        mask: Applied to error messages before they are logged (default: registered secrets
            and URL passwords masked).

    Returns:
        What attempt returned.

    Raises:
        Exception: The last error, or the first one that is not transient.
    """
    for number in range(retries + 1):
        try:
            return attempt()
        except Exception as error:
            if number == retries or not is_transient(error):
                raise
            delay = base_s * 2**number
            logger.warning(
                "Transient error (%s); retry %s/%s in %.0f s",
                mask(str(error)), number + 1, retries, delay,
            )  # fmt: skip
            time.sleep(delay)
    raise AssertionError("unreachable")
