"""run_dbt on a 1M-row model against the same SQL run directly in DuckDB, in the same run.

Each measurement runs in a fresh process (imports included, as in a flow run) on a fresh copy
of one warehouse file: the bare SQL through duckdb, the model through run_dbt_command, and an
empty model (dbt's fixed overhead). dbt keeps its parsed project in PIPELINES_DATA_DIR/dbt
between runs, as it does locally; the first run, which parses everything, is reported apart
as "cold" (a flow-run pod starts cold every time). Prints medians and
{"ratio": dbt / bare, "overhead_s": dbt - bare, "empty_model_s": ...}.
Target: dbt <= 1.3 x bare + 3 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODEL = """
select station, cast(reading_at as date) as day, count(*) as readings,
       sum(mm) as mm, max(mm) as peak
from {source}
group by station, cast(reading_at as date)
"""
SETUP = """
import duckdb, sys
db = duckdb.connect(sys.argv[1])
db.execute("CREATE SCHEMA bench_staging")
db.execute(f'''CREATE TABLE bench_staging.readings AS
SELECT 'station_' || (i % 500) AS station,
       TIMESTAMP '2024-01-01' + INTERVAL (i * 7) SECOND AS reading_at,
       (i % 97) / 10.0 AS mm
FROM range({int(sys.argv[2])}) t(i)''')
"""
BARE = """
import duckdb, sys, time
started = time.perf_counter()
db = duckdb.connect(sys.argv[1])
db.execute("CREATE SCHEMA IF NOT EXISTS bench")
db.execute("CREATE OR REPLACE TABLE bench.daily AS " + sys.argv[2])
db.close()
print(time.perf_counter() - started)
"""
DBT = """
import logging, sys, time
started = time.perf_counter()
from pipelines.settings import load_settings
from pipelines.utils.dbt.runner import run_dbt_command
settings = load_settings({"PIPELINES_ENV": "local", "PIPELINES_DATA_DIR": sys.argv[1]})
run_dbt_command("run", settings, logging.getLogger("bench"), select=sys.argv[2],
                project_dir=__import__("pathlib").Path(sys.argv[3]))
print(time.perf_counter() - started)
"""


def python(code: str, *args: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-materialize-") as tmp:
        base = Path(tmp)
        pristine = base / "pristine.duckdb"
        subprocess.run([sys.executable, "-c", SETUP, str(pristine), str(args.rows)], check=True)
        project = base / "queries"
        shutil.copytree(REPO / "queries", project, ignore=shutil.ignore_patterns("target", "logs"))
        models = project / "models" / "bench"
        models.mkdir(parents=True)
        (models / "sources.yml").write_text(
            "version: 2\nsources:\n  - name: bench_staging\n    tables:\n      - name: readings\n"
        )
        (models / "daily.sql").write_text(
            MODEL.format(source="{{ source('bench_staging', 'readings') }}")
        )
        (models / "empty.sql").write_text("select 1 as x where false\n")
        bare_sql = MODEL.format(source="bench_staging.readings")

        data = base / "data"
        data.mkdir()

        def fresh() -> Path:
            shutil.copy2(pristine, data / "warehouse.duckdb")
            return data

        cold = python(DBT, str(fresh()), "path:models/bench/daily.sql", str(project))
        bare, dbt, empty = [], [], []
        for _ in range(args.runs):  # interleaved, so drift hits all three alike
            bare.append(python(BARE, str(fresh() / "warehouse.duckdb"), bare_sql))
            dbt.append(python(DBT, str(fresh()), "path:models/bench/daily.sql", str(project)))
            empty.append(python(DBT, str(fresh()), "path:models/bench/empty.sql", str(project)))
        bare_s, dbt_s, empty_s = (statistics.median(x) for x in (bare, dbt, empty))
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "bare_sql_s": round(bare_s, 3),
                    "run_dbt_s": round(dbt_s, 3),
                    "run_dbt_cold_s": round(cold, 3),
                    "empty_model_s": round(empty_s, 3),
                    "ratio": round(dbt_s / bare_s, 2),
                    "overhead_s": round(dbt_s - bare_s, 3),
                    "within_target": dbt_s <= 1.3 * bare_s + 3.0,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
