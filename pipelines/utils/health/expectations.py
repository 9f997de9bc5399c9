"""What the code promises: each scheduled flow's cadence, and each table's freshness.

A clock's cadence is the longest gap between two of its runs (a weekday cron's is the
weekend). A table a scheduled flow writes, or a dbt model it builds, should get a new load
within the shortest cadence of the clocks that write it plus a grace; `PipelineFlow(
freshness=...)` or the table's dbt source says otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

from pipelines.errors import HealthError
from pipelines.utils.health.dbt_sources import SourceFreshness
from pipelines.utils.inventory.tables import table_uses

# Time a table may be late past its cadence before it counts as stale.
DEFAULT_GRACE = dt.timedelta(hours=1)
# Finished runs in a row that fail before the owners hear of a failing streak.
DEFAULT_FAILING_STREAK = 3
# Runs of a clock looked at to find its longest gap (a year of daily runs, weeks of hourly).
_CADENCE_SAMPLE = 400
_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
# What a flow promises fresh: the tables it writes and the dbt models it builds.
_PROMISED = frozenset({"write", "model"})
# Where a table's freshness comes from, as the catalog and `status` say it.
CADENCE_FRESHNESS = "cadence + grace"
FLOW_FRESHNESS = "the flow's freshness="


def cadence_of(clock: Any) -> dt.timedelta | None:
    """The longest gap between consecutive runs of a Prefect clock; None if it runs once."""
    interval = getattr(clock, "interval", None)
    if isinstance(interval, dt.timedelta):
        return interval
    after = max(_EPOCH, clock.start_date or _EPOCH)
    times = [e.start_time for e in islice(clock.events(after=after), _CADENCE_SAMPLE)]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    return dt.timedelta(seconds=max(gaps)) if gaps else None


def previous_run(clock: Any, now: dt.datetime) -> dt.datetime | None:
    """The clock's last scheduled time at or before `now`."""
    cadence = cadence_of(clock)
    if cadence is None:
        return None
    last = None
    for event in clock.events(after=now - 2 * cadence - dt.timedelta(seconds=1)):
        if event.start_time > now:
            break
        last = event.start_time
    return last


def next_run(schedule: Any, now: dt.datetime) -> dt.datetime | None:
    """The schedule's next run after `now`."""
    if schedule is None:
        return None
    found = schedule.next(1, after=now)
    return found[0] if found else None


def words(span: dt.timedelta) -> str:
    """A span as people say it, to the precision that matters: 'under a minute',
    '1 hour 15 minutes', '25 hours', '2 days 3 hours', '12 days'."""

    def unit(count: int, name: str) -> str:
        return f"{count} {name}{'s' * (count != 1)}"

    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    hours, minute = divmod(minutes, 60)
    if hours < 10:
        return " ".join(
            [unit(hours, "hour")] * bool(hours) + [unit(minute, "minute")] * bool(minute)
        )
    if hours < 48 and (hours % 24 or minute):
        return unit(hours, "hour")
    days, hour = divmod(hours, 24)
    return unit(days, "day") + (f" {unit(hour, 'hour')}" if hour and days < 7 else "")


@dataclass(frozen=True)
class TableExpectation:
    """A table's promise: a new load at most `freshness` old."""

    table: str  # <dataset_id>.<table_id>
    freshness: dt.timedelta
    source: str  # CADENCE_FRESHNESS, FLOW_FRESHNESS or "dbt, <its YAML file>"


@dataclass
class FlowExpectation:
    """One flow's promises, as the watchdog and `manage.py status` read them."""

    name: str
    org: str
    owners: list[str]
    cadences: list[dt.timedelta]  # one per clock, in the schedule's order
    tables: list[TableExpectation] = field(default_factory=list)
    failing_streak: int = DEFAULT_FAILING_STREAK
    pause_on_failing_streak: bool = False

    @property
    def scheduled(self) -> bool:
        return bool(self.cadences)

    def to_json(self) -> dict[str, Any]:
        found = asdict(self)
        found["cadences"] = [c.total_seconds() for c in self.cadences]
        for table in found["tables"]:
            table["freshness"] = table["freshness"].total_seconds()
        return found

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlowExpectation:
        given = dict(data)
        given["cadences"] = [dt.timedelta(seconds=s) for s in given["cadences"]]
        given["tables"] = [
            TableExpectation(t["table"], dt.timedelta(seconds=t["freshness"]), t["source"])
            for t in given["tables"]
        ]
        return cls(**given)


