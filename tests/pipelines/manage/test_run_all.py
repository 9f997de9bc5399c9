"""manage.py run --all / --select: every chosen flow in lineage order, skips named, stops at
the first failure."""

from __future__ import annotations

import re
from pathlib import Path

import prefect
import pytest
from click.testing import CliRunner

from pipelines.errors import CommandError, SettingsError
from pipelines.manage.cli import cli
from pipelines.manage.lineage import Lineage
from pipelines.manage.run_all import plan, run_all, select
from pipelines.settings import load_settings
from pipelines.utils.pipeline_flow import PipelineFlow
from tests.conftest import REPO_ROOT

SERVER = "PREFECT__SERVER__HOST"


@pytest.fixture
def empty_data(monkeypatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(SERVER, raising=False)
    return tmp_path


def manage(*args: str):
    return CliRunner().invoke(cli, ["--repo-root", str(REPO_ROOT), *args])


NO_SELECTION = (
    "dbt_selection would refuse its arguments: Give select (a dbt selection) or dataset_id and "
    "table_id (the model models/<dataset_id>/<table_id>.sql), not both and not neither (run it "
    "alone with --param)"
)


def test_run_all_fills_an_empty_warehouse_in_order_and_names_each_skip(empty_data: Path):
    result = manage("run", "--all")

    assert result.exit_code == 0, result.output
    lines = [re.sub(r"\(\d+\.\d s\)", "(N s)", line) for line in result.output.splitlines()]
    assert lines[0] == (
        "Order: 1. admin: materialize, 2. admin: backfill, 3. admin: housekeeping, "
        "4. admin: watchdog, 5. emd: materialize, 6. emd: backfill, 7. emd: template_pipeline, "
        "8. emd: test_flow"
    )
    server = f"needs {SERVER} (Prefect Server API host, e.g. "
    assert lines[1:] == [
        f"[1/8] flow admin: materialize: skipped: {NO_SELECTION}",
        "[2/8] flow admin: backfill: skipped: no default for end, flow_name, start (run it alone "
        "with --param)",
        f"[3/8] flow admin: housekeeping: skipped: {server}"
        "http://prefect-apollo.prefect.svc.cluster.local)",
        f"[4/8] flow admin: watchdog: skipped: {server}"
        "http://prefect-apollo.prefect.svc.cluster.local)",
        f"[5/8] flow emd: materialize: skipped: {NO_SELECTION}",
        "[6/8] flow emd: backfill: skipped: no default for end, flow_name, start (run it alone "
        "with --param)",
        "[7/8] flow emd: template_pipeline: ran (N s)",
        "[8/8] flow emd: test_flow: ran (N s)",
        "Done: ran 2, skipped 6, failed 0.",
    ]
    query = manage("query", "select count(*) as days from template_pipeline.rain_per_station_day")
    assert query.exit_code == 0, query.output
    assert int(query.output.split()[-1]) > 0


def test_select_upstream_of_the_model_runs_only_the_flow_that_fills_it(empty_data: Path):
    result = manage("run", "--select", "+template_pipeline.rain_per_station_day")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Order: 1. emd: template_pipeline"
    assert result.output.splitlines()[-1] == "Done: ran 1, skipped 0, failed 0."


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "Give a flow (DOTTED.PATH.flow), or --all, or --select TABLE+."),
        (["--all", "pipelines.emd.test_flow.flows.flow"], "drop FLOW_PATH."),
        (["--all", "--param", "a=1"], "drop --param."),
        (["--all", "--select", "x"], "Give --all or --select, not both."),
    ],
)
def test_run_refuses_mixed_or_missing_arguments(args, message):
    result = manage("run", *args)

    assert result.exit_code == 2
    assert message in result.output


def test_an_unknown_selection_fails_before_anything_runs(empty_data: Path):
    result = manage("run", "--select", "template_pipeline.nope+")

    assert result.exit_code == 1
    assert "'template_pipeline.nope' is no table, model or flow in the lineage" in result.output
    assert not (empty_data / "warehouse.duckdb").exists()


@prefect.task
def boom() -> None:
    raise ValueError("the source is down")


@prefect.task
def fine() -> None:
    pass


