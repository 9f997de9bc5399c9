"""manage.py run, check and query: exit codes and messages, on the repo and on planted faults."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.manage.cli import cli
from tests.conftest import REPO_ROOT


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_run_succeeds_with_params_parsed_as_json_or_text():
    result = run("run", "pipelines.emd.test_flow.flows.flow", "--param", "param=val")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("Flow 'emd: test_flow' succeeded.\n")


def test_run_unknown_parameter_exits_non_zero_and_lists_the_parameters():
    result = run("run", "pipelines.emd.test_flow.flows.flow", "--param", "nope=1")
    assert result.exit_code == 1
    assert result.output == (
        "Error: Flow 'emd: test_flow': unknown parameter(s): nope.\n"
        "Its parameters are:\n"
        "  param (default: 'default')\n"
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("pipelines.emd.nothing.flows.flow", "Error: Cannot import 'pipelines.emd.nothing.flows'"),
        (
            "pipelines.emd.test_flow.flows.flw",
            "Error: 'pipelines.emd.test_flow.flows.flw' is not defined. "
            "Flows in pipelines.emd.test_flow.flows: pipelines.emd.test_flow.flows.flow.",
        ),
        ("tests.pipelines.manage.sample_flows.not_a_flow", "is a int, not a Flow"),
        (
            "pipelines.emd.test_flow.flows",
            "Error: 'pipelines.emd.test_flow.flows' is a module, not a flow: give "
            "pipelines.emd.test_flow.flows.flow.\n",
        ),
        (
            "pipelines.emd.test_flow.tasks",
            "Error: 'pipelines.emd.test_flow.tasks' is a module, not a flow: it defines no flow.",
        ),
        ("flow", "is not a dotted path to a flow"),
        (".pipelines.emd.test_flow.flows.flow", "is not a dotted path to a flow"),
        ("pipelines/emd/test_flow/flows.py", "is not a dotted path to a flow"),
    ],
)
def test_run_unknown_flow_path_fails_before_anything_runs(path, message):
    result = run("run", path)
    assert result.exit_code == 1
    assert message in result.output


def test_run_bad_param_syntax_is_a_usage_error():
    result = run("run", "pipelines.emd.test_flow.flows.flow", "--param", "novalue")
    assert result.exit_code == 2
    assert "expected KEY=VALUE, got 'novalue'" in result.output


def test_run_failure_exits_non_zero_naming_the_task_and_message():
    result = run(
        "run", "tests.pipelines.manage.sample_flows.failing", "--param", "reason=disk full"
    )
    assert result.exit_code == 1
    assert (
        "Error: Flow 'always fails' failed: Some reference tasks failed.\n"
        "  fail: RuntimeError: disk full"
    ) in (result.output)


def test_a_failed_run_names_the_task_that_failed_before_those_it_stopped():
    result = run("run", "tests.pipelines.manage.sample_flows.fails_upstream")
    assert result.exit_code == 1
    failed = result.output.split("Some reference tasks failed.\n")[1].splitlines()
    assert failed[0] == "  fail: RuntimeError: 404 Client Error: Not Found"
    assert len(failed) == 7 and all("TRIGGERFAIL" in line for line in failed[1:]), failed


def test_check_passes_on_the_repo():
    result = run("check")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"ok: \d+ flow\(s\) checked, no problems.\n", result.output)


def check_copy(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_fails_on_a_duplicate_flow_name(repo_copy: Path):
    constants = repo_copy / "pipelines/emd/template_pipeline/constants.py"
    constants.write_text(
        constants.read_text().replace('"emd: template_pipeline"', '"emd: test_flow"')
    )
    result = check_copy(repo_copy)
    assert result.returncode == 1
    assert (
        "problem: flow name 'emd: test_flow' is used 2 times "
        "(pipelines.emd.template_pipeline.flows, pipelines.emd.test_flow.flows); "
        "flow names must be unique across the repo"
    ) in result.stdout


def test_check_fails_on_a_project_missing_from_its_org_init(repo_copy: Path):
    init = repo_copy / "pipelines/emd/__init__.py"
    init.write_text(
        init.read_text().replace("import pipelines.emd.test_flow.flows  # noqa: F401\n", "")
    )
    result = check_copy(repo_copy)
    assert result.returncode == 1
    assert (
        "problem: pipelines/emd/__init__.py does not import the project 'test_flow': "
        "add `import pipelines.emd.test_flow.flows  # noqa: F401`"
    ) in result.stdout
    assert re.search(r"Error: 1 problem\(s\) in \d+ flow\(s\).", result.stderr)


def test_check_imports_org_level_flows_and_their_names_and_orgs(repo_copy: Path):
    (repo_copy / "pipelines/emd/flows.py").write_text(
        '"""Flows shared by the projects of the emd org."""\n\n'
        "from pipelines.utils.pipeline_flow import PipelineFlow\n\n"
        'shared = PipelineFlow("emd: shared", org="emd")\n'
        'misnamed = PipelineFlow("sme: shared", org="emd")\n'
        'misfiled = PipelineFlow("emd: elsewhere", org="sme")\n'
    )
    result = check_copy(repo_copy)
    assert result.returncode == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    assert problems == [
        "problem: pipelines.emd.flows: flow 'sme: shared': its name must start with 'emd: ', "
        "the org whose folder holds it (or DISPLAY_NAME in pipelines/emd/constants.py)",
        "problem: pipelines.emd.flows: flow 'emd: elsewhere': says org='sme' but lives in "
        "pipelines/emd/; alerts and agent labels would go to 'sme': pass org='emd'",
    ]


def test_an_org_display_name_starts_its_flow_names(repo_copy: Path):
    """A ported department keeps its flows' names ("EMD: ..."), so the server keeps their
    history; labels, alerts and the catalog still use the folder's org."""
    constants = repo_copy / "pipelines/emd/constants.py"
    constants.write_text(constants.read_text() + 'DISPLAY_NAME = "EMD"\n')
    (repo_copy / "pipelines/emd/flows.py").write_text(
        '"""Flows shared by the projects of the emd org."""\n\n'
        "from pipelines.utils.pipeline_flow import PipelineFlow\n\n"
        'kept = PipelineFlow("EMD: Meteorologia - Meteorologia INMET", org="emd")\n'
    )
    result = check_copy(repo_copy)
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    # Every flow still named "emd: ..." is now one problem; the ported name is none.
    assert problems and all(
        "its name must start with 'EMD: ', DISPLAY_NAME in pipelines/emd/constants.py" in line
        for line in problems
    ), problems
    assert not any("Meteorologia INMET" in line for line in problems)

    constants.write_text(constants.read_text().replace('"EMD"', '"EMD: "'))
    result = check_copy(repo_copy)
    assert (
        f"problem: {constants}: DISPLAY_NAME must be a plain string without ':' (e.g. "
        'DISPLAY_NAME = "COR"), the start of every flow name of the org.'
    ) in result.stdout


