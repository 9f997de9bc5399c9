"""Build Prefect 1 clocks with time zones, labels and parameter defaults."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pendulum
from prefect.schedules import Schedule
from prefect.schedules.clocks import Clock, CronClock, IntervalClock

from pipelines.constants import TIMEZONE

DEFAULT_START = "2024-01-01 00:00"


def _start(start: str | datetime) -> pendulum.DateTime:
    """Turn a start into an aware datetime; naive datetimes are refused."""
    if isinstance(start, datetime):
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(
                f"start={start!r} is a naive datetime: pass an aware datetime or a "
                f"'YYYY-MM-DD HH:MM' string, which is read in {TIMEZONE}."
            )
        return pendulum.instance(start)
    try:
        parsed = pendulum.parse(start, tz=TIMEZONE, strict=False)
    except (ValueError, pendulum.parsing.exceptions.ParserError) as error:
        raise ValueError(
            f"start={start!r} is not a date/time such as '2024-01-01 06:00'."
        ) from error
    assert isinstance(parsed, pendulum.DateTime)
    return parsed


def interval_clock(
    interval: timedelta,
    start: str | datetime = DEFAULT_START,
    *,
    labels: Iterable[str] = (),
    parameter_defaults: Mapping[str, Any] | None = None,
) -> IntervalClock:
    """An IntervalClock anchored in America/Sao_Paulo.

    Args:
        interval: Time between runs; at least one minute.
        start: First run: an aware datetime or a string read in America/Sao_Paulo.
        labels: Agent labels the runs of this clock carry.
        parameter_defaults: Parameters the runs of this clock receive.

    Returns:
        The clock.

    Raises:
        ValueError: The interval is under a minute or the start is naive.
    """
    if interval < timedelta(minutes=1):
        raise ValueError(
            f"interval={interval} is under one minute; Prefect 1 needs at least 1 min."
        )
    return IntervalClock(
        interval=interval,
        start_date=_start(start),
        labels=list(labels),
        parameter_defaults=dict(parameter_defaults or {}),
    )


def cron_clock(
    cron: str,
    start: str | datetime = DEFAULT_START,
    *,
    labels: Iterable[str] = (),
    parameter_defaults: Mapping[str, Any] | None = None,
) -> CronClock:
    """A CronClock whose cron fields are read in America/Sao_Paulo.

    Args:
        cron: A five-field cron string, such as "0 6 * * *".
        start: Start of the schedule: an aware datetime or a string read in America/Sao_Paulo.
        labels: Agent labels the runs of this clock carry.
        parameter_defaults: Parameters the runs of this clock receive.

    Returns:
        The clock.

    Raises:
        ValueError: The cron string is invalid or the start is naive.
    """
    try:
        return CronClock(
            cron=cron,
            start_date=_start(start),
            labels=list(labels),
            parameter_defaults=dict(parameter_defaults or {}),
        )
    except (ValueError, KeyError) as error:
        raise ValueError(f"cron={cron!r} is not a valid five-field cron string: {error}") from error


def staggered_clocks(
    interval: timedelta,
    parameter_defaults: Iterable[Mapping[str, Any]],
    start: str | datetime = DEFAULT_START,
    *,
    every: timedelta = timedelta(minutes=5),
    labels: Iterable[str] = (),
) -> list[IntervalClock]:
    """One clock per parameter set (one per table, say), each `every` after the previous.

    Args:
        interval: Time between runs of each clock.
        parameter_defaults: One parameter mapping per clock.
        start: Start of the first clock.
        every: Offset between consecutive clocks.
        labels: Agent labels for every clock.

    Returns:
        The clocks, in the order of parameter_defaults.
    """
    first = _start(start)
    return [
        interval_clock(
            interval, first + every * index, labels=labels, parameter_defaults=parameters
        )
        for index, parameters in enumerate(parameter_defaults)
    ]


def make_schedule(*clocks: Clock) -> Schedule:
    """A Schedule from one or more clocks."""
    if not clocks:
        raise ValueError("make_schedule needs at least one clock.")
    return Schedule(clocks=list(clocks))
