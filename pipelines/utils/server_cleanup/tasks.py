"""Tasks that keep Prefect Server tidy: stuck runs, stale versions, old run history."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping

import pendulum
import prefect
from prefect import task

from pipelines.utils.server import Server
from pipelines.utils.server.states import FINISHED, STUCK

# A run in these states is stuck when its state has not changed for longer than the limit.

# How each action is logged: (dry run, done).
_WORDS = {
    "cancel": ("Would cancel", "Cancelled"),
    "archive": ("Would archive", "Archived"),
    "delete": ("Would delete", "Deleted"),
}


def _act(line: str, dry_run: bool, verb: str, action: Callable[[], object]) -> str:
    """Call `action` unless dry_run, and log the line as what would be or was done."""
    would, done = _WORDS[verb]
    if not dry_run:
        action()
    prefect.context.get("logger").info("%s %s", would if dry_run else done, line)
    return line


def _iso(moment: dt.datetime) -> str:
    return pendulum.instance(moment).in_timezone("UTC").isoformat()


@task
def cancel_stuck_runs(
    limit_minutes: float = 360.0,
    per_flow_minutes: Mapping[str, float] | None = None,
    dry_run: bool = True,
) -> list[str]:
    """Cancel runs whose Running/Submitted state is older than the limit.

    Args:
        limit_minutes: How long a run may stay Running or Submitted.
        per_flow_minutes: Longer (or shorter) limits by flow name.
        dry_run: Only list what would be cancelled.

    Returns:
        One line per run: flow, run id, state and since when.

    Raises:
        ValueError: A limit that is not positive.
    """
    limits = dict(per_flow_minutes or {})
    if limit_minutes <= 0 or any(v <= 0 for v in limits.values()):
        raise ValueError("limits must be positive numbers of minutes.")
    now = pendulum.now("UTC")
    before = _iso(now - dt.timedelta(minutes=min([limit_minutes, *limits.values()])))
    server = Server()
    lines = []
    for run in server.runs_in_state_since(list(STUCK), before):
        limit = limits.get(run["flow"]["name"], limit_minutes)
        since = pendulum.parse(run["state_timestamp"])
        if now - since < dt.timedelta(minutes=limit):
            continue
        line = f"{run['flow']['name']}: run {run['id']} {run['state']} since {since}"
        cancel = functools.partial(server.cancel_run, run["id"])
        lines.append(_act(line, dry_run, "cancel", cancel))
    return lines


@task
def archive_stale_versions(
    project: str, current_flows: list[str] | None = None, dry_run: bool = True
) -> list[str]:
    """Archive, in `project`, every version that is not its flow's latest, and every version
    of flows the repo no longer defines (`current_flows`: the names it does define).

    Args:
        project: The Prefect project to tidy.
        current_flows: Names of the flows the repo defines now; None keeps every flow's latest.
        dry_run: Only list what would be archived.

    Returns:
        One line per version.
    """
    server = Server()
    latest: set[str] = set()
    lines = []
    for flow in server.live_versions(project):  # newest first
        removed = current_flows is not None and flow["name"] not in current_flows
        if flow["flow_group_id"] not in latest and not removed:
            latest.add(flow["flow_group_id"])
            continue
        why = "its code was removed" if removed else "not the latest version"
        line = f"{flow['name']} v{flow['version']} ({flow['id']}): {why}"
        archive = functools.partial(server.archive_flow, flow["id"])
        lines.append(_act(line, dry_run, "archive", archive))
    return lines


@task
def delete_old_runs(retention_days: float = 90.0, dry_run: bool = True) -> list[str]:
    """Delete finished runs that ended more than retention_days ago.

    Args:
        retention_days: How long run history is kept.
        dry_run: Only list what would be deleted.

    Returns:
        One line per run.

    Raises:
        ValueError: A retention that is not positive.
    """
    if retention_days <= 0:
        raise ValueError("retention_days must be positive.")
    before = _iso(pendulum.now("UTC") - dt.timedelta(days=retention_days))
    server = Server()
    lines = []
    for run in server.runs_ended_before(FINISHED, before):
        line = f"{run['flow']['name']}: run {run['id']} ended {run['end_time']}"
        delete = functools.partial(server.delete_run, run["id"])
        lines.append(_act(line, dry_run, "delete", delete))
    return lines
