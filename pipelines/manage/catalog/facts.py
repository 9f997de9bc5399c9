"""What the catalog says of one flow, read from the Flow object and the repo."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pendulum

from pipelines.manage.catalog.history import Commit
from pipelines.manage.catalog.when import ClockRuns, clock_runs

# Shared tasks that take dataset_id and table_id but do not write that table: they read it
# (dump_to_gcs exports a warehouse table) or build a dbt model named by it (materialize).
READERS = frozenset({"dump_to_gcs"})
MATERIALIZERS = frozenset({"materialize"})
_UNSET = object()


@dataclass
class Parameter:
    """A flow parameter, its default and the clocks that override it."""

    name: str
    default: Any
    required: bool
    overrides: list[tuple[int, Any]] = field(default_factory=list)  # (clock number, value)


@dataclass(frozen=True)
class Table:
    """A table a flow writes or reads, where it lives, and the clock runs that touch it."""

    dataset_id: str
    table_id: str
    when: str  # "every run", or the clocks that pass these names

    @property
    def datalake_prefix(self) -> str:
        return f"{self.dataset_id}/{self.table_id}/"

    @property
    def warehouse_table(self) -> str:
        return f"{self.dataset_id}.{self.table_id}"


@dataclass(frozen=True)
class Model:
    """A dbt model a flow materializes, its file, and whether it exists."""

    name: str
    path: str
    exists: bool
    when: str


@dataclass
class FlowFacts:
    """Everything a flow's page shows."""

    name: str
    slug: str
    module: str
    org: str
    project: str | None
    owners: list[str]
    labels: list[str]
    parameters: list[Parameter]
    clocks: list[ClockRuns]
    writes: list[Table]
    reads: list[Table]
    models: list[Model]
    files: list[str]
    last_commit: Commit | None
    tasks: int
    edges: int
    resources: dict[str, str] = field(default_factory=dict)  # cpu / memory, request / limit
    attribute: str = "flow"  # its name in the module
    graph: str = ""  # file name of its picture under graphs/
    problems: list[str] = field(default_factory=list)

    def search_text(self) -> str:
        """What the index's search box matches: names, owners, labels, tables and models."""
        words = [
            self.name,
            self.module,
            self.org,
            self.project or "",
            *self.owners,
            *self.labels,
            *(t.warehouse_table for t in self.writes + self.reads),
            *(t.datalake_prefix for t in self.writes),
            *(m.name for m in self.models),
        ]
        return " ".join(words).lower()


def parameter_sets(flow: Any, clocks: list[ClockRuns]) -> list[tuple[str, dict[str, Any]]]:
    """The parameter values runs get: the flow's defaults on their own (a run started by
    hand) and merged with each clock's overrides (its scheduled runs)."""
    defaults = {p.name: (_UNSET if p.required else p.default) for p in flow.parameters()}
    sets = [("a run started by hand", defaults)]
    for number, clock in enumerate(clocks, start=1):
        sets.append((f"clock {number}", {**defaults, **clock.parameters}))
    return sets


def _argument(flow: Any, task: Any, key: str) -> tuple[str, Any] | None:
    """How a task gets an argument: ("constant", value) or ("parameter", name)."""
    from prefect import Parameter as PrefectParameter

    constants = flow.constants.get(task, {})
    if key in constants:
        return ("constant", constants[key])
    for edge in flow.edges_to(task):
        if edge.key == key and isinstance(edge.upstream_task, PrefectParameter):
            return ("parameter", edge.upstream_task.name)
    return None


def _resolve(how: tuple[str, Any] | None, values: dict[str, Any]) -> Any:
    if how is None:
        return _UNSET
    kind, value = how
    return value if kind == "constant" else values.get(value, _UNSET)


def _when(labels: list[str], total: int) -> str:
    return "every run" if len(labels) == total else ", ".join(labels)


def tables(
    flow: Any, sets: list[tuple[str, dict[str, Any]]]
) -> tuple[list[Table], list[Table], list[tuple[str, str, str]]]:
    """Tables written and read, and (dataset, table, when) of the models materialized."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for task in sorted(flow.tasks, key=lambda t: t.name):
        dataset = _argument(flow, task, "dataset_id")
        table = _argument(flow, task, "table_id")
        enabled = _argument(flow, task, "enabled")  # materialize_after_dump's switch
        if dataset is None or table is None:
            continue
        role = (
            "model" if task.name in MATERIALIZERS else "read" if task.name in READERS else "write"
        )
        for label, values in sets:
            names = (_resolve(dataset, values), _resolve(table, values))
            if any(not isinstance(n, str) for n in names):
                continue  # a required parameter no clock sets: known only per run
            if role == "model" and _resolve(enabled, values) is False:
                continue
            whens = found.setdefault((role, *names), [])
            if label not in whens:
                whens.append(label)
    writes: list[Table] = []
    reads: list[Table] = []
    models: list[tuple[str, str, str]] = []
    for (role, dataset_id, table_id), labels in sorted(found.items()):
        when = _when(labels, len(sets))
        if role == "model":
            models.append((dataset_id, table_id, when))
        else:
            (writes if role == "write" else reads).append(Table(dataset_id, table_id, when))
    return writes, reads, models


def flow_facts(
    module: str,
    flow: Any,
    root: Path,
    files: list[Path],
    last_commit: Commit | None,
    now: pendulum.DateTime,
) -> FlowFacts:
    """Read one flow's facts (its schedule's next runs counted from `now`)."""
    from slugify import slugify

    parts = module.split(".")
    org = getattr(flow, "org", parts[1] if len(parts) > 2 else "")
    clocks = clock_runs(flow.schedule, now)
    parameters = [
        Parameter(p.name, None if p.required else p.default, p.required) for p in flow.parameters()
    ]
    for parameter in parameters:
        for number, clock in enumerate(clocks, start=1):
            if parameter.name in clock.parameters:
                parameter.overrides.append((number, clock.parameters[parameter.name]))
    parameters.sort(key=lambda p: p.name)
    writes, reads, model_names = tables(flow, parameter_sets(flow, clocks))
    models = []
    for dataset_id, table_id, when in model_names:
        path = f"queries/models/{dataset_id}/{table_id}.sql"
        models.append(Model(f"{dataset_id}.{table_id}", path, (root / path).is_file(), when))
    labels = set(getattr(flow.run_config, "labels", None) or [])
    for clock in clocks:
        labels |= set(clock.labels)
    return FlowFacts(
        name=flow.name,
        slug=slugify(flow.name),
        module=module,
        org=org,
        project=parts[2] if len(parts) == 4 else None,
        owners=list(getattr(flow, "code_owners", [])),
        labels=sorted(labels),
        parameters=parameters,
        clocks=clocks,
        writes=writes,
        reads=reads,
        models=models,
        files=[p.relative_to(root).as_posix() for p in files],
        last_commit=last_commit,
        tasks=len(flow.tasks),
        edges=len(flow.edges),
        resources=pod_resources(flow.run_config),
    )


def pod_resources(run_config: Any) -> dict[str, str]:
    """The pod's CPU and memory, as the flow sets them ('cpu request': '500m', ...)."""
    found = {}
    for key, attribute in (
        ("cpu request", "cpu_request"),
        ("cpu limit", "cpu_limit"),
        ("memory request", "memory_request"),
        ("memory limit", "memory_limit"),
    ):
        value = getattr(run_config, attribute, None)
        if value:
            found[key] = str(value)
    return found
