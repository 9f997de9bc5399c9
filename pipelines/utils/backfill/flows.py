"""The backfill flow: an operator starts one from the Prefect UI, no Python shell needed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import prefect
from prefect import Parameter, task
from prefect.engine import signals

from pipelines.errors import ChildRunError, PipelinesError
from pipelines.utils.backfill.runs import period_runs
from pipelines.utils.flow_runs.runs import create_child, wait_for
from pipelines.utils.pipeline_flow.factory import flow_factory


@task
def backfill_children(
    flow_name: str,
    start: str,
    end: str,
    every: str = "day",
    max_concurrent: int = 2,
    start_parameter: str = "start",
    end_parameter: str = "end",
    parameters: dict[str, Any] | None = None,
    timeout_s: float = 6 * 3600.0,
    poll_s: float = 10.0,
) -> list[tuple[str, str, str]]:
    """One child run of `flow_name` per period, at most max_concurrent at a time, each
    waited for (see create_child_run / wait_for_run: the parent's project and labels).

    Args:
        flow_name: The flow to backfill, as registered (e.g. "emd: dump_db").
        start: First day, YYYY-MM-DD.
        end: Last day, inclusive.
        every: "day", "week" or "month".
        max_concurrent: Children in flight at once.
        start_parameter: The child's parameter that receives the period's first day.
        end_parameter: The child's parameter that receives the period's last day.
        parameters: Other parameters of every child.
        timeout_s: Longest wait for one child (it is cancelled then).
        poll_s: Seconds between checks.

    Returns:
        (period start, child run id, outcome) per period; every period is tried.

    Raises:
        ValueError: max_concurrent below 1, or bad dates (before any child is created).
        signals.FAIL: Some periods failed: each with its child's link and message.
    """
    if max_concurrent < 1:
        raise ValueError(f"max_concurrent={max_concurrent} must be at least 1.")
    options = {"every": every, "start_parameter": start_parameter,
               "end_parameter": end_parameter, "parameters": parameters}  # fmt: skip
    plan = period_runs(start, end, options)  # type: ignore[arg-type]
    logger = prefect.context.get("logger")
    logger.info("Backfilling %r: %s period(s), %s at a time", flow_name, len(plan), max_concurrent)
    context = prefect.context.to_dict()

    def one(period: tuple[Any, dict[str, Any]]) -> tuple[str, str, str]:
        first, child_parameters = period
        with prefect.context(**context):  # threads do not inherit Prefect's context
            run_id = ""
            try:
                run_id = create_child(
                    flow_name, child_parameters, run_name=f"{first.isoformat()} (backfill)"
                )
                return first.isoformat(), run_id, wait_for(run_id, timeout_s, poll_s)
            except (ChildRunError, LookupError, PipelinesError) as error:
                logger.error("Period %s: %s", first, error)
                return first.isoformat(), run_id, f"Failed: {error}"

    with ThreadPoolExecutor(max_workers=max_concurrent) as pool:
        outcomes = list(pool.map(one, plan))
    failed = [o for o in outcomes if o[2].startswith("Failed")]
    if failed:
        lines = "\n".join(f"  {day}: {outcome}" for day, _, outcome in failed)
        raise signals.FAIL(f"{len(failed)} of {len(outcomes)} period(s) failed:\n{lines}")
    return outcomes


@flow_factory
def create_backfill_flow() -> None:
    """Build a flow that backfills another flow of the same project (from the UI).

    Parameters of the flow: flow_name, start, end (YYYY-MM-DD, inclusive), every ("day"),
    max_concurrent (2), start_parameter ("start"), end_parameter ("end"), parameters (None),
    poll_s (10: seconds between checks of the children).
    """
    backfill_children(
        flow_name=Parameter("flow_name"),
        start=Parameter("start"),
        end=Parameter("end"),
        every=Parameter("every", default="day"),
        max_concurrent=Parameter("max_concurrent", default=2),
        start_parameter=Parameter("start_parameter", default="start"),
        end_parameter=Parameter("end_parameter", default="end"),
        parameters=Parameter("parameters", default=None),
        poll_s=Parameter("poll_s", default=10.0),
    )
