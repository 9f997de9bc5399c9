"""dump_db against the native client export and the naive fetchmany -> DataFrame -> CSV way.

With --shapes, the shapes real city tables have instead of the narrow table: 9, 60 and 400
columns (text, whole numbers, decimals, dates) over 1, 365 and 3,650 days of 3 rows each, and
one table holding a single 100 MB value; each dumped from both databases as Parquet and as CSV
and loaded into the local warehouse (the whole flow, as a clock runs it), printing each run's
peak RSS against the 300 MB bound and its time against the native client's export of the same
table, or the error that stopped it (--shape NAME runs one).

Creates the table if missing (id bigint, created_at timestamp, city text, category text,
amount numeric(12,2), lat/lon double, is_valid boolean, note text with 20% NULLs) on the local
PostgreSQL and MariaDB servers, then runs each method as its own process under
/usr/bin/time -v and prints a JSON object as its last line:
{"postgres": {"vs_native": native_s / ours_s, "vs_naive": naive_s / ours_s,
              "peak_rss_mb": ours}, "mariadb": {...}}
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG = "postgresql://postgres@127.0.0.1:5432/test"
MY = "mysql://root@127.0.0.1:3306/test"

PG_CREATE = """
DROP TABLE IF EXISTS {t};
CREATE TABLE {t} (id bigint PRIMARY KEY, created_at timestamp, city text, category text,
  amount numeric(12,2), lat double precision, lon double precision, is_valid boolean, note text);
INSERT INTO {t} SELECT g, timestamp '2024-01-01' + (g % 525600) * interval '1 minute',
  'city_' || (g % 500), 'cat_' || (g % 20), round((random() * 100000)::numeric, 2),
  -22.9 + random() / 10, -43.2 + random() / 10, (g % 3 = 0),
  CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || md5(g::text) END
FROM generate_series(1, {n}) g;
VACUUM ANALYZE {t};
"""
MY_CREATE = """
DROP TABLE IF EXISTS {t};
CREATE TABLE {t} (id bigint PRIMARY KEY, created_at datetime, city text, category text,
  amount decimal(12,2), lat double, lon double, is_valid boolean, note text);
INSERT INTO {t} SELECT seq, TIMESTAMP('2024-01-01') + INTERVAL (seq % 525600) MINUTE,
  CONCAT('city_', seq % 500), CONCAT('cat_', seq % 20), ROUND(RAND() * 100000, 2),
  -22.9 + RAND() / 10, -43.2 + RAND() / 10, (seq % 3 = 0),
  IF(seq % 5 = 0, NULL, CONCAT('note ', MD5(seq))) FROM seq_1_to_{n};
"""

NAIVE_PG = """
import sys, psycopg, pandas as pd
conn = psycopg.connect("host=127.0.0.1 dbname=test user=postgres")
cur = conn.cursor()
cur.execute("SELECT * FROM {t}")
names = [d.name for d in cur.description]
first = True
while rows := cur.fetchmany(50000):
    pd.DataFrame(rows, columns=names).to_csv(sys.argv[1], mode="w" if first else "a", header=first, index=False)
    first = False
"""
NAIVE_MY = """
import sys, pymysql, pandas as pd
conn = pymysql.connect(host="127.0.0.1", user="root", password="", database="test")
cur = conn.cursor()
cur.execute("SELECT * FROM {t}")
names = [d[0] for d in cur.description]
first = True
while rows := cur.fetchmany(50000):
    pd.DataFrame(rows, columns=names).to_csv(sys.argv[1], mode="w" if first else "a", header=first, index=False)
    first = False
"""
OURS = """
import os, sys
os.environ["PIPELINES_ENV"] = "local"
os.environ["PIPELINES_DATA_DIR"] = sys.argv[1]
os.environ["PIPELINES_DB_BENCH"] = sys.argv[2]
from prefect import Flow
from pipelines.utils.dump_db import dump_db_to_datalake
from pipelines.utils.execution import run_local
with Flow("bench dump_db") as flow:
    dump_db_to_datalake(connection="bench", dataset_id="bench", table_id="{t}", table="{t}",
                        partition_column={partition})
