"""Whether this process runs a flow run for Prefect Server, and the link to a run's page:
the one place that reads it from Prefect's context (flow.run() and run_local make up a run
id too, which no server knows)."""

from __future__ import annotations

import prefect


def server_run_id() -> str | None:
    """The id of the flow run this process runs for the server, or None (run_local,
    flow.run(), a test)."""
    run_id = prefect.context.get("flow_run_id")
    return str(run_id) if run_id and prefect.context.get("running_with_backend") else None


def run_page(ui_url: str, run_id: str) -> str:
    """The Prefect UI page of a run."""
    return f"{ui_url.rstrip('/')}/flow-run/{run_id}"
