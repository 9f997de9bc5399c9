"""The files the watchdog shares through the datalake: the expectations `register` publishes
(a flow-run pod carries only its own flow's code, so it cannot read the others'), what was
alerted, and the last status (what the catalog's health page shows)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipelines.utils import scratch
from pipelines.utils.health.expectations import FlowExpectation

EXPECTATIONS_KEY = "_health/expectations.json"
ALERTED_KEY = "_health/alerted.json"
STATUS_KEY = "_health/status.json"


def read_json(datalake: Any, key: str) -> Any | None:
    """A JSON file of the datalake; None when there is none yet."""
    try:
        return json.loads(datalake.read_bytes(key))
    except FileNotFoundError:
        return None


def write_json(datalake: Any, key: str, data: Any) -> None:
    """Replace a JSON file of the datalake (a put is whole: readers see old or new)."""
    with scratch.temporary_folder("pipelines-health-") as folder:
        path = Path(folder) / "data.json"
        path.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        datalake.put(key, path)


def merged_expectations(
    current: dict[str, Any] | None, modules: dict[str, list[FlowExpectation]], live: Iterable[str]
) -> dict[str, Any]:
    """The published expectations after a register: each loaded module's flows replace that
    module's, and modules no longer in the repo go.

    Args:
        current: What was published before ({"flows": {name: {...,"module": m}}}), or None.
        modules: The flows of each module this register loaded.
        live: Every flows module in the repo now.
    """
    live = set(live)
    flows = {
        name: entry
        for name, entry in ((current or {}).get("flows") or {}).items()
        if entry.get("module") in live and entry.get("module") not in modules
    }
    for module, expectations in modules.items():
        for expectation in expectations:
            flows[expectation.name] = {**expectation.to_json(), "module": module}
    return {"flows": dict(sorted(flows.items()))}


def published_expectations(data: dict[str, Any] | None) -> list[FlowExpectation]:
    """The expectations of a published file."""
    entries = (data or {}).get("flows") or {}
    return [
        FlowExpectation.from_json({k: v for k, v in entry.items() if k != "module"})
        for entry in entries.values()
    ]
