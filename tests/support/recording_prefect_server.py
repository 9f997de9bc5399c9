"""RecordingPrefectServer: a small GraphQL HTTP server that answers what Prefect 1's own Client
sends to Prefect Server, and records every request.

Prefect Server itself needs Docker and Hasura, which this machine lacks; this stands in for it
at the HTTP boundary, so the code under test uses the real Client over a real socket.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prefect.utilities.graphql import decompress

TENANT_ID = "00000000-0000-4000-8000-000000000001"


@dataclass
class Recorded:
    """One request: the operation it was recognised as, the query text and its variables."""

    operation: str
    query: str
    variables: dict[str, Any]


@dataclass
class RecordingPrefectServer:
    """Answers project lookup, create_flow_from_compressed_string, register_tasks,
    register_edges, set_schedule_active, flow_by_pk, tenant, create_flow_run, and the
    queries/mutations the repo's housekeeping sends; anything else is answered with a GraphQL
    error and recorded as 'unknown'."""

    projects: dict[str, str] = field(default_factory=dict)  # name -> id
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> record
    flow_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)
    final_state: str = "Success"  # what polled flow runs end in
    in_flight: int = 0
    max_in_flight: int = 0
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                variables = body.get("variables") or {}
                if isinstance(variables, str):  # Prefect's Client sends them JSON-encoded
                    variables = json.loads(variables) or {}
                status, payload = server.answer(body.get("query", ""), variables)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._http.server_address[1]

    def __enter__(self) -> RecordingPrefectServer:
        self._thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    def add_project(self, name: str) -> str:
        self.projects[name] = str(uuid.uuid4())
        return self.projects[name]

    def calls(self, operation: str) -> list[Recorded]:
        return [r for r in self.requests if r.operation == operation]

    # -- answers -------------------------------------------------------------------------
    def answer(self, query: str, variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            try:
                operation, data = self._dispatch(query, variables)
            except Exception as error:  # answer at once: the Client would retry a 500
                self.requests.append(Recorded("error", query, variables))
                return 200, {"errors": [{"message": f"{type(error).__name__}: {error}"}]}
            self.requests.append(Recorded(operation, query, variables))
        if data is None:
            return 200, {
                "errors": [{"message": f"RecordingPrefectServer: unknown query {query!r}"}]
            }
        return 200, {"data": data}

    def _dispatch(self, query: str, variables: dict[str, Any]) -> tuple[str, Any]:
        handlers = [
            ("create_flow_from_compressed_string", self._create_flow),
            ("register_tasks", lambda q, v: {"register_tasks": {"success": True}}),
            ("register_edges", lambda q, v: {"register_edges": {"success": True}}),
            ("set_schedule_active", self._set_schedule_active),
            ("flow_by_pk", self._flow_by_pk),
            ("create_flow_run", self._create_flow_run),
            ("DevelopmentFlows", self._development_flows),
            ("LatestVersion", self._latest_version),
            ("ArchiveFlow", self._archive_flow),
            ("RunningRuns", self._running_runs),
            ("FlowRunState", self._flow_run_state),
            ("write_run_logs", self._write_run_logs),
            ("tenant", lambda q, v: {"tenant": [{"id": TENANT_ID, "slug": "default"}]}),
            ("project", self._project),
        ]
        for operation, handler in handlers:
            if operation in query:
                return operation, handler(query, variables)
        return "unknown", None

    def _project(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        match = re.search(r'name:\s*\{\s*_eq:\s*"([^"]*)"', query)
        name = match.group(1) if match else None
        return {"project": [{"id": self.projects[name]}] if name in self.projects else []}

    def _create_flow(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        given = variables["input"]
        serialized = decompress(given["serialized_flow"])
        group = [
            f
            for f in self.flows.values()
            if f["name"] == serialized["name"] and f["project_id"] == given["project_id"]
        ]
        latest = max(group, key=lambda f: f["version"], default=None)
        key = given.get("idempotency_key")
        # Prefect Server: the same idempotency key as the latest version creates nothing.
        if latest and key is not None and latest["idempotency_key"] == key:
            return {"create_flow_from_compressed_string": {"id": latest["id"]}}
        for old in group:
            old["archived"] = True
        flow_id = str(uuid.uuid4())
        self.flows[flow_id] = {
            "id": flow_id,
            "name": serialized["name"],
            "project_id": given["project_id"],
            "project": next(n for n, i in self.projects.items() if i == given["project_id"]),
            "version": (latest["version"] + 1) if latest else 1,
            "flow_group_id": latest["flow_group_id"] if latest else str(uuid.uuid4()),
            "archived": False,
            "schedule_active": given.get("set_schedule_active", False),
            "idempotency_key": key,
            "serialized": serialized,
            "created": "2026-01-01T00:00:00+00:00",
        }
        return {"create_flow_from_compressed_string": {"id": flow_id}}

    def _set_schedule_active(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.flows[variables["input"]["flow_id"]]["schedule_active"] = True
        return {"set_schedule_active": {"success": True}}

    def _flow_by_pk(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        match = re.search(r'flow_by_pk\(id: "([^"]+)"\)', query)
        flow = self.flows[match.group(1)] if match else None
        return {"flow_by_pk": {"flow_group_id": flow["flow_group_id"]} if flow else None}

    def _create_flow_run(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        given = variables["input"]
        run_id = str(uuid.uuid4())
        self.flow_runs[run_id] = {"id": run_id, "state": "Scheduled", "polls": 0, **given}
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return {"create_flow_run": {"id": run_id}}

    def _flow_run_state(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """A run reports Running on its first poll and its final_state after that."""
        run = self.flow_runs[variables["id"]]
        run["polls"] += 1
        if run["polls"] == 1:
            run["state"] = "Running"
        elif run["state"] == "Running":
            run["state"] = self.final_state
            self.in_flight -= 1
        return {"flow_run_by_pk": {"id": run["id"], "state": run["state"]}}

    def _development_flows(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        pattern = re.compile(
            "^" + ".*".join(re.escape(p) for p in variables["pattern"].split("%")) + "$"
        )
        found = [
            {k: f[k] for k in ("id", "name", "version", "created")}
            for f in self.flows.values()
            if f["project"] == variables["project"]
            and not f["archived"]
            and pattern.match(f["name"])
        ]
        return {"flow": sorted(found, key=lambda f: (f["name"], -f["version"]))}

    def _latest_version(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        versions = [
            f
            for f in self.flows.values()
            if f["project"] == variables["project"]
            and f["name"] == variables["name"]
            and not f["archived"]
        ]
        latest = max(versions, key=lambda f: f["version"], default=None)
        if latest is None:
            return {"flow": []}
        return {
            "flow": [
                {
                    "id": latest["id"],
                    "version": latest["version"],
                    "storage": latest["serialized"]["storage"],
                }
            ]
        }

    def _archive_flow(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.flows[variables["flow_id"]]["archived"] = True
        return {"archive_flow": {"success": True}}

    def _write_run_logs(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        self.logs += variables["input"]["logs"]
        return {"write_run_logs": {"success": True}}

    def _running_runs(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        group = self.flows[variables["flow_id"]]["flow_group_id"]
        running = [
            {"id": run["id"]}
            for run in self.flow_runs.values()
            if run["state"] == "Running"
            and run["id"] != variables["run_id"]
            and self.flows[run["flow_id"]]["flow_group_id"] == group
        ]
        return {"flow_run": running}
