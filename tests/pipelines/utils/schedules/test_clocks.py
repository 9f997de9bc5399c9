"""Clock helpers: aware starts, labels, parameter defaults, staggering."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from pipelines.utils.schedules import cron_clock, interval_clock, make_schedule, staggered_clocks


def test_interval_clock_reads_strings_in_sao_paulo_and_carries_labels_and_parameters():
    clock = interval_clock(
        dt.timedelta(hours=1), "2024-01-01 06:00", labels=["emd"], parameter_defaults={"a": 1}
    )
    assert clock.start_date.isoformat() == "2024-01-01T06:00:00-03:00"
    assert clock.labels == ["emd"]
    assert clock.parameter_defaults == {"a": 1}
    event = make_schedule(clock).next(1, return_events=True)[0]
    assert event.start_time.minute == 0
    assert event.labels == ["emd"] and event.parameter_defaults == {"a": 1}


def test_cron_clock_runs_at_local_time():
    clock = cron_clock("30 6 * * *", "2024-01-01 00:00")
    when = make_schedule(clock).next(1)[0]
    assert when.in_timezone("America/Sao_Paulo").hour == 6
    assert when.in_timezone("America/Sao_Paulo").minute == 30


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        interval_clock(dt.timedelta(hours=1), dt.datetime(2024, 1, 1))


def test_bad_cron_and_short_interval_are_refused():
    with pytest.raises(ValueError, match="not a valid five-field cron"):
        cron_clock("every day")
    with pytest.raises(ValueError, match="under one minute"):
        interval_clock(dt.timedelta(seconds=10))


def test_staggered_clocks_one_per_table_n_minutes_apart():
    clocks = staggered_clocks(
        dt.timedelta(days=1),
        [{"table_id": t} for t in ("a", "b", "c")],
        "2024-01-01 02:00",
        every=dt.timedelta(minutes=10),
        labels=["emd"],
    )
    assert [c.start_date.strftime("%H:%M") for c in clocks] == ["02:00", "02:10", "02:20"]
    assert [c.parameter_defaults["table_id"] for c in clocks] == ["a", "b", "c"]
    after = pendulum.datetime(2024, 1, 2, 1, 0, tz="America/Sao_Paulo")  # not "now": stable
    events = make_schedule(*clocks).next(3, after=after, return_events=True)
    assert [e.parameter_defaults["table_id"] for e in events] == ["a", "b", "c"]