def check_freshness(value: Any, flow_name: str) -> None:
    """Refuse a `freshness=` that is not a positive timedelta or a {table: timedelta}.

    Raises:
        HealthError: Naming the flow, the value and the form it takes.
    """
    values = value.values() if isinstance(value, Mapping) else [value]
    keys = value.keys() if isinstance(value, Mapping) else []
    for key in keys:
        if not isinstance(key, str) or key.count(".") != 1:
            raise HealthError(
                f"flow {flow_name!r}: freshness key {key!r} is not '<dataset_id>.<table_id>'."
            )
    for span in values:
        if not isinstance(span, dt.timedelta) or span <= dt.timedelta(0):
            raise HealthError(
                f"flow {flow_name!r}: freshness={span!r} is not a positive timedelta; "
                "write e.g. freshness=timedelta(days=2), or {'dataset.table': timedelta(...)}."
            )


def expectation_of(
    flow: Any, sources: Mapping[str, SourceFreshness] | None = None
) -> FlowExpectation:
    """Read a flow's expectations from its schedule, its tasks and PipelineFlow's options.

    Args:
        flow: The flow.
        sources: The freshness the dbt sources under `queries/` declare, by raw table
            (`source_freshness`); the flow's own `freshness=` comes first, then these, then
            the cadence plus the grace.
    """
    clocks = flow.schedule.clocks if flow.schedule is not None else []
    cadences = [c for c in (cadence_of(clock) for clock in clocks) if c is not None]
    given = getattr(flow, "freshness", None)
    per_table = dict(given) if isinstance(given, Mapping) else {}
    declared = sources or {}
    tables = []
    for use in table_uses(flow):
        if use.role not in _PROMISED:
            continue
        own = per_table.get(use.name, given if isinstance(given, dt.timedelta) else None)
        if own is not None:
            tables.append(TableExpectation(use.name, own, FLOW_FRESHNESS))
            continue
        if use.name in declared:
            dbt_span = declared[use.name].freshness
            if dbt_span is not None:  # `freshness: null`: never stale
                tables.append(
                    TableExpectation(use.name, dbt_span, f"dbt, {declared[use.name].where}")
                )
            continue
        writing = [cadence_of(clocks[i]) for i in use.clocks]
        spans = [c for c in writing if c is not None]
        if spans:
            tables.append(TableExpectation(use.name, min(spans) + DEFAULT_GRACE, CADENCE_FRESHNESS))
    return FlowExpectation(
        name=flow.name,
        org=str(getattr(flow, "org", "") or ""),
        owners=list(getattr(flow, "code_owners", []) or []),
        cadences=cadences,
        tables=tables,
        failing_streak=int(getattr(flow, "failing_streak", DEFAULT_FAILING_STREAK)),
        pause_on_failing_streak=bool(getattr(flow, "pause_on_failing_streak", False)),
    )


def expectation_problems(
    flow: Any, sources: Mapping[str, SourceFreshness] | None = None
) -> list[str]:
    """What `check` says of a flow's freshness options: a key naming a table the flow does
    not write, a table whose freshness is set both by the flow and by a dbt source, a
    freshness its own schedule cannot meet."""
    given = getattr(flow, "freshness", None)
    written = {u.name for u in table_uses(flow) if u.role in _PROMISED}
    problems = [
        f"freshness names {key}, which the flow does not write (it writes: "
        f"{', '.join(sorted(written)) or 'no table'})"
        for key in sorted(given if isinstance(given, Mapping) else {})
        if key not in written
    ]
    declared = sources or {}
    expectation = expectation_of(flow, sources)
    for table in expectation.tables:
        if table.source == FLOW_FRESHNESS and table.table in declared:
            problems.append(
                f"freshness of {table.table} is set twice, by the flow's freshness= and in "
                f"{declared[table.table].where}: keep one"
            )
    clocks = flow.schedule.clocks if flow.schedule is not None else []
    fixed = {t.table: t for t in expectation.tables if t.source != CADENCE_FRESHNESS}
    for use in table_uses(flow):
        spans = [c for c in (cadence_of(clocks[i]) for i in use.clocks) if c is not None]
        if use.name in fixed and spans and fixed[use.name].freshness < min(spans):
            found = fixed[use.name]
            problems.append(
                f"freshness of {use.name} ({words(found.freshness)}, from {found.source}) is "
                f"shorter than the time between the runs that write it ({words(min(spans))}): "
                "it would be stale between runs"
            )
    return problems
