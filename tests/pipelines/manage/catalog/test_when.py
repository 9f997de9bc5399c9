"""Schedules in words and their runs, as the catalog shows them."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from pipelines.manage.catalog.when import clock_runs, cron_words, interval_words, runs_between
from pipelines.utils.schedules import cron_clock, make_schedule, staggered_clocks

NOW = pendulum.datetime(2026, 12, 2, 10, 34, tz="America/Sao_Paulo")


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 6 * * *", "at 06:00 every day"),
        ("*/15 * * * 1-5", "every 15 minutes, on Monday to Friday"),
        ("5 * * * *", "at minute 5 of every hour"),
        ("30 8 1 * *", "at 08:30, on day 1 of the month"),
        ("0 6,18 * * 0", "at minute 0 of hours 6, 18, on Sunday"),
        ("0 3 * 1-6 *", "at 03:00, in January to June"),
        ("0 */2 * * *", "at minute 0, every 2 hours"),
        ("* * * * *", "every minute"),
        ("0 6 * *", "cron '0 6 * *'"),
    ],
)
def test_cron_in_words(cron: str, words: str):
    assert cron_words(cron) == words


@pytest.mark.parametrize(
    ("interval", "words"),
    [
        (dt.timedelta(hours=1), "every hour"),
        (dt.timedelta(minutes=15), "every 15 minutes"),
        (dt.timedelta(days=2), "every 2 days"),
        (dt.timedelta(weeks=1), "every week"),
        (dt.timedelta(seconds=90), "every 90 seconds"),
    ],
)
def test_interval_in_words(interval: dt.timedelta, words: str):
    assert interval_words(interval) == words


def test_staggered_clocks_each_show_their_table_and_next_runs():
    clocks = staggered_clocks(
        dt.timedelta(days=1),
        [{"table_id": "escolas"}, {"table_id": "turmas"}],
        start="2024-01-01 06:00",
        labels=["emd"],
    )
    runs = clock_runs(make_schedule(*clocks), NOW)

    assert [c.words for c in runs] == [
        "every day from 2024-01-01 06:00 (America/Sao_Paulo)",
        "every day from 2024-01-01 06:05 (America/Sao_Paulo)",
    ]
    assert [c.parameters for c in runs] == [{"table_id": "escolas"}, {"table_id": "turmas"}]
    assert [c.labels for c in runs] == [["emd"], ["emd"]]
    assert [r.format("YYYY-MM-DD HH:mm") for r in runs[1].next_runs] == [
        f"2026-12-{day:02d} 06:05" for day in range(3, 8)
    ]
    assert all(r.timezone_name == "America/Sao_Paulo" for r in runs[0].next_runs)


def test_runs_between_is_half_open_and_names_the_clock():
    schedule = make_schedule(cron_clock("34 10 * * *"), cron_clock("0 * * * *"))
    runs = runs_between(schedule, NOW, NOW.add(hours=24))

    assert runs[0] == (NOW, 0)  # a run at the start is in; the one 24 h later is not
    assert len(runs) == 1 + 24
    assert {clock for _, clock in runs} == {0, 1}
    assert runs_between(None, NOW, NOW.add(hours=1)) == []
