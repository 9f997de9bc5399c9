"""Run one flow run per period: in this process, or as child runs on Prefect Server."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypedDict, Unpack

import prefect
from prefect import Client, Flow
from prefect.exceptions import ClientError

from pipelines.utils.backfill.periods import periods
from pipelines.utils.execution import run_local
from pipelines.utils.flow_runs.runs import watch


def _server_message(error: ClientError) -> str:
    """The server's own words from a ClientError (it carries the GraphQL errors list)."""
    errors = error.args[0] if error.args else error
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) for e in errors)
    return str(errors)


class PeriodOptions(TypedDict, total=False):
    """How a backfill splits its range and passes each period to the flow.

    every: "day" (default), "week" or "month".
    start_parameter: Parameter that receives the period's first day ("start").
    end_parameter: Parameter that receives the period's last day ("end").
    parameters: Other parameters, the same for every run.
    """

    every: str
    start_parameter: str
    end_parameter: str
    parameters: Mapping[str, Any] | None


def period_runs(
    start: str, end: str, options: PeriodOptions
) -> list[tuple[dt.date, dict[str, Any]]]:
    """(period start, the run's parameters) for each period of [start, end]."""
    found = []
    for first, last in periods(start, end, options.get("every", "day")):
        parameters = {
            **dict(options.get("parameters") or {}),
            options.get("start_parameter", "start"): first.isoformat(),
            options.get("end_parameter", "end"): last.isoformat(),
        }
        found.append((first, parameters))
    return found


def backfill_local(
    flow: Flow, start: str, end: str, **options: Unpack[PeriodOptions]
) -> list[tuple[str, str]]:
    """Run the flow once per period, one after another, with run_local.

    Args:
        flow: A flow with Parameters named start_parameter and end_parameter.
        start: First day, YYYY-MM-DD.
        end: Last day, inclusive.
        **options: every, start_parameter, end_parameter, parameters (PeriodOptions).

    Returns:
        (period start, final state name) per run; later periods still run after a failure.
    """
    return [
        (first.isoformat(), type(run_local(flow, parameters)).__name__)
        for first, parameters in period_runs(start, end, options)
    ]


def backfill_server(
    flow_id: str,
    start: str,
    end: str,
    max_concurrent: int = 2,
    poll_s: float = 10.0,
    client: Client | None = None,
    **options: Unpack[PeriodOptions],
) -> list[tuple[str, str, str]]:
    """Create one child flow run per period on the server, at most max_concurrent at a time,
    each waited for until it finishes.

    Args:
        flow_id: The registered flow version to run.
        start: First day, YYYY-MM-DD.
        end: Last day, inclusive.
        max_concurrent: Runs in flight at once (the concurrency limit).
        poll_s: Seconds between state checks.
        client: Prefect Client; default: one from the environment.
        **options: every, start_parameter, end_parameter, parameters (PeriodOptions).

    Returns:
        (period start, flow run id, final state) per period. A period whose run could not be
        created (e.g. the flow was re-registered, so this version is archived) gets run id ""
        and the state "NotCreated: <the server's reason>"; the other periods go on.

    Each call creates new runs: its idempotency keys carry the calling flow run's id (a retry
    of that run reuses its children) or, outside a flow run, a fresh id per call.

    Raises:
        ValueError: max_concurrent below 1, or bad dates.
    """
    if max_concurrent < 1:
        raise ValueError(f"max_concurrent={max_concurrent} must be at least 1.")
    client = client or Client()
    logger = prefect.context.get("logger") or prefect.utilities.logging.get_logger("backfill")
    invocation = prefect.context.get("flow_run_id") or f"backfill-{uuid.uuid4()}"

    def one(period: tuple[dt.date, dict[str, Any]]) -> tuple[str, str, str]:
        first, parameters = period
        try:
            run_id = client.create_flow_run(
                flow_id=flow_id,
                parameters=parameters,
                run_name=f"{first.isoformat()} (backfill)",
                idempotency_key=f"{invocation}-{flow_id}-{first.isoformat()}",
            )
        except ClientError as error:
            reason = _server_message(error)
            logger.error("Period %s: no flow run created: %s", first, reason)
            return first.isoformat(), "", f"NotCreated: {reason}"
        logger.info("Period %s: flow run %s created", first, run_id)
        state, _ = watch(run_id, poll_s=poll_s, client=client, label=f"Period {first}: run")
        return first.isoformat(), run_id, state

    with ThreadPoolExecutor(max_workers=max_concurrent) as pool:
        return list(pool.map(one, period_runs(start, end, options)))
