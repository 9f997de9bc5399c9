"""Housekeeping of Prefect Server: stuck runs, stale versions, old run history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pendulum
import prefect
from prefect import Client, task

# A run in these states is stuck when its state has not changed for longer than the limit.
STUCK_STATES = ["Running", "Submitted"]
FINISHED = ["Success", "Failed", "Cancelled", "Skipped", "TimedOut", "Cached"]

_STUCK = """
query StuckRuns($states: [String!], $before: timestamptz!) {
  flow_run(
    where: {state: {_in: $states}, state_timestamp: {_lt: $before}}
    order_by: {state_timestamp: asc}
  ) { id name state state_timestamp flow { name } }
}
"""
_CANCEL = """
mutation CancelStuck($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }
"""
_VERSIONS = """
query LiveVersions($project: String!) {
  flow(
    where: {archived: {_eq: false}, project: {name: {_eq: $project}}}
    order_by: {version: desc}
  ) { id name version flow_group_id }
}
"""
_ARCHIVE = """
mutation ArchiveStale($flow_id: UUID!) { archive_flow(input: {flow_id: $flow_id}) { success } }
"""
_OLD_RUNS = """
query OldRuns($states: [String!], $before: timestamptz!) {
  flow_run(
    where: {state: {_in: $states}, end_time: {_lt: $before}}
    order_by: {end_time: asc}
  ) { id name end_time flow { name } }
}
"""
_DELETE = """
mutation DeleteRun($id: UUID!) { delete_flow_run(input: {flow_run_id: $id}) { success } }
"""


# How each action is logged: (dry run, done).
_WORDS = {
    "cancel": ("Would cancel", "Cancelled"),
    "archive": ("Would archive", "Archived"),
    "delete": ("Would delete", "Deleted"),
}


def _act(line: str, dry_run: bool, verb: str, mutation: str, variables: dict) -> str:
    """Run `mutation` unless dry_run, and log the line as what would be or was done."""
    would, done = _WORDS[verb]
    if not dry_run:
        Client().graphql(mutation, variables=variables)
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
    found = Client().graphql(_STUCK, variables={"states": STUCK_STATES, "before": before})
    lines = []
    for run in found["data"]["flow_run"]:
        limit = limits.get(run["flow"]["name"], limit_minutes)
        since = pendulum.parse(run["state_timestamp"])
        if now - since < dt.timedelta(minutes=limit):
            continue
        line = f"{run['flow']['name']}: run {run['id']} {run['state']} since {since}"
        cancel = {"input": {"flow_run_id": run["id"]}}
        lines.append(_act(line, dry_run, "cancel", _CANCEL, cancel))
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
    versions = Client().graphql(_VERSIONS, variables={"project": project})["data"]["flow"]
    latest: set[str] = set()
    lines = []
    for flow in versions:  # newest first
        removed = current_flows is not None and flow["name"] not in current_flows
        if flow["flow_group_id"] not in latest and not removed:
            latest.add(flow["flow_group_id"])
            continue
        why = "its code was removed" if removed else "not the latest version"
        line = f"{flow['name']} v{flow['version']} ({flow['id']}): {why}"
        lines.append(_act(line, dry_run, "archive", _ARCHIVE, {"flow_id": flow["id"]}))
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
    runs = Client().graphql(_OLD_RUNS, variables={"states": FINISHED, "before": before})
    lines = []
    for run in runs["data"]["flow_run"]:
        line = f"{run['flow']['name']}: run {run['id']} ended {run['end_time']}"
        lines.append(_act(line, dry_run, "delete", _DELETE, {"id": run["id"]}))
    return lines
