"""Reading what happened: from Prefect Server (dev, prod) or this machine's records (local)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipelines.settings import Settings
from pipelines.utils.health.assess import FlowSeen
from pipelines.utils.health.expectations import FlowExpectation
from pipelines.utils.health.records import recorded_runs, run_from

if TYPE_CHECKING:
    from pipelines.utils.server import Server

# Runs read per flow at least (the history the health page draws).
MIN_RUNS = 10


def late_after(settings: Settings) -> dt.timedelta:
    """How long after its time a scheduled run that has not started counts as late."""
    return dt.timedelta(minutes=settings.number("PIPELINES_LATE_AFTER_MIN"))


def seen_locally(settings: Settings) -> dict[str, FlowSeen]:
    """The runs run_local recorded under the data folder, by flow name."""
    from pipelines.utils.resources import resources

    return {
        name: FlowSeen(runs=runs)
        for name, runs in recorded_runs(resources(settings).runs_file).items()
    }


def seen_on_server(
    server: Server,
    project: str,
    expectations: Sequence[FlowExpectation],
    now: dt.datetime,
    late: dt.timedelta,
) -> dict[str, FlowSeen]:
    """Each expected flow as the server knows it: two requests for up to 250 flows, one
    more per 250 after that."""
    names = [e.name for e in expectations]
    depth = max([MIN_RUNS, *(e.failing_streak + 1 for e in expectations)])
    flows = server.watched_flows(project, names, depth)
    due = server.late_runs(project, (now - late).isoformat())
    found = {
        name: FlowSeen(
            runs=[run_from(r) for r in row["runs"]],
            registered=True,
            schedule_active=bool(row["is_schedule_active"]) and row["schedule"] is not None,
            flow_id=row["id"],
        )
        for name, row in flows.items()
    }
    for row in due:
        name = row["flow"]["name"]
        if name in found:
            found[name].late.append(run_from(row))
    for name in names:
        found.setdefault(name, FlowSeen(registered=False))
    return found


def load_times(
    settings: Settings, expectations: Sequence[FlowExpectation]
) -> dict[str, dt.datetime]:
    """When each expected table was last loaded, from the environment's warehouse."""
    from pipelines.utils.resources import resources

    tables = sorted({t.table for e in expectations for t in e.tables})
    return resources(settings).warehouse().load_times(tables) if tables else {}