assert run_local(flow).is_successful()
"""


def timed(command: list[str], cwd: Path = REPO, shell: bool = False) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of a process, from /usr/bin/time -v."""
    wrapped = (
        ["/usr/bin/time", "-v", *command]
        if not shell
        else ["/usr/bin/time", "-v", "sh", "-c", command[0]]
    )
    result = subprocess.run(wrapped, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    wall = re.search(
        r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", result.stderr
    )
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    assert wall and rss, result.stderr
    hours, minutes, seconds = wall.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds), int(rss.group(1)) / 1024


# Each server's command-line client: (base command, flags that run one query, create script).
CLIENTS = {
    "postgres": (
        ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-v", "ON_ERROR_STOP=1"],
        ["-tAc"],
        PG_CREATE,
    ),
    "mariadb": (["mariadb", "-h", "127.0.0.1", "-u", "root", "test"], ["-N", "-e"], MY_CREATE),
}


def ensure_table(kind: str, table: str, rows: int) -> None:
    """Create the benchmark table unless it already holds `rows` rows."""
    client, one_query, create = CLIENTS[kind]
    count = subprocess.run(
        [*client, *one_query, f"SELECT count(*) FROM {table}"], capture_output=True, text=True
    )
    if count.returncode == 0 and count.stdout.strip() == str(rows):
        return
    print(f"creating {table} on {kind} ({rows:,} rows)...", file=sys.stderr)
    subprocess.run(
        client, input=create.format(t=table, n=rows), text=True, check=True, capture_output=True
    )


def _spread(values: list[float]) -> list[float]:
    return [round(min(values), 2), round(statistics.median(values), 2), round(max(values), 2)]


def read_back(folder: Path, tmp: Path, runs: int = 3) -> dict:
    """Files of the partitioned table, and the time DuckDB takes to scan them against the
    same rows in one file (median of runs)."""
    import time

    import duckdb

    files = sorted(folder.rglob("*.parquet"))
    partitions = {f.parent for f in files}
    single = tmp / "single.parquet"
    pattern = f"{folder}/**/*.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{pattern}')) TO '{single}' (FORMAT parquet)")
    query = "SELECT count(*), sum(amount), count(DISTINCT city) FROM read_parquet('{}')"

    def scan(source: str) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            duckdb.connect().sql(query.format(source)).fetchall()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    partitioned_s, single_s = scan(pattern), scan(str(single))
    return {
        "files": len(files),
        "partitions": len(partitions),
        "files_per_partition_max": max(sum(1 for f in files if f.parent == p) for p in partitions),
        "read_back_s": round(partitioned_s, 3),
        "read_back_single_file_s": round(single_s, 3),
        "read_back_vs_single_file": round(partitioned_s / single_s, 2),
    }


def measure(
    kind: str, table: str, runs: int, naive: bool, partition: str | None, tmp: Path
) -> dict:
    out = tmp / "out"
    if kind == "postgres":
        native_cmd = [
            f"psql -h 127.0.0.1 -U postgres -d test -c \"\\copy (SELECT * FROM {table}) TO '{out}.csv' CSV\""
        ]
        naive_code, url = NAIVE_PG, PG
    else:
        native_cmd = [
            f"mariadb -h 127.0.0.1 -u root test --batch --quick -e 'SELECT * FROM {table}' > {out}.tsv"
        ]
        naive_code, url = NAIVE_MY, MY
    ours_code = OURS.replace("{t}", table).replace("{partition}", repr(partition))
    native, ours = [], []
    for _ in range(runs):
        native.append(timed(native_cmd, shell=True))
        shutil.rmtree(tmp / "data", ignore_errors=True)
        ours.append(timed([sys.executable, "-c", ours_code, str(tmp / "data"), url]))
    native_s = statistics.median(t for t, _ in native)
    ours_s = statistics.median(t for t, _ in ours)
    result = {
        "native_s": round(native_s, 2),
        "ours_s": round(ours_s, 2),
        "vs_native": round(native_s / ours_s, 2),
        "vs_native_min_median_max": _spread(
            [n / o for (n, _), (o, _) in zip(native, ours, strict=True)]
        ),
        "peak_rss_mb": round(max(m for _, m in ours), 1),
        "peak_rss_mb_min_median_max": _spread([m for _, m in ours]),
    }
    if partition:
        result.update(read_back(tmp / "data" / "datalake" / "bench" / table, tmp))
    if naive:
        naive_s, naive_mb = timed(
            [sys.executable, "-c", naive_code.format(t=table), f"{out}.naive.csv"]
        )
        result.update(
            naive_s=round(naive_s, 2),
            naive_peak_rss_mb=round(naive_mb, 1),
            vs_naive=round(naive_s / ours_s, 2),
        )
    return result


