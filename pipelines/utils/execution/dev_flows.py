"""List and archive development versions in the development project (through utils.server)."""

from __future__ import annotations

from dataclasses import dataclass

from prefect import Client

from pipelines.constants import DEV_FLOW_SUFFIX
from pipelines.utils.server import Server


def like_escape(text: str) -> str:
    """text as a literal inside a SQL LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class DevFlow:
    """One development version on the server."""

    id: str
    name: str
    version: int
    created: str


def list_dev_flows(client: Client, project: str, name: str | None = None) -> list[DevFlow]:
    """Unarchived development versions in project: of the flow named exactly `name`, or all."""
    match = {"_eq": name} if name else {"_like": f"%{like_escape(DEV_FLOW_SUFFIX)}"}
    return [
        DevFlow(id=f["id"], name=f["name"], version=f["version"], created=f["created"])
        for f in Server(client).flows_matching(project, match)
    ]


def archive(client: Client, flows: list[DevFlow]) -> list[DevFlow]:
    """Archive each flow version; returns those archived."""
    server = Server(client)
    for flow in flows:
        server.archive_flow(flow.id)
    return flows


def archive_other_versions(client: Client, project: str, name: str, keep: str) -> list[DevFlow]:
    """Archive every development version of name except `keep`."""
    return archive(client, [f for f in list_dev_flows(client, project, name) if f.id != keep])
