"""Which tables a flow writes or reads and which dbt models it builds, read from its tasks'
arguments (constants, or parameters with their defaults and each clock's overrides).

The catalog shows them; the freshness expectations are built on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Shared tasks that take dataset_id and table_id but do not write that table: they read it
# (dump_to_gcs exports a warehouse table) or build a dbt model named by it (materialize).
READERS = frozenset({"dump_to_gcs"})
MATERIALIZERS = frozenset({"materialize", "dbt_selection"})
UNSET = object()
BY_HAND = "a run started by hand"


@dataclass(frozen=True)
class ParameterSet:
    """The parameter values one kind of run gets: by hand (clock None) or from a clock."""

    label: str
    values: dict[str, Any]
    clock: int | None = None  # the clock's index in the schedule


@dataclass(frozen=True)
class TableUse:
    """A table a flow writes, reads or materializes, and the runs that touch it."""

    role: str  # "write", "read" or "model"
    dataset_id: str
    table_id: str
    sets: tuple[ParameterSet, ...]

    @property
    def name(self) -> str:
        return f"{self.dataset_id}.{self.table_id}"

    @property
    def clocks(self) -> list[int]:
        """Indexes of the clocks whose runs touch the table."""
        return [s.clock for s in self.sets if s.clock is not None]


def parameter_sets(flow: Any) -> list[ParameterSet]:
    """The flow's defaults on their own (a run started by hand) and merged with each clock's
    overrides (its scheduled runs)."""
    defaults = {p.name: (UNSET if p.required else p.default) for p in flow.parameters()}
    sets = [ParameterSet(BY_HAND, defaults)]
    clocks = flow.schedule.clocks if flow.schedule is not None else []
    for index, clock in enumerate(clocks):
        values = {**defaults, **dict(clock.parameter_defaults or {})}
        sets.append(ParameterSet(f"clock {index + 1}", values, index))
    return sets


def argument_source(flow: Any, task: Any, key: str) -> tuple[str, Any] | None:
    """How a task gets an argument: ("constant", value) or ("parameter", name)."""
    from prefect import Parameter as PrefectParameter

    constants = flow.constants.get(task, {})
    if key in constants:
        return ("constant", constants[key])
    for edge in flow.edges_to(task):
        if edge.key == key and isinstance(edge.upstream_task, PrefectParameter):
            return ("parameter", edge.upstream_task.name)
    return None


def resolve_argument(how: tuple[str, Any] | None, values: dict[str, Any]) -> Any:
    if how is None:
        return UNSET
    kind, value = how
    return value if kind == "constant" else values.get(value, UNSET)


def table_uses(flow: Any, sets: list[ParameterSet] | None = None) -> list[TableUse]:
    """Every (role, table) of a flow with the parameter sets that reach it, sorted."""
    sets = parameter_sets(flow) if sets is None else sets
    found: dict[tuple[str, str, str], list[ParameterSet]] = {}
    for task in sorted(flow.tasks, key=lambda t: t.name):
        dataset = argument_source(flow, task, "dataset_id")
        table = argument_source(flow, task, "table_id")
        enabled = argument_source(flow, task, "enabled")  # materialize_after_dump's switch
        if dataset is None or table is None:
            continue
        role = (
            "model" if task.name in MATERIALIZERS else "read" if task.name in READERS else "write"
        )
        select = argument_source(flow, task, "select")
        for values in sets:
            names = (
                resolve_argument(dataset, values.values),
                resolve_argument(table, values.values),
            )
            if role == "model" and any(not isinstance(n, str) for n in names):
                names = selected_model(resolve_argument(select, values.values)) or names
            if any(not isinstance(n, str) for n in names):
                continue  # a required parameter no clock sets: known only per run
            if role == "model" and resolve_argument(enabled, values.values) is False:
                continue
            reached = found.setdefault((role, *names), [])
            if values not in reached:
                reached.append(values)
    return [TableUse(role, ds, t, tuple(s)) for (role, ds, t), s in sorted(found.items())]


_PATH_SELECTION = re.compile(r"^\+?path:models/([A-Za-z0-9_]+)/([A-Za-z0-9_]+)\.sql\+?$")


def selected_model(select: Any) -> tuple[str, str] | None:
    """(dataset_id, table_id) of a dbt selection naming one model by its file
    ("path:models/<dataset>/<table>.sql", with + before or after), else None."""
    match = _PATH_SELECTION.match(select.strip()) if isinstance(select, str) else None
    return (match.group(1), match.group(2)) if match else None


def published_tables(flow: Any, sets: list[ParameterSet] | None = None) -> set[str]:
    """The tables ('<dataset_id>.<table_id>') a materialize task publishes to the open-data
    project in some run (its `publish` argument true there)."""
    sets = parameter_sets(flow) if sets is None else sets
    found = set()
    for task in flow.tasks:
        if task.name != "materialize":
            continue
        how = {
            key: argument_source(flow, task, key) for key in ("dataset_id", "table_id", "publish")
        }
        for values in sets:
            resolved = {key: resolve_argument(way, values.values) for key, way in how.items()}
            names = (resolved["dataset_id"], resolved["table_id"])
            if resolved["publish"] is True and all(isinstance(n, str) for n in names):
                found.add(".".join(names))  # type: ignore[arg-type]
    return found