SHAPE_FLOW = """
import os, sys
os.environ["PIPELINES_ENV"] = "local"
os.environ["PIPELINES_DATA_DIR"] = sys.argv[1]
os.environ["PIPELINES_DB_BENCH"] = sys.argv[2]
from pipelines.utils.dump_db import create_dump_db_flow
from pipelines.utils.execution import run_local
state = run_local(create_dump_db_flow("bench: shapes", org="bench"), dict(
    connection="bench", dataset_id="bench", table_id=sys.argv[3], table=sys.argv[3],
    format=sys.argv[4], partition_column=sys.argv[5] or None))
assert state.is_successful(), [str(s.result) for s in state.result.values() if s.is_failed()]
"""


def _columns(count: int, dialect: str) -> tuple[str, str]:
    """Column definitions and their values for row g: text, whole numbers, decimals, dates."""
    # MariaDB keeps a row's varchar(200) columns within 65,535 bytes: 100 of them do not fit.
    text = "varchar(200)" if dialect == "postgres" else "text"
    kinds = [
        (text, "'v' || g || repeat('x', 40)" if dialect == "postgres"
         else "CONCAT('v', g, REPEAT('x', 40))"),
        ("integer", "g * 7"),
        ("numeric(12,2)" if dialect == "postgres" else "decimal(12,2)", "g / 100.0"),
        ("date", "DATE '2000-01-01' + g" if dialect == "postgres"
         else "DATE('2000-01-01') + INTERVAL g DAY"),
    ]  # fmt: skip
    columns = [(f"c{i}", *kinds[i % len(kinds)]) for i in range(count)]
    return (
        ", ".join(f"{name} {kind}" for name, kind, _ in columns),
        ", ".join(value for _, _, value in columns),
    )


# The matrix: (columns, days) with 3 rows a day, and one table holding a single 100 MB value.
SHAPES = [(c, d) for c in (9, 60, 400) for d in (1, 365, 3650)] + [("value", 1)]
VALUE_MB = 100


def shape_name(shape: tuple) -> str:
    columns, days = shape
    return f"{VALUE_MB}mb_value" if columns == "value" else f"{columns}x{days}"


def shape_sql(shape: tuple, dialect: str, table: str) -> str:
    """The script that creates one shape's table."""
    columns, days = shape
    per_day = 1 if columns == "value" else 3
    if dialect == "postgres":
        rows = f"FROM generate_series(0, {days * per_day} - 1) g"
        day = f"DATE '2005-01-01' + (g / {per_day})::int"
    else:
        rows = f"FROM (SELECT seq AS g FROM seq_0_to_{days * per_day - 1}) s"
        day = f"DATE('2005-01-01') + INTERVAL (g DIV {per_day}) DAY"
    if columns == "value":
        size = VALUE_MB * 1024 * 1024
        definitions = "doc text" if dialect == "postgres" else "doc longtext"
        values = f"repeat('x', {size})" if dialect == "postgres" else f"REPEAT('x', {size})"
    else:
        definitions, values = _columns(columns, dialect)
    return (
        f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id int, day date, {definitions}); "
        f"INSERT INTO {table} SELECT g, {day}, {values} {rows};"
    )


