"""A department ported from the original system, laid out as its projects were: a grouped
project keeping its flow's name, a budget dump partitioned by year from the current year and
published, and a materialize flow driven by dataset_id/table_id/upstream clocks. check,
lineage, the catalog and run --all must all be right about it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pendulum
import pytest

from tests.conftest import connect_postgres

DUMP_FLOWS = '''"""Budget tables of the city's finance system, by exercicio (a year)."""

from datetime import timedelta

from pipelines.utils.dump_db import create_dump_db_flow
from pipelines.utils.schedules import make_schedule, staggered_clocks

flow = create_dump_db_flow(
    "COR: orcamento - Ingerir tabelas de banco SQL", org="rj_cor", code_owners=["ana"],
    schedule=make_schedule(*staggered_clocks(timedelta(days=1), [{
        "connection": "orc", "table": "TABLE", "dataset_id": "orcamento",
        "table_id": "despesas", "partition_column": "exercicio", "partition_by": "year",
        "since": "current_year", "mode": "append", "materialize_after_dump": True,
        "publish": True,
    }])),
)
'''
MATERIALIZE_FLOWS = '''"""The goals dashboard's models, rebuilt every morning."""

from datetime import timedelta

from pipelines.utils.dbt import create_materialize_flow
from pipelines.utils.schedules import make_schedule, staggered_clocks

flow = create_materialize_flow(
    "COR: painel - Materializar modelos", org="rj_cor", code_owners=["ana"],
    schedule=make_schedule(*staggered_clocks(timedelta(days=1), [
        {"dataset_id": "orcamento", "table_id": "despesas_resumo", "upstream": True},
    ])),
)
'''
MODELS = {
    "despesas.sql": "select * from {{ source('orcamento_staging', 'despesas') }}\n",
    "despesas_resumo.sql": (
        "select exercicio, sum(valor) as valor from {{ ref('despesas') }} group by 1\n"
    ),
    "schema.yml": (
        "version: 2\nsources:\n  - name: orcamento_staging\n    tables:\n      - name: despesas\n"
    ),
}


@pytest.fixture
def department(repo_copy: Path, postgres_url, tmp_path: Path):
    table = f"despesas_{uuid.uuid4().hex[:8]}"
    year = pendulum.now("America/Sao_Paulo").year
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {table} (exercicio int, valor numeric(12, 2))")
        conn.execute(f"INSERT INTO {table} VALUES ({year - 1}, 10), ({year}, 20.5), ({year}, 1.5)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINES_")}
    env.update(PIPELINES_DATA_DIR=str(tmp_path / "data"), PIPELINES_DB_ORC=postgres_url)

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=repo_copy, env=env,
                              capture_output=True, text=True, timeout=600)  # fmt: skip

    assert manage("add-org", "rj_cor").returncode == 0
    org = repo_copy / "pipelines" / "rj_cor"
    (org / "constants.py").write_text((org / "constants.py").read_text() + 'DISPLAY_NAME = "COR"\n')
    (org / "flows.py").write_text((org / "flows.py").read_text().replace('"rj_cor: ', '"COR: '))
    for project in ("meteorologia/meteorologia_inmet", "orcamento", "painel"):
        added = manage("add-project", project, "--org", "rj_cor", "--owner", "ana")
        assert added.returncode == 0, added.stderr
    inmet = org / "meteorologia" / "meteorologia_inmet" / "constants.py"
    inmet.write_text(
        inmet.read_text().replace(
            'FLOW_NAME = "COR: meteorologia_inmet"',
            'FLOW_NAME = "COR: Meteorologia - Meteorologia INMET"',
        )
    )
    (org / "orcamento" / "flows.py").write_text(DUMP_FLOWS.replace("TABLE", table))
    (org / "painel" / "flows.py").write_text(MATERIALIZE_FLOWS)
    for project in ("orcamento", "painel"):  # their generated tests check the starter flow
        (repo_copy / "tests" / "pipelines" / "rj_cor" / project / "test_flows.py").unlink()
    models = repo_copy / "queries" / "models" / "orcamento"
    models.mkdir()
    for name, text in MODELS.items():
        (models / name).write_text(text)
    yield manage, year
    with connect_postgres() as conn:
        conn.execute(f"DROP TABLE {table}")


def test_check_lineage_catalog_and_run_all_are_right_about_a_ported_department(department):
    manage, year = department

    checked = manage("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    lineage = manage("lineage", "orcamento.despesas_resumo", "--upstream")
    assert lineage.returncode == 0, lineage.stderr
    assert "flow COR: painel - Materializar modelos  --materializes-->  model " \
           "orcamento.despesas_resumo" in lineage.stdout  # fmt: skip
    assert "flow COR: orcamento - Ingerir tabelas de banco SQL  --materializes-->  model " \
           "orcamento.despesas" in lineage.stdout  # fmt: skip

    catalog = manage("catalog")
    assert catalog.returncode == 0, catalog.stderr
    root = Path(catalog.stdout.split("Wrote ")[1].split(":")[0]).parent
    page = (root / "flows" / "cor-orcamento-ingerir-tabelas-de-banco-sql.html").read_text()
    assert '<code>orcamento.despesas</code> <span class="public">public</span>' in page
    assert (root / "flows" / "cor-meteorologia-meteorologia-inmet.html").is_file()

    ran = manage("run", "--all")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "flow COR: orcamento - Ingerir tabelas de banco SQL: ran" in ran.stdout
    assert "flow COR: painel - Materializar modelos: ran" in ran.stdout
    query = manage("query", "SELECT exercicio, valor FROM orcamento.despesas_resumo")
    assert query.returncode == 0, query.stderr
    assert str(year) in query.stdout and "22.00" in query.stdout  # this year's rows only
    assert str(year - 1) not in query.stdout
