"""manage.py settings: each setting's value and source with credentials masked, what runs use
here, and what a run, run_cloud and register still need."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.manage.cli import cli


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("PIPELINES_", "PREFECT__", "GOOGLE_APPLICATION_CREDENTIALS")):
            monkeypatch.delenv(name)
    return monkeypatch


def show(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--repo-root", str(root), "settings", *args])


def row(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"  {name} "))


def test_values_say_where_they_come_from_and_credentials_never_show(clean_env, repo_copy):
    (repo_copy / ".env").write_text(
        "PIPELINES_DATA_DIR=/srv/city-data\n"
        "PIPELINES_DB_SME_PG=postgresql://ana:s3cret-pw@db.city:5432/escolas\n"
        "PREFECT__SERVER__HOST=http://prefect.city\n"
        "PIPELINES_DB_PORTLIKE=mysql://u:12/Zq9portlike@127.0.0.1:3306/db\n"
    )
    clean_env.setenv("PIPELINES_VAULT_ADDR", "https://vaultuser:Vp4ss-addr@vault.city:8200")
    clean_env.setenv("PREFECT__SERVER__HOST", "http://apollo:Hp4ss-host@prefect.city")
    clean_env.setenv("PIPELINES_DASK_ADDRESS", "tcp://dask.city:8786")
    clean_env.setenv("PIPELINES_VAULT_TOKEN", "hvs.token-value")
    clean_env.setenv("PIPELINES_VAULT_ROLE_ID", "role-1234")
    clean_env.setenv("PIPELINES_SECRET_SME_API", '{"key": "k-5678"}')
    clean_env.setenv(
        "PIPELINES_FAILURE_WEBHOOK_URL", "https://hook:Wp4ss-hook@discord.com/api/webhooks/1/tok-en"
    )

    done = show(repo_copy)

    assert done.exit_code == 0, done.output
    out = done.output
    assert out.splitlines()[:5] == [
        "PIPELINES_ENV=local: runs here use",
        "  datalake   the folder /srv/city-data/datalake",
        "  warehouse  DuckDB, the file /srv/city-data/warehouse.duckdb",
        "  dbt        dbt-duckdb on that file",
        "  runs       recorded in /srv/city-data/runs.jsonl",
    ]
    assert row(out, "PIPELINES_ENV").split() == ["PIPELINES_ENV", "default", "local"]
    assert row(out, "PIPELINES_DATA_DIR").split()[1:] == [".env", "/srv/city-data"]
    assert row(out, "PIPELINES_DB_SME_PG").split()[1:] == [
        ".env", "postgresql://ana:***@db.city:5432/escolas"
    ]  # fmt: skip
    assert row(out, "PIPELINES_VAULT_TOKEN").split()[1:] == ["environment", "***"]
    assert row(out, "PIPELINES_FAILURE_WEBHOOK_URL").split()[1:] == [
        "environment", "https://hook:***@discord.com/***"
    ]  # fmt: skip
    assert row(out, "PIPELINES_DB_PORTLIKE").split()[1:] == [".env", "mysql://***"]
    assert row(out, "PIPELINES_VAULT_ADDR").split()[1:] == [
        "environment", "https://vaultuser:***@vault.city:8200"
    ]  # fmt: skip
    assert row(out, "PREFECT__SERVER__HOST").split()[1:] == [
        "environment", "http://apollo:***@prefect.city"
    ]  # fmt: skip
    assert row(out, "PIPELINES_BIGQUERY_PROJECT").split()[1:] == ["unset"]
    assert row(out, "PIPELINES_SECRET_SME_API").split()[1:] == ["environment", "***"]
    for secret in ("s3cret-pw", "hvs.token-value", "tok-en", "webhooks/1", "role-1234", "k-5678",
                   "Zq9portlike", "Vp4ss-addr", "Hp4ss-host", "Wp4ss-hook"):  # fmt: skip
        assert secret not in out
    assert "A run here: ready." in out.splitlines()


def test_a_prefect_variable_only_in_dotenv_is_said_to_be_unexported(clean_env, repo_copy):
    (repo_copy / ".env").write_text("PREFECT__SERVER__HOST=http://prefect.city\n")
    out = show(repo_copy).output
    # Prefect reads only the process environment: a .env value is no value to it.
    assert "(not exported: Prefect and google-auth read only the environment)" in row(
        out, "PREFECT__SERVER__HOST"
    )
    run_cloud = out.split("run_cloud needs:\n")[1].split("\n\n")[0]
    assert "PREFECT__SERVER__HOST: Prefect Server API host" in run_cloud
    assert "(it is in .env, but must be exported)" in run_cloud


def test_an_environment_missing_what_it_runs_on_is_named_and_exits_1(clean_env, repo_copy):
    done = show(repo_copy, "--env", "dev")

    assert done.exit_code == 1
    lines = done.output.splitlines()
    assert row(done.output, "PIPELINES_ENV").split()[1:] == ["--env", "dev"]
    start = lines.index("A run here needs:")
    assert lines[start + 1 : start + 3] == [
        "  PIPELINES_DATALAKE_BUCKET: GCS bucket of the datalake (dev/prod).",
        "  PIPELINES_BIGQUERY_PROJECT: GCP project of the BigQuery warehouse.",
    ]
    assert lines[-1] == "Error: PIPELINES_ENV=dev cannot run here: 2 setting(s) missing (above)."


def test_prod_with_its_bucket_and_project_runs_on_them(clean_env, repo_copy):
    clean_env.setenv("PIPELINES_DATALAKE_BUCKET", "city-lake")
    clean_env.setenv("PIPELINES_BIGQUERY_PROJECT", "city-dw")

    done = show(repo_copy, "--env", "prod")

    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[1:4] == [
        "  datalake   the bucket gs://city-lake/staging",
        "  warehouse  BigQuery, project city-dw (US)",
        "  dbt        dbt-bigquery on project city-dw",
    ]
    assert "A run here: ready." in done.output.splitlines()


def test_a_wrong_env_is_refused_by_click():
    done = CliRunner().invoke(cli, ["settings", "--env", "staging"])
    assert done.exit_code == 2
    assert "'staging' is not one of 'local', 'dev', 'prod'" in done.output
