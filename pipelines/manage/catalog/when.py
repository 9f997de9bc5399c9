"""Schedules in words, their next runs, and every run of a time window."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import pendulum

from pipelines.constants import TIMEZONE

_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _plural(count: float, unit: str) -> str:
    count = int(count) if float(count).is_integer() else count
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def interval_words(interval: dt.timedelta) -> str:
    """'every 15 minutes', 'every hour', 'every 2 days'."""
    seconds = interval.total_seconds()
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"every {unit}" if count == 1 else f"every {_plural(count, unit)}"
    return f"every {_plural(seconds, 'second')}"


def _field_words(value: str, names: list[str] | None = None, offset: int = 0) -> str:
    """One cron field ('1-5', '*/2', '1,15') in words."""

    def name(part: str) -> str:
        return names[(int(part) - offset) % len(names)] if names and part.isdigit() else part

    words = []
    for part in value.split(","):
        if "/" in part:
            base, step = part.split("/", 1)
            span = "" if base == "*" else f" from {base}"
            words.append(f"every {step}{span}")
        elif "-" in part:
            low, high = part.split("-", 1)
            words.append(f"{name(low)} to {name(high)}")
        else:
            words.append(name(part))
    return ", ".join(words)


def cron_words(cron: str) -> str:
    """A five-field cron string in words; unusual fields are quoted as they are.

    Examples: '0 6 * * *' -> 'at 06:00 every day'; '*/15 * * * 1-5' -> 'every 15 minutes,
    Monday to Friday'.
    """
    fields = cron.split()
    if len(fields) != 5:
        return f"cron {cron!r}"
    minute, hour, day, month, weekday = fields
    if minute.isdigit() and hour.isdigit():
        when = f"at {int(hour):02d}:{int(minute):02d}"
    elif minute.isdigit() and hour == "*":
        when = f"at minute {int(minute)} of every hour"
    elif minute.startswith("*/") and hour == "*":
        when = f"every {minute[2:]} minutes"
    elif minute == "*" and hour == "*":
        when = "every minute"
    elif minute.isdigit() and hour.startswith("*/"):
        when = f"at minute {int(minute)}, every {hour[2:]} hours"
    elif minute.isdigit():
        when = f"at minute {int(minute)} of hours {_field_words(hour)}"
    else:
        when = f"at minutes {_field_words(minute)} of hours {_field_words(hour)}"
    days = []
    if day != "*":
        days.append(f"on day {_field_words(day)} of the month")
    if month != "*":
        days.append(f"in {_field_words(month, _MONTHS, offset=1)}")
    if weekday != "*":
        days.append(f"on {_field_words(weekday, _DAYS)}")
    if not days:
        return f"{when} every day" if minute.isdigit() and hour.isdigit() else when
    return f"{when}, {', '.join(days)}"


def clock_words(clock: Any) -> str:
    """A Prefect clock in words, with the zone its times are read in."""
    from prefect.schedules.clocks import CronClock, IntervalClock

    zone = getattr(clock.start_date, "timezone_name", None) or TIMEZONE
    if isinstance(clock, IntervalClock):
        start = pendulum.instance(clock.start_date).in_tz(zone)
        return f"{interval_words(clock.interval)} from {start:%Y-%m-%d %H:%M} ({zone})"
    if isinstance(clock, CronClock):
        return f"{cron_words(clock.cron)} ({zone})"
    return type(clock).__name__


@dataclass
class ClockRuns:
    """One clock of a schedule: its words, labels, parameter overrides and next runs."""

    words: str
    labels: list[str]
    parameters: dict[str, Any]
    next_runs: list[pendulum.DateTime] = field(default_factory=list)


def clock_runs(schedule: Any, after: pendulum.DateTime, count: int = 5) -> list[ClockRuns]:
    """Each clock of a schedule with its next `count` runs in America/Sao_Paulo."""
    if schedule is None:
        return []
    found = []
    for clock in schedule.clocks:
        events = islice(clock.events(after=after), count)
        found.append(
            ClockRuns(
                words=clock_words(clock),
                labels=sorted(clock.labels or []),
                parameters=dict(clock.parameter_defaults or {}),
                next_runs=[pendulum.instance(e.start_time).in_tz(TIMEZONE) for e in events],
            )
        )
    return found


def runs_between(
    schedule: Any, start: pendulum.DateTime, end: pendulum.DateTime
) -> list[tuple[pendulum.DateTime, int]]:
    """Every run of a schedule in [start, end), with the index of the clock that makes it."""
    if schedule is None:
        return []
    runs = []
    for index, clock in enumerate(schedule.clocks):
        # Clocks yield runs strictly after `after`, to the second.
        for event in clock.events(after=start - dt.timedelta(seconds=1)):
            when = pendulum.instance(event.start_time)
            if when >= end:
                break
            if when >= start:
                runs.append((when.in_tz(TIMEZONE), index))
    return sorted(runs, key=lambda run: run[0])
