"""A thin typed client: one method per document, returning the rows the caller reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from prefect import Client

from pipelines.errors import ServiceUnreachableError
from pipelines.utils.server import documents as doc
from pipelines.utils.server import states

# Names or ids per request: a long `_in` list stays well under the server's body limit.
BATCH = 250


class Server:
    """Prefect Server's API as this project uses it.

    Args:
        client: Prefect's client to send through (its API address and token); a new one
            from Prefect's config when omitted.
    """

    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client()

    def _data(self, document: str, **variables: Any) -> dict[str, Any]:
        import requests

        try:
            return self.client.graphql(document, variables=variables)["data"]
        except (requests.ConnectionError, requests.Timeout) as error:
            raise ServiceUnreachableError(
                f"Prefect Server at {self.client.api_server} did not answer "
                f"({type(error).__name__}): check PREFECT__SERVER__HOST and "
                "PREFECT__SERVER__PORT, and that the server is up."
            ) from error

    # --- Runs -------------------------------------------------------------------------------

    def run(self, run_id: str) -> dict[str, Any]:
        """A run's id, name, labels, flow name and project name."""
        return self._data(doc.RUN, id=run_id)["flow_run_by_pk"]

    def run_state(self, run_id: str) -> tuple[str, str | None]:
        """A run's state and its message."""
        run = self._data(doc.RUN_STATE, id=run_id)["flow_run_by_pk"]
        return str(run["state"]), run.get("state_message")

    def other_running_runs(self, flow_id: str, run_id: str) -> list[str]:
        """Ids of the runs of any version of the flow in Running, other than `run_id`."""
        found = self._data(doc.RUNNING_RUNS, flow_id=flow_id, run_id=run_id, running=states.RUNNING)
        return [run["id"] for run in found["flow_run"]]

    def recent_states(self, run_id: str, limit: int) -> list[str]:
        """The states of the last `limit` finished runs of each version of the run's flow."""
        found = self._data(
            doc.RECENT_RUNS, run_id=run_id, limit=limit, states=list(states.CONCLUDED)
        )["flow_run_by_pk"]
        return [r["state"] for f in found["flow"]["flow_group"]["flows"] for r in f["flow_runs"]]

    def failed_tasks(self, run_id: str) -> list[dict[str, Any]]:
        """The run's failed task runs, oldest first: map_index, state_message, task.name."""
        return self._data(doc.FAILED_TASKS, run_id=run_id, states=list(states.FAILED_TASK))[
            "task_run"
        ]

    def runs_in_state_since(self, states: Sequence[str], before: str) -> list[dict[str, Any]]:
        """Runs in one of `states` since before `before` (ISO 8601), oldest first."""
        found = self._data(doc.RUNS_IN_STATE_SINCE, states=list(states), before=before)
        return found["flow_run"]

    def runs_ended_before(self, states: Sequence[str], before: str) -> list[dict[str, Any]]:
        """Runs in one of `states` that ended before `before` (ISO 8601), oldest first."""
        return self._data(doc.RUNS_ENDED_BEFORE, states=list(states), before=before)["flow_run"]

    def cancel_run(self, run_id: str) -> str:
        """Cancel a run; its new state."""
        found = self._data(doc.CANCEL_RUN, input={"flow_run_id": run_id})
        return str(found["cancel_flow_run"]["state"])

    def delete_run(self, run_id: str) -> bool:
        """Delete a run and its history."""
        return bool(self._data(doc.DELETE_RUN, id=run_id)["delete_flow_run"]["success"])

    # --- Flows ------------------------------------------------------------------------------

    def project_id(self, name: str) -> str | None:
        """The id of the project called `name`, None when there is none."""
        found = self._data(doc.PROJECT_ID, name=name)["project"]
        return found[0]["id"] if found else None

    def latest_flow_id(self, name: str, project: str) -> str | None:
        """The id of the latest unarchived version of a flow in a project."""
        found = self._data(doc.LATEST_FLOW, name=name, project=project)["flow"]
        return found[0]["id"] if found else None

    def latest_versions(self, project: str, names: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The latest unarchived version of each named flow (id, name, version, storage),
        BATCH names per request."""
        newest: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), BATCH):
            batch = list(names[start : start + BATCH])
            for version in self._data(doc.LATEST_VERSIONS, project=project, names=batch)["flow"]:
                newest.setdefault(version["name"], version)  # ordered newest first
        return newest

    def live_versions(self, project: str) -> list[dict[str, Any]]:
        """Every unarchived version in a project, newest first: id, name, version, group."""
        return self._data(doc.LIVE_VERSIONS, project=project)["flow"]

    def flows_matching(self, project: str, name: dict[str, str]) -> list[dict[str, Any]]:
        """Unarchived versions whose name matches a comparison ({"_eq": ...} or {"_like": ...}),
        by name and newest first: id, name, version, created."""
        return self._data(doc.FLOWS_MATCHING, project=project, name=name)["flow"]

    def versions(self, ids: Iterable[str]) -> dict[str, int]:
        """The version number of each flow id, BATCH ids per request."""
        ids = list(ids)
        found: dict[str, int] = {}
        for start in range(0, len(ids), BATCH):
            rows = self._data(doc.VERSIONS, ids=ids[start : start + BATCH])["flow"]
            found.update({row["id"]: row["version"] for row in rows})
        return found

    def create_flow(
        self, project_id: str, serialized: str, schedule_active: bool, idempotency_key: str
    ) -> str:
        """Register a compressed serialized flow as a new version (or, with the same key as
        the latest version, get that version's id back); the flow's id."""
        given = {
            "project_id": project_id,
            "serialized_flow": serialized,
            "set_schedule_active": schedule_active,
            "idempotency_key": idempotency_key,
        }
        found = self._data(doc.CREATE_FLOW, input=given)
        return str(found["create_flow_from_compressed_string"]["id"])

    def archive_flow(self, flow_id: str) -> bool:
        """Archive a flow version (its scheduled runs go with it)."""
        return bool(self._data(doc.ARCHIVE_FLOW, flow_id=flow_id)["archive_flow"]["success"])

    # --- Health -----------------------------------------------------------------------------

    def watched_flows(
        self, project: str, names: Sequence[str], runs: int
    ) -> dict[str, dict[str, Any]]:
        """Per flow name, its latest unarchived version (id, is_schedule_active, schedule)
        and `runs`: the last `runs` started runs of all its versions, newest first; BATCH
        names per request."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), BATCH):
            batch = list(names[start : start + BATCH])
            rows = self._data(doc.WATCHED_FLOWS, project=project, names=batch, limit=runs)["flow"]
            for row in rows:  # newest version first
                if row["name"] in found:
                    continue
                versions = row.pop("flow_group")["flows"]
                every = [run for version in versions for run in version["flow_runs"]]
                every.sort(key=lambda run: run["start_time"], reverse=True)
                found[row["name"]] = {**row, "runs": every[:runs]}
        return found

    def late_runs(self, project: str, before: str) -> list[dict[str, Any]]:
        """Runs due before `before` (ISO 8601) not started yet, oldest first, with flow.name."""
        return self._data(
            doc.LATE_RUNS, project=project, before=before, states=list(states.NOT_STARTED)
        )["flow_run"]

    def pause_schedule(self, flow_id: str) -> bool:
        """Turn a flow version's schedule off (its scheduled runs are removed)."""
        return bool(
            self._data(doc.PAUSE_SCHEDULE, flow_id=flow_id)["set_schedule_inactive"]["success"]
        )
