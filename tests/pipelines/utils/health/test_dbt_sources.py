"""Freshness declared on the dbt sources under queries/: read the way dbt reads it, mapped to
the raw table a flow writes, ranked below the flow's own freshness= and above the cadence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from prefect import task

from pipelines.errors import HealthError
from pipelines.utils.health import expectation_of, expectation_problems
from pipelines.utils.health.dbt_sources import readable_freshness, source_freshness
from pipelines.utils.pipeline_flow import PipelineFlow
from pipelines.utils.schedules import interval_clock, make_schedule

SOURCES = """\
version: 2
sources:
  - name: rain_staging
    freshness: {error_after: {count: 2, period: day}, warn_after: {count: 1, period: day}}
    tables:
      - name: gauges
      - name: archive
        freshness: null
      - name: readings
        config:
          freshness: {warn_after: {count: 30, period: minute}}
  - name: other
    schema: weather_staging
    tables:
      - name: stations
        identifier: station_list
        freshness: {error_after: {count: 6, period: hour}}
      - name: undeclared
"""


@task
def dump(dataset_id: str, table_id: str) -> None:
    """Writes the table it is given."""


def queries_with(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "queries" / "models" / "rain"
    folder.mkdir(parents=True)
    (folder / "schema.yml").write_text(text)
    return tmp_path / "queries"


def test_each_source_table_gets_its_own_or_its_sources_freshness(tmp_path):
    found = source_freshness(queries_with(tmp_path, SOURCES))
    where = "queries/models/rain/schema.yml"
    assert {name: (f.freshness, f.where) for name, f in found.items()} == {
        "rain.gauges": (dt.timedelta(days=2), where),  # error_after, not warn_after
        "rain.archive": (None, where),  # freshness: null turns it off
        "rain.readings": (dt.timedelta(minutes=30), where),  # under config:, warn only
        "weather.station_list": (dt.timedelta(hours=6), where),  # schema and identifier
    }


def hourly_flow(*tables: str, **options) -> PipelineFlow:
    schedule = make_schedule(interval_clock(dt.timedelta(hours=1)))
    with PipelineFlow("emd: rain", org="emd", schedule=schedule, **options) as flow:
        for table in tables:
            dump(*table.split("."))
    return flow


def test_the_flows_freshness_comes_first_then_dbts_then_the_cadence(tmp_path):
    sources = source_freshness(queries_with(tmp_path, SOURCES))
    flow = hourly_flow(
        "rain.gauges", "rain.archive", "rain.plain", "weather.station_list",
        freshness={"weather.station_list": dt.timedelta(days=3)},
    )  # fmt: skip
    found = [(t.table, t.freshness, t.source) for t in expectation_of(flow, sources).tables]
    assert found == [
        ("rain.gauges", dt.timedelta(days=2), "dbt, queries/models/rain/schema.yml"),
        ("rain.plain", dt.timedelta(hours=2), "cadence + grace"),
        ("weather.station_list", dt.timedelta(days=3), "the flow's freshness="),
    ]  # rain.archive: dbt says freshness: null, so it is never stale
    assert expectation_problems(flow, sources) == [
        "freshness of weather.station_list is set twice, by the flow's freshness= and in "
        "queries/models/rain/schema.yml: keep one"
    ]


def test_a_dbt_freshness_shorter_than_the_cadence_is_a_problem_naming_the_file(tmp_path):
    sources = source_freshness(queries_with(tmp_path, SOURCES))
    flow = hourly_flow("rain.readings")
    assert expectation_problems(flow, sources) == [
        "freshness of rain.readings (30 minutes, from dbt, queries/models/rain/schema.yml) is "
        "shorter than the time between the runs that write it (1 hour): it would be stale "
        "between runs"
    ]


@pytest.mark.parametrize(
    ("freshness", "message"),
    [
        ("{error_after: {count: 2, period: week}}", "freshness period 'week' is not one of "
         "minute, hour, day."),
        ("{error_after: {count: 0, period: day}}", "freshness count 0 is not a positive whole "
         "number."),
        ("{error_after: {count: true, period: day}}", "freshness count True is not a positive "
         "whole number."),
        ("{filter: x}", "freshness {'filter': 'x'} has no error_after; write freshness: "
         "{error_after: {count: 2, period: day}} (or freshness: null)."),
    ],
)  # fmt: skip
def test_a_freshness_dbt_would_not_take_is_one_line_naming_the_file_and_table(
    tmp_path, freshness, message
):
    text = "sources:\n  - name: rain_staging\n    tables:\n      - name: gauges\n"
    text += f"        freshness: {freshness}\n"
    queries = queries_with(tmp_path, text)
    with pytest.raises(HealthError) as raised:
        source_freshness(queries)
    assert str(raised.value) == (
        f"queries/models/rain/schema.yml: source rain_staging.gauges: {message}"
    )
    assert readable_freshness(queries) == ({}, [str(raised.value)])


def test_yaml_that_does_not_parse_names_its_file(tmp_path):
    with pytest.raises(HealthError, match=r"^queries/models/rain/schema.yml: not valid YAML"):
        source_freshness(queries_with(tmp_path, "sources: [\n"))


def test_no_queries_folder_declares_nothing(tmp_path):
    assert source_freshness(tmp_path / "queries") == {}
