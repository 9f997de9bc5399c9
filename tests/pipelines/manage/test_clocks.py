"""What a copied clock gets wrong, found by check before the server starts a run that fails."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest
from prefect.schedules import Schedule
from prefect.schedules.clocks import IntervalClock

from pipelines.manage.clocks import clock_problems
from pipelines.utils.dump_db import create_dump_db_flow

START = pendulum.datetime(2024, 1, 1, 6, tz="America/Sao_Paulo")
WHEN = "clock 1 (every day from 2024-01-01 06:00 (America/Sao_Paulo))"
TABLE = {"connection": "escolas", "dataset_id": "educacao", "table_id": "alunos",
         "table": "public.alunos"}  # fmt: skip


def _flow(**values):
    flow = create_dump_db_flow("sme: dump escolas", org="sme")
    clock = IntervalClock(pendulum.duration(days=1), start_date=START, parameter_defaults=values)
    flow.schedule = Schedule(clocks=[clock])
    return flow


@pytest.fixture
def models(tmp_path: Path) -> Path:
    folder = tmp_path / "queries" / "models"
    (folder / "educacao").mkdir(parents=True)
    (folder / "educacao" / "turmas.sql").write_text("select 1 as id")
    return folder


def test_a_clock_a_dump_flow_takes_has_no_problem(models):
    flow = _flow(**TABLE, partition_column="dia", since="current_year", mode="append")
    assert clock_problems(flow, models) == []


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"batch_size": "50000"}, " sets parameter 'batch_size' to '50000': the flow takes a "
         "whole number."),
        ({"incremental": "true"}, " sets parameter 'incremental' to 'true': the flow takes True "
         "or False."),
        ({"batch_size": True}, " sets parameter 'batch_size' to True: the flow takes a whole "
         "number."),
        ({"partition_column": "dia", "since": "2024-01-01", "mode": "overwrite"},
         ": dump_db_to_datalake would refuse its arguments: incremental/since dumps a part of "
         "the table; use mode='append'."),
        ({"partition_column": "dia", "since": "last_year"}, ": dump_db_to_datalake would refuse "
         "its arguments: since='last_year' is not a day: give a date (2024-01-31), "
         "current_year, current_month, current_day or an offset back from today (-7d, -2w, "
         "-3m, -1y)."),
        ({"format": "xlsx"}, ": dump_db_to_datalake would refuse its arguments: format='xlsx' "
         "must be one of parquet, csv."),
        ({"partition_column": "dia", "partition_by": "week"}, ": dump_db_to_datalake would "
         "refuse its arguments: partition_by='week' must be one of year, month, day: a folder "
         "per year (ano=), per month (ano=/mes=) or per day (ano=/mes=/data=)."),
        ({"materialize_after_dump": True}, " sets materialize_after_dump=True, but no model "
         "builds educacao.alunos (queries/models/educacao/alunos.sql does not exist): add that "
         "model, set dbt_select, or turn materialize_after_dump off."),
    ],
)  # fmt: skip
def test_a_copied_clock_is_refused_naming_the_clock_and_the_parameter(models, values, problem):
    assert clock_problems(_flow(**{**TABLE, **values}), models) == [f"{WHEN}{problem}"]


def test_materialize_after_dump_is_fine_with_a_model_or_a_selection(models):
    with_model = {**TABLE, "table_id": "turmas", "materialize_after_dump": True}
    assert clock_problems(_flow(**with_model), models) == []
    selected = {**TABLE, "materialize_after_dump": True, "dbt_select": "+turmas"}
    assert clock_problems(_flow(**selected), models) == []


def test_a_parameter_taking_several_kinds_takes_each_and_only_those():
    """dump_url's sheet is a tab's name or its position (its task says `str | int`)."""
    from pipelines.utils.dump_url import create_dump_url_flow

    def flow_with(sheet):
        flow = create_dump_url_flow("smfp: metas", org="smfp")
        values = {"url": "https://x.org/a.xlsx", "dataset_id": "d", "table_id": "t",
                  "sheet": sheet}  # fmt: skip
        flow.schedule = Schedule(clocks=[IntervalClock(
            pendulum.duration(days=1), start_date=START, parameter_defaults=values)])  # fmt: skip
        return clock_problems(flow)

    assert flow_with("METAS CONSOLIDADO") == flow_with(2) == []
    assert flow_with([2]) == [
        f"{WHEN} sets parameter 'sheet' to [2]: the flow takes a string or a whole number."
    ]


def test_without_an_annotation_the_default_shows_the_kind():
    from prefect import Parameter, task

    from pipelines.utils.pipeline_flow import PipelineFlow

    @task
    def repeat(times):
        return times

    clock = IntervalClock(pendulum.duration(days=1), start_date=START,
                          parameter_defaults={"times": "3"})  # fmt: skip
    with PipelineFlow("emd: repeat", org="emd", schedule=Schedule(clocks=[clock])) as flow:
        repeat(Parameter("times", default=2))
    assert clock_problems(flow) == [
        f"{WHEN} sets parameter 'times' to '3': the flow's default is 2, so it must be a whole "
        "number."
    ]
