"""One watchdog pass over 500 flows and 1,000 tables: the server requests it makes, its time
against the baseline measured in the same run (the two reads sent on their own, the work no
pass can avoid), and its memory.

The server is the Prefect test server (its Hasura emulation in Python is slower than the real
engine, so the times are an upper bound); the warehouse is a real DuckDB file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LIMIT_S = 10.0


def plant(server, flows: int, runs: int, now: dt.datetime) -> list:
    """Flows with two tables each, `runs` finished runs each; one in ten failing three times
    in a row, one in twenty with a late run."""
    from pipelines.utils.health import FlowExpectation, TableExpectation

    server.add_project("main")
    expectations = []
    for index in range(flows):
        name = f"org_{index % 10}: project_{index:04d}"
        flow_id = server.plant_flow(name, "main", schedule={"clocks": []}, is_schedule_active=True)
        for number in range(runs):
            at = now - dt.timedelta(minutes=30 + 60 * number)
            state = "Failed" if index % 10 == 0 and number < 3 else "Success"
            server.plant_flow_run(flow_id, state, start_time=at, end_time=at)
        if index % 20 == 0:
            server.plant_flow_run(
                flow_id, "Scheduled", scheduled_start_time=now - dt.timedelta(hours=1)
            )
        tables = [
            TableExpectation(f"dataset_{index:04d}.table_{t}", dt.timedelta(hours=2), "cadence")
            for t in range(2)
        ]
        expectations.append(
            FlowExpectation(name, f"org_{index % 10}", ["ana"], [dt.timedelta(hours=1)], tables)
        )
    return expectations


def warehouse_with_loads(folder: Path, expectations, now: dt.datetime):
    import duckdb

    path = folder / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute('CREATE SCHEMA "_pipelines"')
        connection.execute(
            'CREATE TABLE "_pipelines"."load_times" (table_name VARCHAR PRIMARY KEY, '
            "loaded_at TIMESTAMPTZ)"
        )
        rows = [
            (t.table, now - dt.timedelta(hours=3 if i % 25 == 0 else 1))
            for i, e in enumerate(expectations)
            for t in e.tables
        ]
        connection.executemany('INSERT INTO "_pipelines"."load_times" VALUES (?, ?)', rows)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flows", type=int, default=500)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from prefect import Client

    from pipelines.settings import load_settings
    from pipelines.utils.health import snapshot
    from pipelines.utils.health.tasks import watch_once
    from pipelines.utils.resources import resources
    from pipelines.utils.server import Server
    from pipelines.utils.server import documents as doc
    from tests.support.prefect_server import PrefectTestServer

    now = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as tmp, PrefectTestServer() as server:
        settings = load_settings({"PIPELINES_ENV": "local", "PIPELINES_DATA_DIR": tmp})
        expectations = plant(server, args.flows, args.runs, now)
        warehouse_with_loads(Path(tmp), expectations, now)
        published = snapshot.merged_expectations(None, {"m": expectations}, ["m"])
        snapshot.write_json(resources(settings).datalake(), snapshot.EXPECTATIONS_KEY, published)
        client = Client(api_server=server.url)
        names = [e.name for e in expectations]
        passes, baselines, requests = [], [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            for start in range(0, len(names), 250):  # the reads alone, as the client batches
                client.graphql(
                    doc.WATCHED_FLOWS,
                    variables={"project": "main", "names": names[start : start + 250], "limit": 10},
                )
            client.graphql(doc.LATE_RUNS, variables={"project": "main", "before": now.isoformat()})
            baselines.append(time.perf_counter() - started)
            before = len(server.requests)
            started = time.perf_counter()
            found = watch_once(Server(client), settings, now, dry_run=True)
            passes.append(time.perf_counter() - started)
            requests.append(len(server.requests) - before)
    seconds, baseline = statistics.median(passes), statistics.median(baselines)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"watchdog pass: {found['flows']} flows, {found['tables']} tables, "
          f"{len(found['problems'])} problems found")  # fmt: skip
    print(f"server requests per pass: {requests[0]} (every round: {requests})")
    print(f"pass: median {seconds:.2f} s (min {min(passes):.2f}); the two reads alone: "
          f"median {baseline:.2f} s; ratio {seconds / baseline:.2f}")  # fmt: skip
    print(f"peak memory of this process (server included): {peak_mb:.0f} MB")
    print(f"target: under {LIMIT_S:.0f} s: {'met' if seconds < LIMIT_S else 'NOT met'}")
    if seconds >= LIMIT_S:
        sys.exit(1)


if __name__ == "__main__":
    main()
