"""Expectations against what happened: each flow's health and the problems found.

Pure functions of their inputs (the time included), so the watchdog, `manage.py status` and
the tests reach the same verdicts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pipelines.utils.health.expectations import DEFAULT_GRACE, FlowExpectation, words
from pipelines.utils.health.records import Run

Where = Literal["server", "local"]


@dataclass
class FlowSeen:
    """What happened to one flow: its runs (newest first, started ones) and, on the server,
    whether it is registered, its schedule's switch and the runs that are late."""

    runs: list[Run] = field(default_factory=list)
    registered: bool = True
    schedule_active: bool | None = None  # None: not known (local runs)
    late: list[Run] = field(default_factory=list)
    flow_id: str | None = None


@dataclass(frozen=True)
class Problem:
    """One thing the owners should hear of, once, until it clears."""

    kind: str  # late, not registered, schedule off, no recent run, failing, stale
    flow: str
    org: str
    owners: tuple[str, ...]
    text: str
    subject: str = ""  # the table, for stale tables

    @property
    def key(self) -> str:
        """What stays the same while the problem lasts (its text may change: ages grow)."""
        return f"{self.kind}|{self.flow}|{self.subject}"


@dataclass
class TableHealth:
    table: str
    freshness: dt.timedelta
    loaded: dt.datetime | None
    freshness_from: str = ""  # TableExpectation.source

    def age(self, now: dt.datetime) -> dt.timedelta | None:
        return None if self.loaded is None else now - self.loaded

    def stale(self, now: dt.datetime) -> bool:
        age = self.age(now)
        return age is not None and age > self.freshness


@dataclass
class FlowHealth:
    """One row of `manage.py status` and of the catalog's health page."""

    expectation: FlowExpectation
    seen: FlowSeen
    tables: list[TableHealth]
    streak: int  # finished runs in a row that failed, newest first
    next_run: dt.datetime | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def last_run(self) -> Run | None:
        return self.seen.runs[0] if self.seen.runs else None

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        last = self.last_run
        return {
            "flow": self.expectation.name,
            "org": self.expectation.org,
            "owners": self.expectation.owners,
            "cadences": [words(c) for c in self.expectation.cadences],
            "schedule_active": self.seen.schedule_active,
            "registered": self.seen.registered,
            "last_run": None if last is None else {"state": last.state, "at": _iso(last.when)},
            "recent_runs": [{"state": r.state, "at": _iso(r.when)} for r in self.seen.runs[:10]],
            "next_run": _iso(self.next_run),
            "failing_streak": self.streak,
            "late_runs": len(self.seen.late),
            "tables": [
                {
                    "table": t.table,
                    "loaded": _iso(t.loaded),
                    "age_s": _seconds(t.age(now)),
                    "freshness_s": int(t.freshness.total_seconds()),
                    "freshness_from": t.freshness_from,
                    "stale": t.stale(now),
                }
                for t in self.tables
            ],
            "problems": [
                {"kind": p.kind, "text": p.text, "subject": p.subject} for p in self.problems
            ],
        }


def _seconds(span: dt.timedelta | None) -> int | None:
    return None if span is None else int(span.total_seconds())


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat(timespec="seconds")


def _ago(now: dt.datetime, when: dt.datetime) -> str:
    return f"{words(now - when)} ago"


def failing_streak(runs: Iterable[Run]) -> int:
    """Finished runs in a row that failed, counted from the newest."""
    count = 0
    for run in runs:
        if not run.finished:
            continue
        if not run.failed:
            break
        count += 1
    return count


