"""What the catalog says of one flow, read from the Flow object and the repo."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pendulum

from pipelines.manage.catalog.history import Commit
from pipelines.manage.catalog.when import ClockRuns, clock_runs
from pipelines.utils.health import FlowExpectation, expectation_of
from pipelines.utils.health.dbt_sources import SourceFreshness
from pipelines.utils.health.expectations import words
from pipelines.utils.inventory.tables import parameter_sets, published_tables, table_uses


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
    public: bool = False  # published to the open-data project


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
    last_commit: Commit | None  # of the project's own files
    tasks: int
    edges: int
    resources: dict[str, str] = field(default_factory=dict)  # cpu / memory, request / limit
    attribute: str = "flow"  # its name in the module
    graph: str = ""  # file name of its picture under graphs/
    problems: list[str] = field(default_factory=list)
    shared_commit: Commit | None = None  # of the shared code it imports (pipelines/utils ...)
    # The watchdog's view: how often it must run, how fresh each table must be.
    expectation: FlowExpectation | None = None
    health: dict[str, Any] | None = None  # its row of a `status --json`, when given
    # The schema history of each table it writes, from the same document.
    schemas: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    upstream: list[str] = field(default_factory=list)  # flows whose tables feed this one
    downstream: list[str] = field(default_factory=list)  # flows fed by what this one writes

    def cadence_words(self) -> str:
        """'at least every 1 hour', or '' for a flow with no schedule."""
        if self.expectation is None or not self.expectation.cadences:
            return ""
        return f"at least every {words(max(self.expectation.cadences))}"

    def freshness_of(self, table: str) -> str:
        """How old the table's (or model's) newest load may be, in words; '' without an
        expectation."""
        for expected in self.expectation.tables if self.expectation else []:
            if expected.table == table:
                return f"{words(expected.freshness)} ({expected.source})"
        return ""

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


def tables(flow: Any) -> tuple[list[Table], list[Table], list[tuple[str, str, str]]]:
    """Tables written and read, and (dataset, table, when) of the models materialized."""
    sets = parameter_sets(flow)
    writes: list[Table] = []
    reads: list[Table] = []
    models: list[tuple[str, str, str]] = []
    for use in table_uses(flow, sets):
        labels = [s.label for s in use.sets]
        when = "every run" if len(labels) == len(sets) else ", ".join(labels)
        if use.role == "model":
            models.append((use.dataset_id, use.table_id, when))
        else:
            target = writes if use.role == "write" else reads
            target.append(Table(use.dataset_id, use.table_id, when))
    return writes, reads, models


def _shown(name: str, value: Any) -> Any:
    """A value the published catalog may show: a credential (check reports it) is masked."""
    from pipelines.utils.redaction import MASK, is_credential

    return MASK if is_credential(name, value) else value


def flow_facts(
    module: str,
    flow: Any,
    root: Path,
    files: list[Path],
    last_commit: Commit | None,
    now: pendulum.DateTime,
    sources: Mapping[str, SourceFreshness] | None = None,
) -> FlowFacts:
    """Read one flow's facts (its schedule's next runs counted from `now`; `sources`, the
    freshness dbt declares, as `expectation_of` takes it)."""
    from slugify import slugify

    parts = module.split(".")
    org = getattr(flow, "org", parts[1] if len(parts) > 2 else "")
    clocks = clock_runs(flow.schedule, now)
    parameters = [
        Parameter(p.name, None if p.required else _shown(p.name, p.default), p.required)
        for p in flow.parameters()
    ]
    for parameter in parameters:
        for number, clock in enumerate(clocks, start=1):
            if parameter.name in clock.parameters:
                value = _shown(parameter.name, clock.parameters[parameter.name])
                parameter.overrides.append((number, value))
    parameters.sort(key=lambda p: p.name)
    writes, reads, model_names = tables(flow)
    public = published_tables(flow)
    models = []
    for dataset_id, table_id, when in model_names:
        path, name = f"queries/models/{dataset_id}/{table_id}.sql", f"{dataset_id}.{table_id}"
        models.append(Model(name, path, (root / path).is_file(), when, name in public))
    labels = set(getattr(flow.run_config, "labels", None) or [])
    for clock in clocks:
        labels |= set(clock.labels)
    return FlowFacts(
        name=flow.name,
        slug=slugify(flow.name),
        module=module,
        org=org,
        project="/".join(parts[2:-1]) if len(parts) >= 4 else None,  # group/name too
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
        expectation=expectation_of(flow, sources),
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
