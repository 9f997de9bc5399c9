"""dump_url on a generated CSV of --gb gigabytes: peak RSS and speed against DuckDB's own
`read_csv -> COPY TO parquet` of the same file (the baseline), min/median/max of --runs.

The conversion runs in a process of its own (csv_to_parquet); /usr/bin/time reports the
largest process of a command, so the flow's line is its own process or the converter,
whichever is bigger, and the import line shows what the flow's process holds before any data.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RSS_LIMIT_MB = 256
SPEED_TARGET = 0.5

BASELINE = """
import duckdb, sys
duckdb.sql(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}', header = true, all_varchar = true)) "
           f"TO '{sys.argv[2]}' (FORMAT parquet)")
"""
CONVERT = """
import sys
from pathlib import Path
from pipelines.utils.dump_url.convert import csv_to_parquet
print(csv_to_parquet(Path(sys.argv[1]), Path(sys.argv[2]))["rows"])
"""
IMPORTS = """
import pipelines.utils.dump_url, pipelines.utils.execution
"""
# The flow's steps up to the datalake (the warehouse load is the warehouse's work: BigQuery
# reads the file itself; the local DuckDB warehouse copies it into its own file).
TO_DATALAKE = """
import sys
from prefect import Flow
from pipelines.utils.datalake.tasks import write_parquet_file
from pipelines.utils.dump_url.tasks import download, remove_download, to_parquet
from pipelines.utils.execution import run_local
with Flow("bench: dump_url to the datalake") as flow:
    path = download(sys.argv[1])
    converted = to_parquet(path)
    remove_download(path, upstream_tasks=[converted])
    written = write_parquet_file(converted["path"], converted["rows"], "bench", "big", "overwrite")
    remove_download(converted, upstream_tasks=[written])
state = run_local(flow)
assert state.is_successful(), state.message
"""
FLOW = """
import sys
from pipelines.utils.dump_url import create_dump_url_flow
from pipelines.utils.execution import run_local
flow = create_dump_url_flow("bench: dump_url", org="bench")
state = run_local(flow, {"url": sys.argv[1], "dataset_id": "bench", "table_id": "big"})
assert state.is_successful(), state.message
"""


def generate(path: Path, gigabytes: float) -> int:
    """A CSV of text, numbers, dates, quotes and empty fields, about `gigabytes` big."""
    import duckdb

    rows = int(gigabytes * 1e9 / 87)
    duckdb.sql(f"""
        COPY (SELECT i AS id, 'Escola ' || (i % 5000) || ', Centro' AS nome,
                     md5(i::VARCHAR) AS codigo, (i % 97) * 1.25 AS valor,
                     DATE '2020-01-01' + (i % 1500)::INTEGER AS data,
                     CASE WHEN i % 7 = 0 THEN NULL ELSE 'obs "' || (i % 13) || '"' END AS obs
              FROM range({rows}) t(i)) TO '{path}' (HEADER, DELIMITER ',')
    """)
    return rows


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a command, from /usr/bin/time -v."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], env=env, capture_output=True, text=True, cwd=REPO
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return seconds, int(rss.group(1)) / 1024 if rss else float("nan")


def spread(values: list[float], unit: str) -> str:
    return (
        f"min {min(values):.2f} / median {statistics.median(values):.2f} / "
        f"max {max(values):.2f} {unit}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dump-url-") as tmp:
        folder = Path(tmp)
        source = folder / "big.csv"
        rows = generate(source, args.gb)
        size_gb = source.stat().st_size / 1e9
        handler = functools.partial(SimpleHTTPRequestHandler, directory=folder)
        handler.log_message = lambda *a: None  # type: ignore[attr-defined]
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/big.csv"
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "PIPELINES_ENV": "local",
            "PIPELINES_DATA_DIR": str(folder / "data"),
        }
        commands = {
            "duckdb read_csv -> COPY TO parquet": [
                sys.executable,
                "-c",
                BASELINE,
                str(source),
                str(folder / "base.parquet"),
            ],
            "csv_to_parquet (the conversion)": [
                sys.executable,
                "-c",
                CONVERT,
                str(source),
                str(folder / "ours.parquet"),
            ],
            "importing the flow's modules, nothing else": [sys.executable, "-c", IMPORTS],
            "dump_url to the datalake (download, convert, publish)": [
                sys.executable,
                "-c",
                TO_DATALAKE,
                url,
            ],
            "dump_url flow (download, convert, datalake, warehouse)": [
                sys.executable,
                "-c",
                FLOW,
                url,
            ],
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):  # alternated: drift on a shared machine hits each alike
            for name, command in commands.items():
                results[name].append(measured(command, env))
        server.shutdown()
    print(f"CSV: {size_gb:.2f} GB, {rows:,} rows; {args.runs} runs each")
    base = statistics.median(s for s, _ in results["duckdb read_csv -> COPY TO parquet"])
    summary: dict[str, object] = {"csv_gb": round(size_gb, 2), "rows": rows}
    for name, values in results.items():
        seconds = [s for s, _ in values]
        rss = [r for _, r in values]
        speed = base / statistics.median(seconds)
        print(f"{name}\n  time {spread(seconds, 's')}\n  peak RSS {spread(rss, 'MB')}")
        print(f"  speed vs duckdb: {speed:.2f}x")
        summary[name] = {
            "median_s": round(statistics.median(seconds), 2),
            "max_rss_mb": round(max(rss)),
            "speed_vs_duckdb": round(speed, 2),
        }
    flow = results["dump_url to the datalake (download, convert, publish)"]
    summary["meets_rss_target"] = max(r for _, r in flow) <= RSS_LIMIT_MB
    summary["meets_speed_target"] = base / statistics.median(s for s, _ in flow) >= SPEED_TARGET
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