def assess(
    expectations: Iterable[FlowExpectation],
    seen: Mapping[str, FlowSeen],
    loaded: Mapping[str, dt.datetime],
    now: dt.datetime,
    *,
    where: Where,
    next_runs: Mapping[str, dt.datetime | None] | None = None,
) -> list[FlowHealth]:
    """Each flow's health, flows with problems first (then by name).

    Args:
        expectations: The flows' promises.
        seen: What happened to each flow, by name (a flow absent here had no run).
        loaded: When each table last got data ('dataset.table' -> UTC time).
        now: The time the verdicts are for.
        where: "server": every check; "local": runs are started by hand, so only failing
            streaks and the freshness of tables loaded here count.
        next_runs: Each flow's next scheduled run, when known.
    """
    found = []
    for expectation in expectations:
        flow_seen = seen.get(expectation.name) or FlowSeen(registered=where == "local")
        tables = [
            TableHealth(t.table, t.freshness, loaded.get(t.table), t.source)
            for t in expectation.tables
        ]
        health = FlowHealth(
            expectation,
            flow_seen,
            tables,
            failing_streak(flow_seen.runs),
            (next_runs or {}).get(expectation.name),
        )
        health.problems = _problems(health, now, where)
        found.append(health)
    found.sort(key=lambda h: (not h.problems, h.expectation.name))
    return found


def as_of(
    seen: Mapping[str, FlowSeen], loaded: Mapping[str, dt.datetime], now: dt.datetime
) -> tuple[dict[str, FlowSeen], dict[str, dt.datetime]]:
    """What had happened by `now`, a moment in the past asked for (`status --now`): later
    runs and loads are dropped. Not for the present: a server's clock a little ahead of this
    one would hide a run that has just started."""
    past = {
        name: dataclasses.replace(f, runs=[r for r in f.runs if r.when is None or r.when <= now])
        for name, f in seen.items()
    }
    return past, {table: when for table, when in loaded.items() if when <= now}


def _problems(health: FlowHealth, now: dt.datetime, where: Where) -> list[Problem]:
    e, seen = health.expectation, health.seen

    def problem(kind: str, text: str, subject: str = "") -> Problem:
        return Problem(kind, e.name, e.org, tuple(e.owners), f"Flow {e.name!r}: {text}", subject)

    found = []
    if where == "server":
        if not seen.registered:
            if e.scheduled:
                found.append(
                    problem("not registered", "is scheduled in the code but not on the server.")
                )
            return found
        # A flow the watchdog paused for its streak is told of once, as failing.
        paused = e.pause_on_failing_streak and health.streak >= e.failing_streak
        if e.scheduled and seen.schedule_active is False and not paused:
            found.append(
                problem("schedule off", "its schedule is off on the server, so it does not run.")
            )
        if seen.late:
            oldest = (
                min(r.scheduled for r in seen.late if r.scheduled)
                if any(r.scheduled for r in seen.late)
                else None
            )
            since = f", the oldest due {_ago(now, oldest)}" if oldest else ""
            found.append(
                problem(
                    "late",
                    f"{len(seen.late)} scheduled run(s) have not started{since}: is the agent "
                    "for its labels up?",
                )
            )
        if e.scheduled and seen.schedule_active is not False and not seen.late:
            allowed = max(e.cadences) + DEFAULT_GRACE
            last = health.last_run.when if health.last_run else None
            if last is None or now - last > allowed:
                ran = f"its last run was {_ago(now, last)}" if last else "it has no run yet"
                found.append(
                    problem(
                        "no recent run", f"{ran}; it runs at least every {words(max(e.cadences))}."
                    )
                )
    if health.streak >= e.failing_streak:
        pausing = (
            " The watchdog turns its schedule off (pause_on_failing_streak=True): turn it "
            "back on in the Prefect UI once fixed."
            if e.pause_on_failing_streak and where == "server"
            else ""
        )
        found.append(problem("failing", f"its last {health.streak} runs failed.{pausing}"))
    for table in health.tables:
        age = table.age(now)
        if age is None:
            if where == "server" and seen.runs:
                found.append(
                    problem("stale", f"table {table.table} has never been loaded.", table.table)
                )
        elif table.stale(now):
            found.append(
                problem(
                    "stale",
                    f"table {table.table} was last loaded {words(age)} ago; it should "
                    f"be at most {words(table.freshness)} old.",
                    table.table,
                )
            )
    return found
