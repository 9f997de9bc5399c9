"""The current flow run and its children, on Prefect Server or (locally) in this process."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pendulum
import prefect
from prefect import Client

from pipelines.constants import TIMEZONE
from pipelines.errors import ChildRunError
from pipelines.utils.context import LOCAL_RUNNER_KEY, current_settings
from pipelines.utils.server import Server
from pipelines.utils.server.context import run_page, server_run_id
from pipelines.utils.server.states import FINISHED, SUCCEEDED


@dataclass(frozen=True)
class RunInfo:
    """Where the current run lives on the server."""

    id: str
    name: str
    labels: list[str]
    flow_name: str
    project: str


def on_server() -> bool:
    """Whether this task runs in a flow run from Prefect Server (else run_local / flow.run)."""
    return server_run_id() is not None


def current_run(client: Client | None = None) -> RunInfo:
    """The server's record of the current flow run."""
    run = Server(client).run(prefect.context.get("flow_run_id"))
    flow = run["flow"]
    return RunInfo(
        run["id"], run["name"], run["labels"] or [], flow["name"], flow["project"]["name"]
    )


def run_link(run_id: str) -> str:
    """The Prefect UI page of a run."""
    return run_page(current_settings().require("PIPELINES_PREFECT_UI_URL"), run_id)


def render_name(template: str, now: pendulum.DateTime | None = None) -> str:
    """A run name from `template`: {flow_name}, {now:%Y-%m-%d %H:%M} (America/Sao_Paulo,
    now, not when the flow was built) and {param[<name>]} (the run's parameters).

    Raises:
        ValueError: The template names something else.
    """
    values = {
        "flow_name": prefect.context.get("flow_name") or "",
        "now": now or pendulum.now(TIMEZONE),
        "param": dict(prefect.context.get("parameters") or {}),
    }
    try:
        return template.format(**values)
    except (KeyError, IndexError, AttributeError) as error:
        raise ValueError(
            f"run name template {template!r}: {error!r} is not one of {{flow_name}}, "
            "{now:<strftime>} or {param[<parameter>]}."
        ) from None


# Local children: run in this process at creation; their final states wait here.
_LOCAL_RUNS: dict[str, Any] = {}


def create_child(
    flow_name: str,
    parameters: Mapping[str, Any] | None = None,
    labels: list[str] | None = None,
    run_name: str | None = None,
    client: Client | None = None,
) -> str:
    """Start a run of the flow named `flow_name` as a child of the current run.

    On the server the child is a run of the latest version of that flow in the **parent's
    project**, with the parent's labels unless `labels` is given. Locally the flow (found by
    name among the repo's flows) runs in this process now, and the returned id is local.

    Raises:
        ChildRunError: No such flow in the parent's project (or, locally, in the repo).
    """
    logger = prefect.context.get("logger") or logging.getLogger("pipelines.flow_runs")
    if not on_server():
        from pipelines.utils.inventory import flow_named

        runner = prefect.context.get(LOCAL_RUNNER_KEY)
        if runner is None:
            raise ChildRunError(
                f"A local child run of {flow_name!r} runs through run_local (or manage.py "
                "run): run the parent flow with it, not with flow.run()."
            )
        flow = flow_named(flow_name)
        run_id = f"local-{uuid.uuid4().hex[:12]}"
        logger.info("Running child %r in this process (%s)", flow_name, run_id)
        _LOCAL_RUNS[run_id] = runner(flow, dict(parameters or {}))
        return run_id
    client = client or Client()
    parent = current_run(client)
    flow_id = Server(client).latest_flow_id(flow_name, parent.project)
    if not flow_id:
        raise ChildRunError(
            f"No flow {flow_name!r} in project {parent.project!r} (the parent's): register it "
            "there (manage.py register)."
        )
    run_id = client.create_flow_run(
        flow_id=flow_id,
        parameters=dict(parameters or {}),
        labels=parent.labels if labels is None else labels,
        run_name=run_name,  # type: ignore[arg-type]  # None lets the server name it
    )
    logger.info("Child run of %r in project %r: %s", flow_name, parent.project, run_link(run_id))
    return str(run_id)


def watch(
    run_id: str,
    timeout_s: float = float("inf"),
    poll_s: float = 10.0,
    client: Client | None = None,
    label: str = "Child run",
) -> tuple[str, str | None]:
    """Poll a run until it finishes or timeout_s passes, logging each state change.

    Returns:
        (its last state, that state's message).
    """
    logger = prefect.context.get("logger") or logging.getLogger("pipelines.flow_runs")
    server = Server(client)
    deadline = time.monotonic() + timeout_s
    seen: str | None = None
    while True:
        state, message = server.run_state(run_id)
        if state != seen:
            seen = state
            logger.info("%s %s: %s", label, run_id, state)
        if state in FINISHED or time.monotonic() > deadline:
            return state, message
        time.sleep(poll_s)


def wait_for(
    run_id: str,
    timeout_s: float = 3600.0,
    poll_s: float = 10.0,
    client: Client | None = None,
    cancel_on_timeout: bool = True,
) -> str:
    """Wait until a child run finishes; its state changes go to the log as they happen.

    On timeout the child is cancelled (unless cancel_on_timeout is False) and this raises.

    Returns:
        The final state, when it is Success, Cached or Skipped.

    Raises:
        ChildRunError: The child failed or was cancelled (its state message and link), or it
            did not finish within timeout_s.
    """
    logger = prefect.context.get("logger") or logging.getLogger("pipelines.flow_runs")
    if run_id in _LOCAL_RUNS:
        state = _LOCAL_RUNS.pop(run_id)
        if not state.is_successful():
            raise ChildRunError(f"Child run {run_id} {type(state).__name__}: {state.message}")
        return type(state).__name__
    client = client or Client()
    link = run_link(run_id)
    state, message = watch(run_id, timeout_s, poll_s, client)
    if state not in FINISHED:
        if cancel_on_timeout:
            Server(client).cancel_run(run_id)
            logger.warning("Child run %s cancelled: not finished in %.0f s", link, timeout_s)
        raise ChildRunError(
            f"Child run did not finish within {timeout_s:.0f} s (state {state}"
            f"{', cancelled' if cancel_on_timeout else ''}): {link}"
        )
    if state not in SUCCEEDED:
        raise ChildRunError(f"Child run {state.lower()}: {link}: {message or 'no message'}")
    return state
