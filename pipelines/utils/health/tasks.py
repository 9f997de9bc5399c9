"""The watchdog's task: find what stopped, tell its owners once, and publish the status."""

from __future__ import annotations

import datetime as dt
from typing import Any

import prefect
from prefect import task

from pipelines.errors import HealthError
from pipelines.utils.context import current_settings
from pipelines.utils.health import snapshot
from pipelines.utils.health.assess import FlowHealth, assess
from pipelines.utils.health.notices import mentioner, plan_notices, settle
from pipelines.utils.health.observe import late_after, load_times, seen_on_server
from pipelines.utils.resources import resources

WEBHOOK_TIMEOUT_S = 10


def watch_once(
    server: Any, settings: Any, now: dt.datetime, dry_run: bool, post: Any = None
) -> dict[str, Any]:
    """One pass of the watchdog (the task without Prefect, for tests and the bench).

    Returns:
        {"problems": [texts], "sent": [(webhook origin, text)], "would_send": [...],
         "paused": [flow names], "flows": n, "tables": n}
    """
    from pipelines.utils.alerts.messages import payload, webhook_for
    from pipelines.utils.deploy.target import project_of
    from pipelines.utils.redaction import origin, register_secret, secrets_in_url

    logger = prefect.context.get("logger") or prefect.utilities.logging.get_logger("watchdog")
    lake = resources(settings).datalake()
    expectations = snapshot.published_expectations(
        snapshot.read_json(lake, snapshot.EXPECTATIONS_KEY)
    )
    if not expectations:
        raise HealthError(
            f"No expectations at {lake.uri(snapshot.EXPECTATIONS_KEY)}: `python manage.py "
            "register` publishes them when it registers to production (CD does)."
        )
    project = project_of("production", settings)
    seen = seen_on_server(server, project, expectations, now, late_after(settings))
    health = assess(expectations, seen, load_times(settings, expectations), now, where="server")
    paused = _pause_streaks(server, health, dry_run)
    problems = [p for h in health for p in h.problems]
    alerted = snapshot.read_json(lake, snapshot.ALERTED_KEY) or {}
    notices = plan_notices(problems, alerted, mentioner(settings))
    result: dict[str, Any] = {
        "problems": [p.text for p in problems],
        "sent": [],
        "would_send": [],
        "not_sent": [],
        "paused": paused,
        "flows": len(expectations),
        "tables": sum(len(e.tables) for e in expectations),
    }
    post = post or (lambda url, body: _post(url, body))
    for notice in notices:
        url = webhook_for(notice.org or None, settings)
        if dry_run:
            result["would_send"].append((origin(url) if url else "no webhook", notice.text()))
            continue
        if not url:
            logger.warning(
                "No webhook for org %r: %d line(s) not sent", notice.org, len(notice.lines)
            )
            result["not_sent"].append(notice.text())
            continue
        register_secret(url, *secrets_in_url(url))
        try:
            post(url, payload(notice.text()))
        except Exception as error:  # tried again next pass: only delivered notices settle
            logger.warning("Watchdog message to %s not sent: %s", origin(url), type(error).__name__)
            result["not_sent"].append(notice.text())
            continue
        settle(alerted, notice, now)
        result["sent"].append((origin(url), notice.text()))
    if not dry_run:
        snapshot.write_json(lake, snapshot.ALERTED_KEY, alerted)
        snapshot.write_json(lake, snapshot.STATUS_KEY, status_json(health, now))
    for line in result["problems"]:
        logger.info("Problem: %s", line)
    return result


def _post(url: str, body: dict[str, Any]) -> None:
    import requests

    response = requests.post(url, json=body, timeout=WEBHOOK_TIMEOUT_S)
    response.raise_for_status()


def _pause_streaks(server: Any, health: list[FlowHealth], dry_run: bool) -> list[str]:
    """Turn off the schedules of flows on a failing streak that ask for it."""
    paused = []
    for flow in health:
        streaking = any(p.kind == "failing" for p in flow.problems)
        if (
            streaking
            and flow.expectation.pause_on_failing_streak
            and flow.seen.schedule_active
            and flow.seen.flow_id
        ):
            if not dry_run:
                server.pause_schedule(flow.seen.flow_id)
            paused.append(flow.expectation.name)
    return paused


def status_json(health: list[FlowHealth], now: dt.datetime) -> dict[str, Any]:
    """The status as `manage.py status --json` prints it and the health page reads it."""
    return {
        "generated": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "flows": [h.to_json(now) for h in health],
    }


@task(name="watch")
def watch(dry_run: bool = False) -> dict[str, Any]:
    """Check every production flow and table against its expectations, alert what is new
    and what recovered, and publish the status.

    Args:
        dry_run: List the messages it would send; send, pause and write nothing.

    Returns:
        What the pass found and sent (see watch_once).
    """
    from pipelines.utils.server import Server

    if not isinstance(dry_run, bool):
        raise HealthError(f"dry_run={dry_run!r} is not true or false.")
    return watch_once(Server(), current_settings(), dt.datetime.now(dt.UTC), dry_run)