def test_check_refuses_a_parameter_default_that_names_this_checkout(repo_copy: Path):
    flows = repo_copy / "pipelines/emd/template_pipeline/flows.py"
    flows.write_text(
        flows.read_text().replace(
            'Parameter("source", default=SOURCE)',
            'Parameter("source", default=str(__import__("pathlib").Path(__file__).parent))',
        )
    )
    result = check_copy(repo_copy)
    assert result.returncode == 1
    assert (
        "problem: pipelines.emd.template_pipeline.flows: flow 'emd: template_pipeline': "
        "parameter 'source' defaults to a path inside this checkout"
    ) in result.stdout


def test_check_reports_a_broken_project_and_still_checks_the_others(repo_copy: Path):
    (repo_copy / "pipelines/emd/test_flow/tasks.py").write_text("def broken(:\n")
    result = check_copy(repo_copy)
    assert result.returncode == 1
    assert "problem: pipelines.emd.test_flow.flows: import failed: SyntaxError" in result.stdout


def test_query_prints_rows_from_the_local_warehouse(monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    assert run("run", "pipelines.emd.template_pipeline.flows.flow").exit_code == 0
    result = run("query", "SELECT count(*) AS n FROM template_pipeline.rain_per_hour")
    assert result.exit_code == 0
    assert result.output.split() == ["n", "192"]
    bad = run("query", "SELECT * FROM nowhere")
    assert bad.exit_code == 1 and bad.output.startswith("Error: Query failed: Catalog Error")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", ""], "Error: Nothing to run: give one SQL statement"),
        (["query", "  -- only a comment\n"], "Error: Nothing to run"),
        (
            ["query", "COPY (SELECT 1) TO '/tmp/pipelines-should-not-exist.csv'"],
            "Error: query is read-only and this is a COPY statement; it runs SELECT or EXPLAIN "
            "only (on DuckDB). Write data with a flow.",
        ),
        (["query", "INSTALL httpfs"], "this is a LOAD statement"),
        (["query", "SELECT 1; SELECT 2"], "this text holds 2. Run them one by one."),
        (["query", "SELECT 1", "--limit", "-1"], "Invalid value for '--limit': -1 is not in"),
    ],
)
def test_query_refuses_what_is_not_one_read_only_statement(args, message):
    result = run(*args)
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert not Path("/tmp/pipelines-should-not-exist.csv").exists()


