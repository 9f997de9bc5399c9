"""run_local: runs now, leaves the flow as it was, checks parameters, reports a summary."""

from __future__ import annotations

import logging
import os

import pytest
from prefect import Flow, Parameter, task
from prefect.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor
from prefect.schedules import IntervalSchedule

from pipelines.settings import SettingsError, load_settings
from pipelines.utils.execution import FlowParameterError, make_executor, run_local


@task
def pid(value: str) -> tuple[str, int]:
    return value, os.getpid()


@task
def boom(value: str) -> None:
    raise RuntimeError(f"bad value {value}")


def build(schedule=None) -> Flow:
    with Flow("sample", schedule=schedule) as flow:
        required = Parameter("required")
        flow.add_task(Parameter("optional", default=3))
        pid(required)
    return flow


@pytest.fixture
def run_log():
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("prefect.run_local")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_runs_now_without_touching_the_flow_and_summarises(run_log):
    import pendulum

    schedule = IntervalSchedule(
        start_date=pendulum.now().add(days=1), interval=pendulum.duration(days=1)
    )
    flow = build(schedule)
    before = (flow.schedule, flow.executor, flow.run_config, set(flow.tasks), set(flow.edges))

    state = run_local(flow, {"required": "x"})

    assert state.is_successful()
    assert (
        flow.schedule,
        flow.executor,
        flow.run_config,
        set(flow.tasks),
        set(flow.edges),
    ) == before
    assert run_log[0] == "Running flow 'sample' with LocalExecutor (env: local)"
    assert run_log[1].startswith("Flow run Success in ") and run_log[1].endswith(": 3 Success")


def test_unknown_and_missing_parameters_fail_before_running_and_list_the_parameters():
    with pytest.raises(FlowParameterError) as error:
        run_local(build(), {"typo": 1})
    assert str(error.value) == (
        "Flow 'sample': unknown parameter(s): typo; missing required parameter(s): required.\n"
        "Its parameters are:\n"
        "  optional (default: 3)\n"
        "  required (required)"
    )


def test_a_failed_task_is_named_in_the_summary(run_log):
    with Flow("failing") as flow:
        boom(Parameter("value", default="v"))
    state = run_local(flow)
    assert state.is_failed()
    assert "  failed: boom: RuntimeError: bad value v" in run_log


def test_executor_comes_from_settings():
    assert isinstance(make_executor(load_settings({})), LocalExecutor)
    assert isinstance(
        make_executor(load_settings({"PIPELINES_EXECUTOR": "local_dask"})), LocalDaskExecutor
    )
    dask = make_executor(load_settings({"PIPELINES_DASK_ADDRESS": "tcp://127.0.0.1:1"}))
    assert isinstance(dask, DaskExecutor) and dask.address == "tcp://127.0.0.1:1"
    with pytest.raises(SettingsError, match="PIPELINES_EXECUTOR='cluster' .*is not one of"):
        make_executor(load_settings({"PIPELINES_EXECUTOR": "cluster"}))


def test_local_dask_runs_tasks_on_threads(monkeypatch, run_log):
    monkeypatch.setenv("PIPELINES_EXECUTOR", "local_dask")
    assert run_local(build(), {"required": "x"}).is_successful()
    assert run_log[0] == "Running flow 'sample' with LocalDaskExecutor (threads) (env: local)"


def test_dask_address_runs_tasks_on_a_real_distributed_cluster(monkeypatch, run_log):
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv("PIPELINES_DASK_ADDRESS", cluster.scheduler_address)
        flow = build()
        state = run_local(flow, {"required": "x"})
    assert state.is_successful()
    pid_task = flow.get_tasks(name="pid")[0]
    value, worker_pid = state.result[pid_task].result
    assert value == "x" and worker_pid != os.getpid()
    assert (
        run_log[0]
        == f"Running flow 'sample' with DaskExecutor on {cluster.scheduler_address} (env: local)"
    )


def test_failed_tasks_name_the_real_failure_before_those_it_stopped():
    # The run's task states come in no useful order (a set of tasks): the cause goes first.
    from prefect import Task
    from prefect.engine.state import Failed, TriggerFailed

    from pipelines.utils.execution import failed_tasks

    stopped, cause = Task(name="materialize"), Task(name="download")
    state = Failed(
        "Some reference tasks failed.",
        result={
            stopped: TriggerFailed(
                "Trigger was 'all_successful' but some of the upstream tasks failed."
            ),
            cause: Failed("boom", result=RuntimeError("404 Client Error: Not Found")),
        },
    )
    assert [name for name, _ in failed_tasks(state)] == ["download", "materialize"]
    assert failed_tasks(state)[0][1] == "RuntimeError: 404 Client Error: Not Found"
