"""Verdicts from expectations and what happened, at a given time (pure: no server)."""

from __future__ import annotations

import datetime as dt

from pipelines.utils.health import FlowExpectation, TableExpectation
from pipelines.utils.health.assess import FlowSeen, assess, failing_streak
from pipelines.utils.health.notices import MAX_LINES, plan_notices, settle
from pipelines.utils.health.records import Run, record_run, recorded_runs

NOW = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def expect(name="emd: f", **kwargs) -> FlowExpectation:
    return FlowExpectation(name, "emd", ["ana"], [HOUR], **kwargs)


def ran(state: str, hours_ago: float) -> Run:
    at = NOW - dt.timedelta(hours=hours_ago)
    return Run(state, at, at + dt.timedelta(minutes=1))


def test_a_streak_counts_failed_finished_runs_from_the_newest():
    runs = [Run("Running", NOW), ran("Failed", 1), ran("TimedOut", 2), ran("Success", 3)]
    assert failing_streak(runs) == 2
    assert failing_streak([ran("Success", 1), ran("Failed", 2)]) == 0


def test_locally_only_streaks_and_tables_loaded_here_count():
    table = TableExpectation("ds.t", 2 * HOUR, "cadence + grace")
    never_loaded = TableExpectation("ds.never", 2 * HOUR, "cadence + grace")
    health = assess(
        [expect(tables=[table, never_loaded])],
        {},  # no run recorded: not a problem on a laptop
        {"ds.t": NOW - 3 * HOUR},
        NOW,
        where="local",
    )
    assert [p.kind for p in health[0].problems] == ["stale"]


def test_on_the_server_a_flow_that_stopped_running_is_missing():
    seen = {"emd: f": FlowSeen(runs=[ran("Success", 2.5)], schedule_active=True)}
    (health,) = assess([expect()], seen, {}, NOW, where="server")
    assert [p.text for p in health.problems] == [
        "Flow 'emd: f': its last run was 2 hours 30 minutes ago; it runs at least every 1 hour."
    ]
    seen["emd: f"].runs.insert(0, ran("Success", 0.5))
    assert assess([expect()], seen, {}, NOW, where="server")[0].problems == []


def test_problems_come_first_and_keys_stay_while_the_text_changes():
    seen = {"emd: a": FlowSeen(runs=[ran("Success", 0.1)], schedule_active=True)}
    found = assess([expect("emd: a"), expect("emd: b")], seen, {}, NOW, where="server")
    assert [h.expectation.name for h in found] == ["emd: b", "emd: a"]  # b is not registered
    later = assess([expect("emd: b")], {}, {}, NOW + HOUR, where="server")
    assert found[0].problems[0].key == later[0].problems[0].key


def test_one_message_per_org_capped_and_recoveries_only_for_what_was_alerted():
    seen = {}
    expectations = [expect(f"emd: f{i:02}") for i in range(MAX_LINES + 5)]
    problems = [p for h in assess(expectations, seen, {}, NOW, where="server") for p in h.problems]
    (notice,) = plan_notices(problems, {})
    text = notice.text().splitlines()
    assert len(text) == MAX_LINES + 1
    assert text[-1] == "... and 5 more: see `python manage.py status`."
    alerted: dict = {}
    settle(alerted, notice, NOW)
    assert plan_notices(problems, alerted) == []
    (recovered,) = plan_notices(problems[1:], alerted)
    assert recovered.lines == [f"Recovered: {problems[0].text}"]


def test_run_records_are_appended_and_read_newest_first(tmp_path):
    path = tmp_path / "runs.jsonl"
    record_run(path, "emd: f", "Failed", NOW - HOUR, NOW - HOUR)
    record_run(path, "emd: f", "Success", NOW, NOW)
    with path.open("a") as torn:
        torn.write('{"flow": "emd: f", "sta')  # a run killed mid-line
    assert [r.state for r in recorded_runs(path)["emd: f"]] == ["Success", "Failed"]
    assert recorded_runs(tmp_path / "none.jsonl") == {}