def test_the_first_failure_stops_the_rest_and_the_summary_names_it(empty_data: Path):
    with prefect.Flow("first") as first:
        boom()
    with prefect.Flow("second") as second:
        fine()
    printed: list[str] = []

    with pytest.raises(CommandError) as raised:
        run_all([("m", first), ("m", second)], [], load_settings(), printed.append, print)

    assert (
        str(raised.value) == "Stopped at the first failure: ran 0, skipped 0, failed 1, not run 1."
    )
    assert printed[1].startswith("[1/2] flow first: failed: Some reference tasks failed. boom: ")
    assert "the source is down" in printed[1]
    assert len(printed) == 2  # the second flow never started


def test_a_flow_that_needs_a_setting_is_skipped_and_a_wrong_name_refused(empty_data: Path):
    with PipelineFlow("needs server", org="emd", needs=(SERVER,)) as flow:
        fine()
    printed: list[str] = []

    steps = run_all([("m", flow)], [], load_settings(), printed.append, print)

    assert [s.outcome for s in steps] == ["skipped"]
    assert printed[-1] == "Done: ran 0, skipped 1, failed 0."
    with pytest.raises(SettingsError, match=r"needs=\['PREFECT_SERVER_HOST'\] names no setting"):
        PipelineFlow("typo", org="emd", needs=("PREFECT_SERVER_HOST",))


def test_models_no_flow_builds_run_after_the_flows_and_selection_brings_writers():
    graph = Lineage()
    graph.add("sales: orders", "flow", "m")
    graph.add("sales.orders", "table")
    graph.add("sales.daily", "model", "queries/models/sales/daily.sql")
    graph.add("finance: mail", "flow", "m")
    graph.link("sales: orders", "sales.orders", "writes")
    graph.link("sales.orders", "sales.daily", "source of")
    graph.link("sales.daily", "finance: mail", "read by")

    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

    flows = [("m", Named("finance: mail")), ("m", Named("sales: orders"))]
    ordered, models = plan(graph, flows, None)
    assert [f.name for _, f in ordered] == ["sales: orders", "finance: mail"]
    assert models == ["sales.daily"]
    assert select(graph, ["sales.orders+"]) == {"sales: orders", "finance: mail"}
    assert select(graph, ["sales.daily"]) == set()  # no flow materializes it
    assert select(graph, ["+sales.daily"]) == {"sales: orders"}


@prefect.task
def write(table_id: str) -> None:
    prefect.context.get("written", []).append(table_id)


def test_a_flow_runs_once_per_clock_with_the_clocks_parameters(empty_data: Path):
    from datetime import timedelta

    from pipelines.utils.schedules import make_schedule, staggered_clocks

    tables = [{"table_id": "a"}, {"table_id": "b"}, {"table_id": "a"}]  # the third: a again
    schedule = make_schedule(*staggered_clocks(timedelta(hours=1), tables))
    with PipelineFlow("emd: per table", org="emd", schedule=schedule) as flow:
        write(prefect.Parameter("table_id"))  # no default: only the clocks give it
    printed: list[str] = []
    written: list[str] = []

    with prefect.context(written=written):
        steps = run_all([("m", flow)], [], load_settings(), printed.append, print)

    assert printed[0] == "Order: 1. emd: per table (clock 1), 2. emd: per table (clock 2)"
    assert [re.sub(r"\d+\.\d s", "N s", line) for line in printed[1:]] == [
        "[1/2] flow emd: per table (clock 1): ran (N s)",
        "[2/2] flow emd: per table (clock 2): ran (N s)",
        "Done: ran 2, skipped 0, failed 0.",
    ]
    assert written == ["a", "b"]
    assert [s.parameters for s in steps] == [{"table_id": "a"}, {"table_id": "b"}]


def test_a_dump_whose_connection_setting_is_unset_is_skipped_naming_it(empty_data: Path):
    from datetime import timedelta

    from pipelines.utils.dump_db import create_dump_db_flow
    from pipelines.utils.schedules import interval_clock, make_schedule

    clock = interval_clock(
        timedelta(days=1),
        parameter_defaults={
            "connection": "city_pg", "table": "public.schools",
            "dataset_id": "educacao", "table_id": "escolas",
        },
    )  # fmt: skip
    dump = create_dump_db_flow("emd: schools", org="emd", schedule=make_schedule(clock))
    with prefect.Flow("after") as after:
        fine()
    printed: list[str] = []

    steps = run_all([("m", dump), ("m", after)], [], load_settings(), printed.append, print)

    assert [s.outcome for s in steps] == ["skipped", "ran"]  # the next flow still runs
    assert printed[1].startswith(
        "[1/2] flow emd: schools: skipped: Missing setting PIPELINES_DB_CITY_PG: the URL of "
        "database connection 'city_pg'"
    )
    assert printed[-1] == "Done: ran 1, skipped 1, failed 0."


