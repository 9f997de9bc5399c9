"""Expectations read from the code: cadences from clocks, freshness per table, and the
options PipelineFlow takes, refused with one clear line when wrong."""

from __future__ import annotations

import datetime as dt

import pytest
from prefect import Parameter, task

from pipelines.errors import HealthError
from pipelines.utils.health import FlowExpectation, expectation_of, expectation_problems
from pipelines.utils.health.dbt_sources import source_freshness
from pipelines.utils.health.expectations import cadence_of, words
from pipelines.utils.pipeline_flow import PipelineFlow
from pipelines.utils.schedules import cron_clock, interval_clock, make_schedule, staggered_clocks


@task
def dump(dataset_id: str, table_id: str) -> None:
    """Writes the table it is given."""


def test_a_clocks_cadence_is_its_longest_gap():
    assert cadence_of(interval_clock(dt.timedelta(minutes=15))) == dt.timedelta(minutes=15)
    assert cadence_of(cron_clock("0 6 * * *")) == dt.timedelta(days=1)
    # Monday to Friday: the weekend is the longest wait.
    assert cadence_of(cron_clock("0 6 * * 1-5")) == dt.timedelta(days=3)


@pytest.mark.parametrize(
    ("span", "said"),
    [
        (dt.timedelta(seconds=20), "under a minute"),
        (dt.timedelta(minutes=75), "1 hour 15 minutes"),
        (dt.timedelta(hours=25), "25 hours"),
        (dt.timedelta(days=2, hours=3), "2 days 3 hours"),
        (dt.timedelta(days=12, hours=3), "12 days"),
    ],
)
def test_spans_in_words(span, said):
    assert words(span) == said


def test_staggered_clocks_give_each_table_its_own_cadence_plus_the_grace():
    clocks = [
        *staggered_clocks(dt.timedelta(hours=1), [{"table_id": "a"}, {"table_id": "b"}]),
        interval_clock(dt.timedelta(days=1), parameter_defaults={"table_id": "c"}),
    ]
    with PipelineFlow("emd: many", org="emd", schedule=make_schedule(*clocks)) as flow:
        dump("ds", Parameter("table_id", default="manual_only"))
    found = {t.table: t.freshness for t in expectation_of(flow).tables}
    assert found == {
        "ds.a": dt.timedelta(hours=2),
        "ds.b": dt.timedelta(hours=2),
        "ds.c": dt.timedelta(hours=25),
    }  # ds.manual_only: only a run by hand writes it, so nothing is promised


def test_freshness_given_on_the_flow_wins_and_survives_the_json_round_trip():
    schedule = make_schedule(interval_clock(dt.timedelta(hours=1)))
    with PipelineFlow(
        "emd: own",
        org="emd",
        code_owners=["ana"],
        schedule=schedule,
        freshness={"ds.t": dt.timedelta(days=2)},
        failing_streak=5,
    ) as flow:
        dump("ds", "t")
    expectation = expectation_of(flow)
    assert [(t.table, t.freshness, t.source) for t in expectation.tables] == [
        ("ds.t", dt.timedelta(days=2), "the flow's freshness=")
    ]
    assert expectation.failing_streak == 5 and expectation.cadences == [dt.timedelta(hours=1)]
    assert FlowExpectation.from_json(expectation.to_json()) == expectation


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"freshness": 2}, "freshness=2 is not a positive timedelta"),
        ({"freshness": dt.timedelta(0)}, "is not a positive timedelta"),
        ({"freshness": {"t": dt.timedelta(hours=1)}}, "freshness key 't' is not"),
        ({"failing_streak": 0}, "failing_streak=0 must be 1 or more"),
        ({"failing_streak": True}, "failing_streak=True is not a number"),
    ],
)
def test_wrong_options_are_refused_when_the_flow_is_built(options, message):
    with pytest.raises(HealthError, match=message) as raised:
        PipelineFlow("emd: wrong", org="emd", **options)
    assert str(raised.value).startswith("flow 'emd: wrong': ")


def test_check_names_a_freshness_for_a_table_not_written_and_one_no_schedule_can_meet():
    schedule = make_schedule(interval_clock(dt.timedelta(days=1)))
    freshness = {"ds.t": dt.timedelta(hours=6), "ds.typo": dt.timedelta(days=2)}
    with PipelineFlow("emd: f", org="emd", schedule=schedule, freshness=freshness) as flow:
        dump("ds", "t")
    assert expectation_problems(flow) == [
        "freshness names ds.typo, which the flow does not write (it writes: ds.t)",
        "freshness of ds.t (6 hours, from the flow's freshness=) is shorter than the time "
        "between the runs that write it (1 day): it would be stale between runs",
    ]


def test_every_flow_of_the_repo_has_readable_expectations_and_no_problem():
    from pipelines.manage.inventory import load_repo_flows
    from pipelines.utils.inventory import Repo
    from tests.conftest import REPO_ROOT

    sources = source_freshness(REPO_ROOT / "queries")
    for _, flow in load_repo_flows(Repo(REPO_ROOT)).flows:
        expectation_of(flow, sources)
        assert expectation_problems(flow, sources) == [], flow.name
