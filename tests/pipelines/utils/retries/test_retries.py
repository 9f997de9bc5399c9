"""with_retries: transient errors retried with growing waits, others raised at once."""

from __future__ import annotations

import logging
import time

import pytest

from pipelines.utils.retries import is_transient, with_retries


def test_transient_errors_are_retried_with_backoff():

    attempts = []

    def flaky():
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise ConnectionError("connection refused")
        return "ok"

    assert with_retries(flaky, logging.getLogger("t"), base_s=0.05) == "ok"
    assert attempts[2] - attempts[1] > attempts[1] - attempts[0]  # the wait doubles
    assert is_transient(RuntimeError("server closed the connection unexpectedly"))
    assert not is_transient(ValueError("syntax error at or near SELECT"))
    with pytest.raises(ValueError):
        with_retries(lambda: (_ for _ in ()).throw(ValueError("bad sql")), logging.getLogger("t"))


def test_cloud_api_answers_that_may_pass_later_are_transient():
    from google.api_core import exceptions

    assert is_transient(exceptions.ServiceUnavailable("try later"))
    assert is_transient(exceptions.TooManyRequests("slow down"))
    assert not is_transient(exceptions.NotFound("no such bucket"))
    assert not is_transient(exceptions.Forbidden("no permission"))