def test_query_in_prod_runs_select_only(monkeypatch):
    from pipelines.utils.warehouse.readonly import NotReadOnlyError, check_read_only

    check_read_only("WITH a AS (SELECT 1) SELECT * FROM a", "bigquery")
    check_read_only("-- note\nSELECT * FROM `p.d.t`;", "bigquery")
    for sql in ("DELETE FROM d.t WHERE true", "SELECT 1; DROP TABLE d.t", "MERGE d.t USING x"):
        with pytest.raises(NotReadOnlyError):
            check_read_only(sql, "bigquery")


def test_a_prod_run_names_every_missing_setting_before_any_task(monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINES_ENV", "prod")
    for name in ("PIPELINES_DATALAKE_BUCKET", "PIPELINES_BIGQUERY_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    result = run("run", "pipelines.emd.template_pipeline.flows.flow")
    assert result.exit_code == 1
    assert result.output.splitlines()[:3] == [
        "Error: PIPELINES_ENV=prod needs these settings (environment or .env):",
        "  PIPELINES_DATALAKE_BUCKET: GCS bucket of the datalake (dev/prod).",
        "  PIPELINES_BIGQUERY_PROJECT: GCP project of the BigQuery warehouse.",
    ]
    assert "Running flow" not in result.output
    assert not any(tmp_path.iterdir())


@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` and `dask worker` as separate processes on loopback."""
    dask = shutil.which("dask", path=os.path.dirname(sys.executable))
    assert dask, "the dask CLI is installed with dask[distributed]"
    scheduler_file = tmp_path / "scheduler.json"
    worker_log = (tmp_path / "worker.log").open("w")
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = subprocess.Popen(
        [dask, "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
         "--no-dashboard", "--host", "127.0.0.1"],
        stdout=worker_log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[3],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if scheduler_file.exists() and "Registered to" in (tmp_path / "worker.log").read_text():
                break
            time.sleep(0.2)
        else:
            pytest.fail("the Dask worker did not register within 60 s")
        yield json.loads(scheduler_file.read_text())["address"], tmp_path / "worker.log"
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)
        worker_log.close()


def test_manage_run_on_a_separate_dask_scheduler_and_worker(dask_cluster):
    address, worker_log = dask_cluster
    repo = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PIPELINES_DASK_ADDRESS": address}
    result = subprocess.run(
        [sys.executable, "manage.py", "run", "pipelines.emd.test_flow.flows.flow",
         "--param", "param=val"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"with DaskExecutor on {address}" in result.stdout
    # The task ran in the worker process: its log lines are in the worker's output.
    assert "param = val" in worker_log.read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["run", "pipelines.emd.test_flow.flows.flow"],
        ["dev-flows", "list"],
        ["register", "--all"],
        ["add-project", "qa_counts"],
        ["query", "SELECT 1"],
    ],
)
def test_a_malformed_env_file_is_a_message_from_every_command(repo_copy: Path, args):
    (repo_copy / ".env").write_text('PIPELINES_ENV="local\n')
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=repo_copy, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert '.env:1: PIPELINES_ENV: the value opens a " quote that never closes' in result.stderr


def test_check_runs_dbt_parse_and_names_the_broken_models_file(repo_copy: Path):
    assert check_copy(repo_copy).returncode == 0  # a clean parse, remembered
    memo = repo_copy / "data" / "dbt" / "parsed-cleanly"
    assert memo.is_file()
    model = repo_copy / "queries/models/template_pipeline/broken.sql"
    model.write_text("select * from {{ ref('no_such_model') }}\n")
    for _ in range(2):  # a problem is never remembered: every check reports it
        result = check_copy(repo_copy)
        assert result.returncode == 1
        problems = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
        assert problems and all(p.startswith("problem: queries/ (dbt parse): ") for p in problems)
        assert "broken" in result.stdout and "no_such_model" in result.stdout
    model.unlink()
    assert check_copy(repo_copy).returncode == 0


def test_check_serializes_flows_exactly_as_prefect_does():
    from pipelines.manage.inventory import load_repo_flows
    from pipelines.utils.deploy.serializer import Serializer
    from pipelines.utils.inventory import Repo

    serialize = Serializer()
    flows = load_repo_flows(Repo(REPO_ROOT)).flows
    assert flows
    for _, flow in flows:
        assert serialize(flow) == flow.serialize()


def test_check_names_values_frozen_at_import_time(repo_copy: Path):
    flows = repo_copy / "pipelines/emd/test_flow/flows.py"
    text = flows.read_text()
    text = text.replace("from prefect import", "import datetime\nfrom prefect import", 1)
    text = text.replace(
        'Parameter("param"',
        'Parameter("day", default=datetime.date.today().isoformat())\n    Parameter("param"',
        1,
    )
    flows.write_text(text)
    (repo_copy / "pipelines/emd/test_flow/utils.py").write_text(
        '"""Helpers."""\n\nimport pendulum\n\nSTARTED = pendulum.now()\n\n\n'
        "def today():\n    return pendulum.today()  # inside a function: runs at run time\n"
    )
    result = check_copy(repo_copy)
    assert result.returncode == 1, result.stdout
    problems = [
        line for line in result.stdout.splitlines() if "when the module is imported" in line
    ]
    line = next(i for i, t in enumerate(flows.read_text().splitlines(), 1) if "date.today" in t)
    assert problems[0] == (
        f"problem: pipelines/emd/test_flow/flows.py:{line}: the default of Parameter 'day' comes "
        "from datetime.date.today() when the module is imported, so it keeps that value in every "
        "run of 'emd: test_flow': compute it inside a task"
    )
    assert problems[1].startswith(
        "problem: pipelines/emd/test_flow/utils.py:5: a value comes from pendulum.now()"
    )
    assert len(problems) == 2


@pytest.fixture
def small_warehouse(monkeypatch, tmp_path):
    """A local warehouse with a table and a staging view over a Parquet file of the datalake."""
    import duckdb

    monkeypatch.setenv("PIPELINES_ENV", "local")
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    part = tmp_path / "datalake" / "s" / "t" / "part.parquet"
    part.parent.mkdir(parents=True)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        connection.execute(f"COPY (SELECT 1 AS a UNION ALL SELECT 2) TO '{part}' (FORMAT parquet)")
        connection.execute("CREATE SCHEMA s; CREATE TABLE s.t AS SELECT 1 AS a")
        connection.execute("CREATE SCHEMA s_staging")
        connection.execute(f"CREATE VIEW s_staging.t AS SELECT * FROM read_parquet('{part}')")
    (tmp_path / "outside.txt").write_text("not the warehouse's")
    return tmp_path


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_blob('/etc/hostname')",
        "SELECT * FROM glob('/root/*')",
        "SELECT * FROM glob('{data}/*')",
        "SELECT * FROM read_text('{data}/outside.txt')",
        "SELECT * FROM read_text('{data}/datalake/../outside.txt')",
        "SELECT * FROM read_csv('{repo}/pipelines/emd/template_pipeline/data/rain_gauges.csv')",
        "SELECT * FROM 'https://example.com/data.csv'",
        "SELECT * FROM postgres_scan('host=127.0.0.1 dbname=test', 'public', 'x')",
        "SELECT * FROM sqlite_scan('{data}/x.db', 't')",
        "SELECT current_setting('enable_external_access')::BOOLEAN = false AS locked, "
        "(SELECT count(*) FROM read_text('/etc/passwd')) AS n",
    ],
)
def test_query_reads_the_warehouse_and_nothing_else_on_the_host(small_warehouse, sql):
    result = run("query", sql.format(data=small_warehouse, repo=REPO_ROOT))
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: Query failed: "), result.output
    assert "root:" not in result.output and "not the warehouse's" not in result.output


def test_query_still_reads_tables_and_the_staging_views_over_the_datalake(small_warehouse):
    assert run("query", "SELECT count(*) AS n FROM s.t").output.split() == ["n", "1"]
    assert run("query", "SELECT count(*) AS n FROM s_staging.t").output.split() == ["n", "2"]


def test_query_prints_exact_values_and_null_apart_from_text(monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    import duckdb

    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    sql = (
        "SELECT 12345678901234.5678::DECIMAL(18,4) AS amount, NULL AS missing, "
        "'None' AS text, 'NULL' AS looks_null, 0.1::DOUBLE AS ratio"
    )
    result = run("query", sql)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "             amount  missing  text  looks_null  ratio",
        "12345678901234.5678  NULL     None  'NULL'        0.1",
    ]


def test_query_limit_reads_only_the_rows_it_prints(monkeypatch, tmp_path):
    """Past row 20,000,000 every value is an error: a query that read the whole result (as
    printing the first rows of a loaded DataFrame did) would fail."""
    monkeypatch.setenv("PIPELINES_DATA_DIR", str(tmp_path))
    import duckdb

    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    sql = (
        "SELECT CASE WHEN range < 20000000 THEN range ELSE error('read too far') END AS n "
        "FROM range(1000000000)"
    )
    result = run("query", sql, "--limit", "3")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "n", "0", "1", "2", "... more rows: the first 3 are shown (--limit N to see more)",
    ]  # fmt: skip


def test_a_dbt_source_freshness_is_the_raw_tables_and_check_refuses_one_dbt_would_not(
    repo_copy: Path,
):
    schema = repo_copy / "queries/models/template_pipeline/schema.yml"
    original = schema.read_text()
    source = "  - name: template_pipeline_staging\n"
    assert source in original
    declared = source + "    freshness: {error_after: {count: 2, period: day}}\n"
    schema.write_text(original.replace(source, declared))
    assert check_copy(repo_copy).returncode == 0  # dbt parse takes it too
    shown = subprocess.run(
        [sys.executable, "manage.py", "status", "--json", "--org", "emd"], cwd=repo_copy,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    (flow,) = [f for f in json.loads(shown.stdout)["flows"] if "template" in f["flow"]]
    assert [(t["table"], t["freshness_s"], t["freshness_from"]) for t in flow["tables"]] == [
        ("template_pipeline.rain_per_station_day", 2 * 3600, "cadence + grace"),  # its model
        (
            "template_pipeline.rain_per_hour",
            2 * 24 * 3600,
            "dbt, queries/models/template_pipeline/schema.yml",
        ),
    ]
    schema.write_text(original.replace(source, declared.replace("day", "week")))
    result = check_copy(repo_copy)
    assert result.returncode == 1
    assert (
        "problem: queries/models/template_pipeline/schema.yml: source "
        "template_pipeline_staging.rain_per_hour: freshness period 'week' is not one of "
        "minute, hour, day."
    ) in result.stdout.splitlines()


CREDENTIAL_DEFAULTS = (
    ("url", '"postgresql://reader:Pw4-default@db.city:5432/sme"'),
    ("api_key", '"Ak4-default-key"'),
    ("token", '"Tk4-default-token"'),
    ("db_password", '"Pw5-default"'),
    ("sources", '["https://api.city/v1?token=Tk5-in-a-list"]'),
)


def test_check_reports_credential_defaults_and_the_catalog_never_shows_them(repo_copy: Path):
    """Defaults are stored on the server and published in the catalog: a credential there is
    a problem naming the parameter and the fix, and the catalog masks it."""
    flows = repo_copy / "pipelines/emd/test_flow/flows.py"
    text = flows.read_text()
    added = "".join(
        f'    flow.add_task(Parameter("{n}", default={v}))\n' for n, v in CREDENTIAL_DEFAULTS
    )
    added += '    flow.add_task(Parameter("token_url", default="https://auth.city/token"))\n'
    flows.write_text(text.replace("    param = Parameter(", added + "    param = Parameter(", 1))
    assert flows.read_text() != text

    result = check_copy(repo_copy)

    assert result.returncode == 1
    named = sorted(re.findall(r"parameter '(\w+)' has a credential as its default", result.stdout))
    assert named == sorted(name for name, _ in CREDENTIAL_DEFAULTS)
    assert (
        "Read it at run time from a setting (PIPELINES_DB_<NAME> for a database) or a secret"
        in (result.stdout)
    )
    catalog = subprocess.run(
        [sys.executable, "manage.py", "catalog"], cwd=repo_copy, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert catalog.returncode == 0, catalog.stderr
    site = "".join(p.read_text() for p in (repo_copy / "build" / "catalog").rglob("*.*"))
    assert "https://auth.city/token" in site
    for secret in ("Pw4-default", "Ak4-default-key", "Tk4-default-token", "Pw5-default", "Tk5"):
        assert secret not in site + result.stdout + catalog.stdout + catalog.stderr


@pytest.mark.parametrize(
    "init",
    [
        "import pipelines.emd.template_pipeline.flows, pipelines.emd.test_flow.flows  # noqa\n",
        "import pipelines.emd.template_pipeline.flows; import pipelines.emd.test_flow.flows\n",
        "if True:\n    import pipelines.emd.template_pipeline.flows\n"
        "    from .test_flow import flows  # noqa\n",
    ],
)
def test_check_reads_an_org_list_as_remove_project_does(repo_copy: Path, init: str):
    (repo_copy / "pipelines/emd/__init__.py").write_text(f'"""The emd org."""\n\n{init}')
    result = check_copy(repo_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "does not import the project" not in result.stdout


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            'parameter_defaults={"param": "scheduled"}',
            'parameter_defaults={"name": "world"}',
            "clock 1 (every day from 2024-01-01 06:00 (America/Sao_Paulo)) sets parameter "
            "'name', which the flow does not have (its parameters: param): rename or remove it "
            "in the clock's parameter_defaults.",
        ),
        (
            'Parameter("param", default="default")',
            'Parameter("param", default="default")\n    Parameter("table_id")',
            "clock 1 (every day from 2024-01-01 06:00 (America/Sao_Paulo)) does not set "
            "parameter 'table_id', which the flow requires: add it to the clock's "
            "parameter_defaults (or give the parameter a default).",
        ),
    ],
)
def test_a_clock_whose_parameters_the_flow_would_refuse_is_named_by_check_and_skipped_by_run_all(
    repo_copy: Path, tmp_path: Path, old: str, new: str, problem: str
):
    project = repo_copy / "pipelines/emd/test_flow"
    for name in ("schedules.py", "flows.py"):
        text = (project / name).read_text()
        if old in text:
            new_text = new if name == "schedules.py" else new.replace(
                '\n    Parameter("table_id")', '\n    flow.add_task(Parameter("table_id"))'
            )  # fmt: skip
            (project / name).write_text(text.replace(old, new_text))
    checked = check_copy(repo_copy)
    assert checked.returncode == 1
    assert f"problem: pipelines.emd.test_flow.flows: flow 'emd: test_flow': {problem}" in (
        checked.stdout
    )
    if "table_id" in new:
        return  # run --all's skip is the same code path: tried once, below, for a stale name
    env = {**__import__("os").environ, "PIPELINES_ENV": "local",
           "PIPELINES_DATA_DIR": str(tmp_path / "data")}  # fmt: skip
    ran = subprocess.run(
        [sys.executable, "manage.py", "run", "--all"], cwd=repo_copy, env=env,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    skipped = next(line for line in ran.stdout.splitlines() if "flow emd: test_flow" in line
                   and "skipped" in line)  # fmt: skip
    assert problem.split(":")[0] in skipped
    assert "flow emd: template_pipeline: ran" in ran.stdout