@prefect.task
def needs_a_secret() -> None:
    from pipelines.utils.secrets import get_secret

    get_secret("city/api")


def test_a_flow_whose_local_secret_is_unset_is_skipped_naming_the_setting(empty_data: Path):
    with prefect.Flow("emd: api") as flow:
        needs_a_secret()
    printed: list[str] = []

    steps = run_all([("m", flow)], [], load_settings(), printed.append, print)

    assert [s.outcome for s in steps] == ["skipped"]
    assert printed[1] == (
        "[1/1] flow emd: api: skipped: No secret 'city/api': set PIPELINES_SECRET_CITY_API in "
        ".env (a JSON object of keys, or one value), or set PIPELINES_SECRETS_BACKEND=vault."
    )


def test_a_missing_setting_keeps_its_name_through_pickling():
    import pickle

    from pipelines.errors import MissingLocalSecretError, MissingSettingError

    for error in (
        MissingSettingError("Missing setting X.", "X"),
        MissingLocalSecretError("No secret.", "PIPELINES_SECRET_Y"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), str(copy), copy.setting) == (type(error), str(error), error.setting)
    with pytest.raises(MissingSettingError) as raised:
        load_settings({}).require("PIPELINES_BIGQUERY_PROJECT")
    assert raised.value.setting == "PIPELINES_BIGQUERY_PROJECT"


def test_a_selection_runs_only_the_clocks_that_write_what_it_chose(empty_data: Path):
    from datetime import timedelta

    from pipelines.manage.run_all import runs_of
    from pipelines.utils.schedules import make_schedule, staggered_clocks

    @prefect.task
    def dump(dataset_id: str, table_id: str) -> None:
        prefect.context.get("written", []).append(table_id)

    tables = [{"table_id": t} for t in ("a", "b", "c")]
    schedule = make_schedule(*staggered_clocks(timedelta(hours=1), tables))
    with PipelineFlow("emd: dumps", org="emd", schedule=schedule) as flow:
        dump("ds", prefect.Parameter("table_id"))
    assert [clock for clock, _ in runs_of(flow, {"ds.b"})] == ["clock 2"]
    assert [clock for clock, _ in runs_of(flow, {"other.t"})] == ["clock 1", "clock 2", "clock 3"]
    printed: list[str] = []
    written: list[str] = []

    with prefect.context(written=written):
        run_all([("m", flow)], [], load_settings(), printed.append, print, touching={"ds.c"})

    assert printed[0] == "Order: 1. emd: dumps"  # one run: no clock to name
    assert written == ["c"]


def test_a_missing_setting_beside_a_real_failure_is_a_failure(empty_data: Path):
    with prefect.Flow("emd: both") as flow:
        needs_a_secret()
        boom()
    printed: list[str] = []

    with pytest.raises(CommandError):
        run_all([("m", flow)], [], load_settings(), printed.append, print)

    assert printed[1].startswith("[1/1] flow emd: both: failed: ")
    assert "the source is down" in printed[1]


def test_a_new_project_with_its_model_runs_clean_under_run_all_and_its_own_test(
    repo_copy, tmp_path
):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINES_")}
    env["PIPELINES_DATA_DIR"] = str(tmp_path / "data")

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=repo_copy, env=env,
                              capture_output=True, text=True, timeout=600)  # fmt: skip

    added = manage("add-project", "bike_counts", "--with-model", "--owner", "ana")
    assert added.returncode == 0, added.stderr
    ran = manage("run", "--all")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert (
        "model bike_counts.bike_counts: skipped: its source bike_counts.bike_counts has no data "
        "here: no flow has loaded it"
    ) in ran.stdout
    assert "flow emd: bike_counts: ran" in ran.stdout
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/pipelines/emd/bike_counts"],
        cwd=repo_copy, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout[-3000:]
