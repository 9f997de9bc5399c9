"""PrefectTestServer: Prefect Server's GraphQL API over HTTP, validated against the real schema."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    parse,
    validate,
)

from tests.support.prefect_server.schema import build_prefect_schema
from tests.support.prefect_server.store import Store, now

# Every document any server in this process received: what the end-of-session line reports.
VALIDATION = {"validated": 0, "invalid": 0, "planted": 0}
FINISHED = {"Success", "Failed", "Cancelled", "Skipped", "TimedOut", "Cached"}


@dataclass
class Recorded:
    """One request: its operation name, top-level fields, text, variables and any errors."""

    operation: str
    fields: tuple[str, ...]
    query: str
    variables: dict[str, Any]
    errors: list[str]


class PrefectTestServer:
    """What Prefect Server answers, where this project depends on it.

    Every document is parsed and validated against the real schema (the server's own SDL plus
    Hasura v2's types for the tables it tracks); an invalid one gets the 400 and the error the
    real API gives. Hasura's queries (where / order_by / limit / offset, relationships,
    aggregates, _by_pk) run generically over in-memory tables; the server's mutations follow
    its Python implementation (see README.md next to this file). An agent is simulated for runs
    created through create_flow_run: each read moves Scheduled -> Running -> final_state.
    """

    def __init__(self, final_state: str = "Success", simulate_agent: bool = True) -> None:
        self.schema: GraphQLSchema = build_prefect_schema(self)
        self.store = Store()
        self.final_state = final_state
        # Off when a real agent (Prefect's own, starting real flow-run pods) moves the runs.
        self.simulate_agent = simulate_agent
        self._submitted: dict[str, dt.datetime] = {}
        self.requests: list[Recorded] = []
        self.max_in_flight = 0
        self._agent_runs: set[str] = set()
        self._expect_invalid = False
        self._refusals: dict[str, str] = {}
        self._checked: dict[str, tuple[DocumentNode | None, list[GraphQLError], str]] = {}
        self._lock = threading.RLock()
        self.tenant_id = self.store.insert("tenant", {"name": "default", "slug": "default"})
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    # -- lifecycle and test helpers ------------------------------------------------------
    @property
    def port(self) -> int:
        return self._http.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> PrefectTestServer:
        self._thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    def add_project(self, name: str) -> str:
        return self.store.insert("project", {"name": name, "tenant_id": self.tenant_id})

    @property
    def flows(self) -> dict[str, dict[str, Any]]:
        """The flow table: id -> row (real column names)."""
        return self.store.tables["flow"]

    @property
    def flow_runs(self) -> dict[str, dict[str, Any]]:
        return self.store.tables["flow_run"]

    @property
    def logs(self) -> list[dict[str, Any]]:
        return list(self.store.tables["log"].values())

    def project_name(self, flow: dict[str, Any]) -> str:
        return self.store.tables["project"][flow["project_id"]]["name"]

    def calls(self, name: str) -> list[Recorded]:
        """Requests whose operation name or a top-level field is `name`."""
        return [r for r in self.requests if name == r.operation or name in r.fields]

    @contextmanager
    def expecting_invalid(self) -> Iterator[None]:
        """Documents refused inside this block were planted by the test, not bugs."""
        self._expect_invalid = True
        try:
            yield
        finally:
            self._expect_invalid = False

    @contextmanager
    def refusing(self, operation: str, message: str) -> Iterator[None]:
        """Inside this block, answer `operation` with a GraphQL error, as the real API answers
        a document it cannot run (counted as planted, not as a bug)."""
        self._refusals[operation] = message
        try:
            yield
        finally:
            del self._refusals[operation]

    def plant_flow(self, name: str, project: str, **columns: Any) -> str:
        """A flow version as if registered earlier (its own flow group unless given)."""
        project_id = next(
            i for i, p in self.store.tables["project"].items() if p["name"] == project
        )
        group = columns.pop("flow_group_id", None) or self.store.insert(
            "flow_group", {"tenant_id": self.tenant_id, "name": str(uuid.uuid4())}
        )
        return self.store.insert(
            "flow",
            {
                "tenant_id": self.tenant_id,
                "name": name,
                "project_id": project_id,
                "flow_group_id": group,
                "version_group_id": self.store.tables["flow_group"][group]["name"],
                "version": 1,
                "parameters": [],
                **columns,
            },
        )

    def run_as_agent(
        self, flow: Any, run_id: str, parameters: dict[str, Any] | None = None, **context: Any
    ) -> Any:
        """Run `flow` in this process as the agent would run flow run `run_id`: against this
        server, with the backend context (logs are not shipped). Returns the final state."""
        from prefect.utilities.configuration import set_temporary_config

        config = {"cloud.api": self.url, "backend": "server", "cloud.send_flow_run_logs": False}
        context = {"running_with_backend": True, "flow_run_id": run_id, **context}
        with set_temporary_config(config):
            return flow.run(parameters=parameters or {}, context=context, run_on_schedule=False)

    def plant_flow_run(self, flow_id: str, state: str, **columns: Any) -> str:
        run_id = self.store.insert(
            "flow_run",
            {"tenant_id": self.tenant_id, "flow_id": flow_id, "parameters": {}, **columns},
        )
        self.set_run_state(run_id, state)
        return run_id

    def set_run_state(
        self,
        run_id: str,
        state: str,
        message: str | None = None,
        serialized: dict[str, Any] | None = None,
    ) -> None:
        """Give flow run `run_id` a new state (a type name, or a serialized State)."""
        if serialized is None:
            serialized = {"type": state, "message": message, "__version__": "1.4.1"}
        self._record_state("flow_run", run_id, serialized)

    def _record_state(self, table: str, run_id: str, serialized: dict[str, Any]) -> None:
        """Insert the state row and update the run with it, as the database's triggers do
        (update_*_with_latest_state, update_*_with_timing_details): the latest state, its
        start time, the run's version, and start_time / end_time."""
        run = self.store.tables[table][run_id]
        stamp = now()
        version = (run.get("version") or 0) + 1
        state = serialized["type"]
        start = serialized.get("start_time")
        start = dt.datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
        self.store.insert(
            f"{table}_state",
            {
                "tenant_id": run.get("tenant_id"),
                f"{table}_id": run_id,
                "state": state,
                "message": serialized.get("message"),
                "serialized_state": serialized,
                "version": version,
                "timestamp": stamp,
                "start_time": start,
            },
        )
        run.update(
            state=state,
            state_message=serialized.get("message"),
            serialized_state=serialized,
            state_timestamp=stamp,
            state_start_time=start,
            version=version,
        )
        if state == "Running" and run.get("start_time") is None:
            run["start_time"] = stamp
        if state in FINISHED and run.get("end_time") is None:
            run["end_time"] = stamp

    def task_runs_of(self, flow_run_id: str) -> list[dict[str, Any]]:
        return self.store.select("task_run", {"flow_run_id": {"_eq": flow_run_id}})

    # -- HTTP ------------------------------------------------------------------------------
    def answer(self, query: str, variables: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) as Apollo in front of Prefect Server answers."""
        variables = variables or {}
        if query not in self._checked:  # the same text validates the same way (Apollo caches too)
            try:
                document = parse(query)
                checked = document, validate(self.schema, document), "GRAPHQL_VALIDATION_FAILED"
            except GraphQLError as error:
                checked = None, [error], "GRAPHQL_PARSE_FAILED"
            self._checked[query] = checked
        document, errors, code = self._checked[query]
        if errors:
            return self._refuse(query, variables, errors, code)
        assert document is not None
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        fields = tuple(s.name.value for s in operation.selection_set.selections)  # type: ignore[attr-defined]
        name = operation.name.value if operation.name else ""
        if name in self._refusals:
            with self._lock:
                VALIDATION["validated"] += 1
                VALIDATION["planted"] += 1
                self.requests.append(Recorded(name, fields, query, variables, ["refused"]))
            error = {"message": self._refusals[name], "extensions": {"code": "validation-failed"}}
            return 400, {"errors": [error]}
        with self._lock:
            VALIDATION["validated"] += 1
            result = execute(self.schema, document, variable_values=variables)
            messages = [e.message for e in result.errors or []]
            self.requests.append(Recorded(name, fields, query, variables, messages))
        if result.errors and result.data is None:  # variables that do not coerce
            return 400, {"errors": [_error(e, "BAD_USER_INPUT") for e in result.errors]}
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [_error(e, "INTERNAL_SERVER_ERROR") for e in result.errors]
        return 200, body

    def _refuse(
        self, query: str, variables: dict[str, Any], errors: list[GraphQLError], code: str
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            VALIDATION["validated"] += 1
            VALIDATION["planted" if self._expect_invalid else "invalid"] += 1
            self.requests.append(
                Recorded("invalid", (), query, variables, [e.message for e in errors])
            )
        return 400, {"errors": [_error(e, code) for e in errors]}

    # -- the simulated agent ---------------------------------------------------------------
    def on_read_flow_run(self, run: dict[str, Any]) -> None:
        if run["id"] not in self._agent_runs or run["state"] in FINISHED:
            return
        if run["state"] == "Running":
            self.set_run_state(run["id"], self.final_state)
        else:
            self.set_run_state(run["id"], "Running")

    @property
    def in_flight(self) -> int:
        return sum(self.flow_runs[r]["state"] not in FINISHED for r in self._agent_runs)

    # -- the server's own mutations (src/prefect_server/api/*.py) ---------------------------
    def create_flow_from_compressed_string(self, input: dict[str, Any]) -> dict[str, Any]:
        from prefect.utilities.graphql import decompress

        try:
            serialized = decompress(input["serialized_flow"])
        except Exception:
            raise TypeError("Unable to decompress serialized flow") from None
        return self.create_flow({**input, "serialized_flow": serialized})

    def create_flow(self, input: dict[str, Any]) -> dict[str, Any]:
        serialized, project_id = input["serialized_flow"], input["project_id"]
        project = self.store.tables["project"].get(project_id)
        if project is None:
            raise ValueError("Invalid project.")
        group_name = input.get("version_group_id")
        if not group_name:  # the newest flow of this name in this project, archived or not
            same = self.store.select(
                "flow",
                {"project_id": {"_eq": project_id}, "name": {"_eq": serialized.get("name")}},
                order_by=[("created", "desc")],
            )
            group_name = same[0]["version_group_id"] if same else str(uuid.uuid4())
        key = input.get("idempotency_key")
        groups = self.store.select("flow_group", {"name": {"_eq": group_name}})
        if not groups:
            group_id = self.store.insert(
                "flow_group",
                {
                    "tenant_id": project["tenant_id"],
                    "name": group_name,
                    "settings": {"heartbeat_enabled": True, "idempotency_key": key},
                },
            )
            group = self.store.tables["flow_group"][group_id]
        else:
            group = groups[0]
            last = group["settings"].get("idempotency_key")
            if last and key and last == key:
                newest = self.store.select(
                    "flow",
                    {"version_group_id": {"_eq": group_name}, "archived": {"_eq": False}},
                    order_by=[("version", "desc")],
                )
                if newest:
                    return {"id": newest[0]["id"]}
            group["settings"] = {**group["settings"], "idempotency_key": key}
        versions = [
            f["version"] or 0
            for f in self.store.select("flow", {"version_group_id": {"_eq": group_name}})
        ]
        flow_id = self.store.insert(
            "flow",
            {
                "tenant_id": project["tenant_id"],
                "project_id": project_id,
                "name": serialized.get("name"),
                "serialized_flow": serialized,
                "environment": serialized.get("environment"),
                "run_config": serialized.get("run_config"),
                "core_version": serialized.get("__version__"),
                "storage": serialized.get("storage"),
                "parameters": serialized.get("parameters") or [],
                "version_group_id": group_name,
                "version": max(versions, default=0) + 1,
                "flow_group_id": group["id"],
                "description": input.get("description"),
                "schedule": serialized.get("schedule"),
            },
        )
        self.register_tasks({"flow_id": flow_id, "serialized_tasks": serialized.get("tasks") or []})
        self.register_edges({"flow_id": flow_id, "serialized_edges": serialized.get("edges") or []})
        wants_schedule = input.get("set_schedule_active", True)
        if wants_schedule and (serialized.get("schedule") or group.get("schedule")):
            with contextlib.suppress(ValueError):  # the server logs it, still returns the flow
                self.set_schedule_active({"flow_id": flow_id})
        for other in self.store.select(
            "flow",
            {
                "version_group_id": {"_eq": group_name},
                "id": {"_neq": flow_id},
                "archived": {"_eq": False},
            },
        ):
            self.archive_flow({"flow_id": other["id"]})
        return {"id": flow_id}

    def register_tasks(self, input: dict[str, Any]) -> dict[str, Any]:
        flow = self.flows[input["flow_id"]]
        known = {t["slug"] for t in self.store.select("task", {"flow_id": {"_eq": flow["id"]}})}
        tasks = flow["serialized_flow"].setdefault("tasks", [])
        listed = {t.get("slug") for t in tasks}
        for task in input["serialized_tasks"]:
            if task.get("slug") not in listed:
                listed.add(task.get("slug"))
                tasks.append(task)
            if task.get("slug") in known:
                continue
            known.add(task.get("slug"))
            self.store.insert(
                "task",
                {
                    "id": task.get("id") or str(uuid.uuid4()),
                    "tenant_id": flow["tenant_id"],
                    "flow_id": flow["id"],
                    "name": task.get("name"),
                    "slug": task.get("slug"),
                    "type": task.get("type"),
                },
            )
        return {"success": True}

    def register_edges(self, input: dict[str, Any]) -> dict[str, Any]:
        flow = self.flows[input["flow_id"]]
        tasks = self.store.select("task", {"flow_id": {"_eq": flow["id"]}})
        slugs = {t["slug"]: t["id"] for t in tasks}

        def slug(task: Any) -> str:
            return task.get("slug") if isinstance(task, dict) else task

        for edge in input["serialized_edges"]:
            try:
                ends = slugs[slug(edge["upstream_task"])], slugs[slug(edge["downstream_task"])]
            except KeyError:
                raise ValueError(
                    "Edges could not be registered - some edges reference tasks that do not "
                    "exist within this flow."
                ) from None
            self.store.insert(
                "edge",
                {
                    "tenant_id": flow["tenant_id"],
                    "flow_id": flow["id"],
                    "upstream_task_id": ends[0],
                    "downstream_task_id": ends[1],
                    "key": edge.get("key"),
                    "mapped": bool(edge.get("mapped")),
                },
            )
        return {"success": True}

    def archive_flow(self, input: dict[str, Any]) -> dict[str, Any]:
        flow = self.flows.get(input["flow_id"])
        if flow is None:
            return {"success": False}
        flow["archived"] = True
        for run in self.store.select(
            "flow_run", {"flow_id": {"_eq": flow["id"]}, "state": {"_eq": "Scheduled"}}
        ):
            if run["auto_scheduled"]:
                del self.flow_runs[run["id"]]
            else:
                self.set_run_state(run["id"], "Cancelled", f"Flow {flow['id']} was archived.")
        return {"success": True}

    def set_schedule_active(self, input: dict[str, Any]) -> dict[str, Any]:
        flow = self.flows.get(input["flow_id"])
        if flow is None:
            return {"success": False}
        group = self.store.tables["flow_group"][flow["flow_group_id"]]
        required = {p.get("name") for p in flow["parameters"] or [] if p.get("required")}
        if flow["schedule"] is not None and required:
            names = required - set(group["default_parameters"] or {})
            clocks = flow["schedule"].get("clocks", [])
            if not all(names <= set(c.get("parameter_defaults", {})) for c in clocks):
                raise ValueError("Can not schedule a flow that has required parameters.")
        if flow["schedule"] is None and group.get("schedule") is None:
            return {"success": False}
        flow["is_schedule_active"] = True
        return {"success": True}

    def set_schedule_inactive(self, input: dict[str, Any]) -> dict[str, Any]:
        flow = self.flows.get(input["flow_id"])
        if flow is None:
            return {"success": False}
        flow["is_schedule_active"] = False
        return {"success": True}

    def create_flow_run(self, input: dict[str, Any] | None = None) -> dict[str, Any]:
        input = input or {}
        flow_id, group_name = input.get("flow_id"), input.get("version_group_id")
        if not (flow_id or group_name):
            raise ValueError("A flow id or version group ID must be provided.")
        where = (
            {"id": {"_eq": flow_id}}
            if flow_id
            else {"version_group_id": {"_eq": group_name}, "archived": {"_eq": False}}
        )
        found = self.store.select("flow", where, order_by=[("version", "desc")])
        if not found:
            raise ValueError(
                f"Flow {flow_id} not found"
                if flow_id
                else f"Version group {group_name} has no unarchived flows."
            )
        flow = found[0]
        if flow["archived"]:
            raise ValueError(f"Flow {flow['id']} is archived.")
        group = self.store.tables["flow_group"][flow["flow_group_id"]]
        if input.get("labels") is not None:
            labels = input["labels"]
        elif input.get("run_config") is not None:
            labels = input["run_config"].get("labels") or []
        elif group.get("labels") is not None:
            labels = group["labels"]
        else:
            labels = (flow["run_config"] or {}).get("labels") or []
        parameters = {p["name"]: p["default"] for p in flow["parameters"] or [] if p["default"]}
        parameters.update(group.get("default_parameters") or {})
        parameters.update(input.get("parameters") or {})
        missing = {p["name"] for p in flow["parameters"] or [] if p["required"]} - set(parameters)
        if missing:
            raise ValueError(f"Required parameters were not supplied: {missing}")
        key = input.get("idempotency_key")
        if key:
            same = self.store.select(
                "flow_run",
                {"flow_id": {"_eq": flow["id"]}, "idempotency_key": {"_eq": key}},
            )
            if same:
                return {"id": same[0]["id"]}
        run_id = self.store.insert(
            "flow_run",
            {
                "tenant_id": flow["tenant_id"],
                "flow_id": flow["id"],
                "labels": sorted(labels),
                "parameters": parameters,
                "run_config": input.get("run_config")
                or group.get("run_config")
                or flow["run_config"],
                "context": input.get("context") or {},
                "scheduled_start_time": input.get("scheduled_start_time") or now(),
                "name": input.get("flow_run_name") or f"run-{uuid.uuid4().hex[:6]}",
                "idempotency_key": key,
            },
        )
        # The database's insert_task_runs_after_flow_run_insert trigger: a Pending task run
        # for each task of the flow.
        for task in self.store.select("task", {"flow_id": {"_eq": flow["id"]}}):
            task_run_id = self.store.insert(
                "task_run",
                {
                    "tenant_id": flow["tenant_id"],
                    "flow_run_id": run_id,
                    "task_id": task["id"],
                    "cache_key": task["cache_key"],
                    "map_index": -1,
                },
            )
            self._record_state("task_run", task_run_id, _PENDING)
        start = self.flow_runs[run_id]["scheduled_start_time"]
        self.set_run_state(
            run_id,
            "Scheduled",
            serialized={**_state("Scheduled", "Flow run scheduled."), "start_time": _iso(start)},
        )
        if self.simulate_agent:
            self._agent_runs.add(run_id)
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return {"id": run_id}

    def delete_flow_run(self, input: dict[str, Any]) -> dict[str, Any]:
        # api/runs.py: delete_flow_run deletes the run (its states and task runs cascade).
        run = self.flow_runs.get(input["flow_run_id"])
        if run is None:
            return {"success": False}
        del self.flow_runs[run["id"]]
        return {"success": True}

    def cancel_flow_run(self, input: dict[str, Any]) -> dict[str, Any]:
        run = self.flow_runs.get(input["flow_run_id"])
        if run is None:
            raise ValueError(f"Flow run {input['flow_run_id']} not found.")
        if run["state"] not in FINISHED:
            self.set_run_state(run["id"], "Cancelled", "Flow run was cancelled.")
        return {"state": run["state"]}

    def set_flow_run_name(self, input: dict[str, Any]) -> dict[str, Any]:
        run = self.flow_runs.get(input["flow_run_id"])
        if run is None:
            return {"success": False}
        run["name"] = input["name"]
        return {"success": True}

    def set_flow_run_states(self, input: dict[str, Any]) -> dict[str, Any]:
        # graphql/states.py and api/states.py set_flow_run_state.
        from prefect.engine.state import Cancelled
        from prefect.serialization.state import StateSchema

        out = []
        for given in input["states"]:
            run_id = given["flow_run_id"]
            state = StateSchema().load(given["state"])
            run = self.flow_runs.get(run_id)
            if run is None:
                raise ValueError(f"State update failed for flow run ID {run_id}")
            if state.is_submitted():  # the 30-second lock against a second agent
                last = self._submitted.get(run_id)
                if last and (now() - last).total_seconds() < 30:
                    raise ValueError("State update failed: this run has already been submitted.")
                self._submitted[run_id] = now()
            if isinstance(state, Cancelled):
                for task_run in self.task_runs_of(run_id):
                    if task_run["state"] not in FINISHED:
                        self._record_state("task_run", task_run["id"], given["state"])
            self._record_state("flow_run", run_id, state.serialize())
            if state.is_running() or state.is_submitted():
                run["heartbeat"] = now()
            out.append({"id": run_id, "status": "SUCCESS", "message": None})
        return {"states": out}

    def set_task_run_states(self, input: dict[str, Any]) -> dict[str, Any]:
        # graphql/states.py and api/states.py set_task_run_state.
        from prefect.serialization.state import StateSchema

        out = []
        for given in input["states"]:
            task_run_id = given["task_run_id"]
            task_run = self.store.tables["task_run"].get(task_run_id)
            if task_run is None:
                raise ValueError(f"State update failed for task run ID {task_run_id}")
            state = StateSchema().load(given["state"])
            flow_run = self.flow_runs[task_run["flow_run_id"]]
            if state.is_running() and flow_run["state"] != "Running":
                raise ValueError(
                    f"State update failed for task run ID {task_run_id}: provided a running "
                    f"state but associated flow run {flow_run['id']} is not in a running state."
                )
            self._record_state("task_run", task_run_id, state.serialize())
            if state.is_running():
                task_run["heartbeat"] = now()
            out.append({"id": task_run_id, "status": "SUCCESS", "message": None})
        return {"states": out}

    def get_or_create_task_run_info(self, input: dict[str, Any]) -> dict[str, Any]:
        # api/runs.py get_or_create_task_run_info: mapped children are created on demand.
        map_index = -1 if input.get("map_index") is None else input["map_index"]
        found = self.store.select(
            "task_run",
            {
                "flow_run_id": {"_eq": input["flow_run_id"]},
                "task_id": {"_eq": input["task_id"]},
                "map_index": {"_eq": map_index},
            },
        )
        if not found:
            task = self.store.tables["task"].get(input["task_id"])
            if task is None:
                raise ValueError("Invalid task ID")
            task_run_id = self.store.insert(
                "task_run",
                {
                    "tenant_id": task["tenant_id"],
                    "flow_run_id": input["flow_run_id"],
                    "task_id": task["id"],
                    "map_index": map_index,
                    "cache_key": task["cache_key"],
                },
            )
            self._record_state("task_run", task_run_id, _PENDING)
            found = [self.store.tables["task_run"][task_run_id]]
        run = found[0]
        return _task_run_info(run)

    def get_or_create_task_run(self, input: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.get_or_create_task_run_info(input)["id"]}

    def get_task_run_info(self, task_run_id: str) -> dict[str, Any]:
        run = self.store.tables["task_run"].get(task_run_id)
        if run is None:
            raise ValueError("Invalid task run ID")
        return _task_run_info(run)

    def update_flow_run_heartbeat(self, input: dict[str, Any]) -> dict[str, Any]:
        run = self.flow_runs.get(input["flow_run_id"])
        if run is not None:
            run["heartbeat"] = now()
        return {"success": True}

    def update_task_run_heartbeat(self, input: dict[str, Any]) -> dict[str, Any]:
        run = self.store.tables["task_run"].get(input["task_run_id"])
        if run is not None:
            run["heartbeat"] = now()
        return {"success": True}

    def set_task_run_name(self, input: dict[str, Any]) -> dict[str, Any]:
        run = self.store.tables["task_run"].get(input["task_run_id"])
        if run is None:
            return {"success": False}
        run["name"] = input["name"]
        return {"success": True}

    def register_agent(self, input: dict[str, Any]) -> dict[str, Any]:
        agent_id = self.store.insert(
            "agent",
            {
                "tenant_id": input.get("tenant_id") or self.tenant_id,
                "name": input.get("name"),
                "type": input.get("type"),
                "labels": input.get("labels") or [],
                "agent_config_id": input.get("agent_config_id"),
            },
        )
        return {"id": agent_id}

    def get_runs_in_queue(self, input: dict[str, Any]) -> dict[str, Any]:
        # api/runs.py get_runs_in_queue: Scheduled (or Queued) runs due before `before`, or
        # Running ones with a task run due to retry, oldest first, whose labels the agent
        # has all of; a run with no labels goes only to an agent with none.
        before = input.get("before")
        before = dt.datetime.fromisoformat(before.replace("Z", "+00:00")) if before else now()
        labels = set(input.get("labels") or [])
        due = {"state_start_time": {"_lte": before.isoformat()}}
        runs = self.store.select(
            "flow_run",
            {
                "tenant_id": {"_eq": input["tenant_id"]},
                "_or": [
                    {"state": {"_in": _SCHEDULED_STATES}, **due},
                    {
                        "state": {"_eq": "Running"},
                        "task_runs": {"state": {"_in": _SCHEDULED_STATES}, **due},
                    },
                ],
            },
            order_by=[("state_start_time", "asc")],
        )
        ready = []
        for run in runs:
            if set(run["labels"] or []) - labels or (not run["labels"] and labels):
                continue
            ready.append(run["id"])
        return {"flow_run_ids": ready}

    def write_run_logs(self, input: dict[str, Any]) -> dict[str, Any]:
        for log in input["logs"]:
            self.store.insert("log", {"tenant_id": self.tenant_id, **log})
        return {"success": True}

    def create_project(self, input: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.add_project(input["name"])}

    # -- reference data --------------------------------------------------------------------
    def api(self) -> dict[str, Any]:
        return {"backend": "SERVER", "mode": "normal", "version": "2022.09.23"}

    def hello(self) -> str:
        return "👋"


def _task_run_info(run: dict[str, Any]) -> dict[str, Any]:
    """What the server's get_task_run_info and get_or_create_task_run_info answer."""
    return {k: run[k] for k in ("id", "version", "state", "serialized_state")}


def _state(kind: str, message: str) -> dict[str, Any]:
    return {"type": kind, "message": message, "__version__": "1.4.1"}


_PENDING = _state("Pending", "Task run created")


def _scheduled_states() -> list[str]:
    """State types the queue serves: Scheduled and Queued and their subclasses."""
    from prefect.engine import state

    kinds = (state.Scheduled, state.Queued)
    return sorted(
        name for name, v in vars(state).items() if isinstance(v, type) and issubclass(v, kinds)
    )


_SCHEDULED_STATES = _scheduled_states()


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


def _error(error: GraphQLError, code: str) -> dict[str, Any]:
    found: dict[str, Any] = {"message": error.message, "extensions": {"code": code}}
    if error.path:
        found["path"] = list(error.path)
    return found


def _handler(server: PrefectTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            variables = body.get("variables") or {}
            if isinstance(variables, str):  # Prefect's Client sends them JSON-encoded
                variables = json.loads(variables) or {}
            status, payload = server.answer(body.get("query", ""), variables)
            data = json.dumps(payload, default=_json_default).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")