def measure_shapes(runs: int, only: str | None, picked: list[str] | None, tmp: Path) -> dict:
    """Each shape x database x format through the whole flow: time against the native
    export of the same table, peak RSS against 300 MB, or the error that stopped it."""
    results: dict = {}
    for kind in ("postgres", "mariadb"):
        if only and kind != only:
            continue
        client, _, _ = CLIENTS[kind]
        dialect = "postgres" if kind == "postgres" else "mysql"
        url = PG if kind == "postgres" else MY
        if kind == "mariadb":  # the server's packet cap must hold the big value
            subprocess.run(client, input="SET GLOBAL max_allowed_packet = 1073741824;",
                           text=True, check=True, capture_output=True)  # fmt: skip
        for shape in SHAPES:
            name = shape_name(shape)
            if picked and name not in picked:
                continue
            table = f"bench_shape_{name}"
            subprocess.run(client, input=shape_sql(shape, dialect, table), text=True,
                           check=True, capture_output=True)  # fmt: skip
            out = tmp / "native"
            native_cmd = (
                [f"psql -h 127.0.0.1 -U postgres -d test -c \"\\copy {table} TO '{out}' CSV\""]
                if kind == "postgres"
                else [f"mariadb -h 127.0.0.1 -u root test --batch --quick "
                      f"--max-allowed-packet=1G -e 'SELECT * FROM {table}' > {out}"]
            )  # fmt: skip
            for fmt in ("parquet", "csv"):
                key = f"{kind}/{name}/{fmt}"
                native, ours = [], []
                partition = "" if shape[0] == "value" else "day"
                try:
                    for _ in range(runs):
                        native.append(timed(native_cmd, shell=True))
                        shutil.rmtree(tmp / "data", ignore_errors=True)
                        ours.append(timed([sys.executable, "-c", SHAPE_FLOW, str(tmp / "data"),
                                           url, table, fmt, partition]))  # fmt: skip
                except RuntimeError as error:
                    # The error the flow ended with, not /usr/bin/time's last line.
                    named = re.findall(r"\b\w+(?:Error|Exception): .*", str(error))
                    results[key] = {"failed": (named or [str(error)])[-1][:300]}
                    print(key, json.dumps(results[key]), file=sys.stderr)
                    continue
                native_s = statistics.median(t for t, _ in native)
                ours_s = statistics.median(t for t, _ in ours)
                peak = max(m for _, m in ours)
                results[key] = {
                    "ours_s": round(ours_s, 2), "native_s": round(native_s, 2),
                    "vs_native": round(native_s / ours_s, 3), "peak_rss_mb": round(peak, 1),
                    "within_300_mb": peak <= 300,
                }  # fmt: skip
                print(key, json.dumps(results[key]), file=sys.stderr)
            subprocess.run(client, input=f"DROP TABLE {table};", text=True, check=True)
    failed = [key for key, value in results.items() if "failed" in value or
              not value["within_300_mb"]]  # fmt: skip
    results["failed_or_over_300_mb"] = failed
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of native and ours (median)")
    parser.add_argument("--skip-naive", action="store_true", help="the naive way takes ~10x longer")
    parser.add_argument(
        "--partitioned",
        "--partition",
        dest="partition",
        action="store_true",
        help="partition by created_at's day; report files written and DuckDB's read-back time",
    )
    parser.add_argument("--only", choices=["postgres", "mariadb"])
    parser.add_argument(
        "--shapes", action="store_true",
        help="columns 9/60/400 x days 1/365/3,650 (3 rows a day) and one 100 MB value, as "
        "Parquet and CSV, through the load: peak RSS against 300 MB",
    )  # fmt: skip
    parser.add_argument(
        "--shape",
        action="append",
        metavar="NAME",
        help="with --shapes, only this shape (e.g. 400x3650, 100mb_value); repeatable",
    )
    args = parser.parse_args()
    if args.shapes:
        with tempfile.TemporaryDirectory(prefix="bench-shapes-") as tmp:
            print(json.dumps(measure_shapes(args.runs, args.only, args.shape, Path(tmp))))
        return
    table = f"bench_dump_{args.rows}"
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-dump-") as tmp:
        for kind in ("postgres", "mariadb"):
            if args.only and kind != args.only:
                continue
            ensure_table(kind, table, args.rows)
            partition = "created_at" if args.partition else None
            results[kind] = measure(
                kind, table, args.runs, not args.skip_naive, partition, Path(tmp)
            )
            print(kind, json.dumps(results[kind]), file=sys.stderr)
    print(json.dumps(results))


if __name__ == "__main__":
    os.environ.setdefault("PGCONNECT_TIMEOUT", "10")
    main()
