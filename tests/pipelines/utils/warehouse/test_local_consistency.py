"""A local table's datalake folder and its warehouse table (and staging view) agree: a load
that cannot run puts the folder back, another process holding DuckDB's file is waited for
and named, and a run killed between write and load is settled by the next access."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.errors import WarehouseError
from tests.conftest import snapshot

WRITE_AND_LOAD = """
import os, sys
import pandas as pd
from pipelines.utils.datalake.local import LocalDatalake
from pipelines.utils.datalake.tasks import write_parquet_partitions
from pipelines.utils.warehouse.tasks import load_to_warehouse
rows = int(sys.argv[1])
stop = sys.argv[2]
if stop == "after-commit":
    real = LocalDatalake.settle
    def settle(self, prefix, loaded):
        if loaded:
            os._exit(9)
        real(self, prefix, loaded)
    LocalDatalake.settle = settle
frame = pd.DataFrame({"id": range(rows), "day": pd.to_datetime(["2024-01-01"] * rows)})
written = write_parquet_partitions.run(frame, "lake", "readings", "day", mode="overwrite")
if stop == "before-load":
    os._exit(9)
load_to_warehouse.run(written)
"""

HOLD = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


def run(rows: int, stop: str = "none") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WRITE_AND_LOAD, str(rows), stop],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(),
    )  # fmt: skip


HOLDER_TOKEN = "Hx8-holder-token"  # a command line may carry a credential: never shown


def hold(path: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds), f"--token={HOLDER_TOKEN}"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    return holder


def counts(data: Path) -> tuple[int, int, int]:
    """Rows in the datalake folder, the table and the staging view."""
    from pipelines.utils.warehouse.factory import get_warehouse

    warehouse = get_warehouse()
    (table,) = warehouse.rows("SELECT count(*) FROM lake.readings")[0]
    (view,) = warehouse.rows("SELECT count(*) FROM lake_staging.readings")[0]
    (files,) = warehouse.rows(
        f"SELECT count(*) FROM read_parquet('{data}/datalake/lake/readings/**/*.parquet')"
    )[0]
    return files, table, view


def unsettled(data: Path) -> list[Path]:
    """Journals and kept folders (the lock files stay: a run's lock is its open file)."""
    pending = data / "datalake" / ".pipelines-pending"
    return sorted(p for p in pending.iterdir() if p.suffix != ".lock")


@pytest.fixture
def loaded(local_env: Path) -> Path:
    done = run(3)
    assert done.returncode == 0, done.stderr
    return local_env


def test_a_load_that_cannot_get_the_file_puts_the_datalake_back_and_names_the_holder(
    loaded: Path, monkeypatch
):
    monkeypatch.setenv("PIPELINES_WAREHOUSE_LOCK_TIMEOUT_S", "1")
    lake = loaded / "datalake" / "lake"
    before = snapshot(lake)
    holder = hold(loaded / "warehouse.duckdb", 60)
    try:
        failed = run(5)
    finally:
        holder.kill()
        holder.wait()

    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"pipelines.errors.WarehouseError: The warehouse {loaded / 'warehouse.duckdb'} is held "
        f"by PID {holder.pid} ({Path(sys.executable).name}); waited 1 s."
    )
    assert HOLDER_TOKEN not in failed.stdout + failed.stderr
    assert "waited 1 s" in last and "PIPELINES_WAREHOUSE_LOCK_TIMEOUT_S" in last
    assert snapshot(lake) == before
    assert counts(loaded) == (3, 3, 3)
    assert unsettled(loaded) == []


def test_a_load_waits_for_another_process_to_release_the_file(loaded: Path):
    holder = hold(loaded / "warehouse.duckdb", 5)  # longer than the run takes to start
    done = run(5)
    holder.wait()
    assert done.returncode == 0, done.stderr
    assert f"Waiting up to 120 s for PID {holder.pid} (" in done.stdout + done.stderr
    assert counts(loaded) == (5, 5, 5)


def test_two_runs_at_once_both_load(loaded: Path):
    both = [
        subprocess.Popen([sys.executable, "-c", WRITE_AND_LOAD, str(n), "none"],
                         stderr=subprocess.PIPE, text=True)
        for n in (4, 7)
    ]  # fmt: skip
    for process in both:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    files, table, view = counts(loaded)
    assert files == table == view and files in (4, 7)


@pytest.mark.parametrize(("stop", "expected"), [("before-load", 3), ("after-commit", 5)])
def test_a_run_killed_between_write_and_load_is_settled_by_the_next_access(
    loaded: Path, stop, expected
):
    killed = run(5, stop)
    assert killed.returncode == 9, killed.stderr
    assert [p.suffix for p in unsettled(loaded)].count(".json") == 1

    # The next query (or write, or load) settles it: both sides hold the same rows.
    assert counts(loaded) == (expected, expected, expected)
    assert unsettled(loaded) == []
    again = run(6)
    assert again.returncode == 0, again.stderr
    assert counts(loaded) == (6, 6, 6)


def test_the_lock_timeout_setting_is_checked_before_anything_runs(local_env, monkeypatch):
    from pipelines.settings import SettingsError, load_settings

    monkeypatch.setenv("PIPELINES_WAREHOUSE_LOCK_TIMEOUT_S", "soon")
    with pytest.raises(SettingsError, match="PIPELINES_WAREHOUSE_LOCK_TIMEOUT_S='soon'"):
        load_settings()
    assert WarehouseError  # the error a timed-out load raises


def test_a_failed_write_in_a_long_lived_process_never_reaches_a_later_run(local_env, monkeypatch):
    """A notebook (or backfill_local going on after a failed period) runs again in the same
    process after a write failed half-way: the failed run's files are settled back, never
    loaded by the next run."""
    import errno

    import pandas as pd
    import pyarrow.parquet as pq
    from prefect import Parameter, task

    from pipelines.utils.datalake.tasks import write_parquet_partitions
    from pipelines.utils.execution import run_local
    from pipelines.utils.pipeline_flow import PipelineFlow
    from pipelines.utils.warehouse.factory import get_warehouse
    from pipelines.utils.warehouse.tasks import load_to_warehouse

    @task
    def readings(value: int, first_day: str) -> pd.DataFrame:
        days = pd.date_range(first_day, periods=3, freq="D").repeat(10)
        return pd.DataFrame({"value": value, "day": days})

    with PipelineFlow("emd: readings", org="emd") as flow:
        frame = readings(Parameter("value"), Parameter("first_day"))
        load_to_warehouse(write_parquet_partitions(frame, "lake", "readings", "day"))

    assert run_local(flow, {"value": 1, "first_day": "2024-01-01"}).is_successful()
    real_write, calls = pq.write_table, []

    def disk_full_on_the_third_partition(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(pq, "write_table", disk_full_on_the_third_partition)
    assert not run_local(flow, {"value": 3, "first_day": "2024-02-01"}).is_successful()
    monkeypatch.setattr(pq, "write_table", real_write)
    assert run_local(flow, {"value": 4, "first_day": "2024-03-01"}).is_successful()

    by_value = get_warehouse().rows(
        "SELECT value, count(*) FROM lake.readings GROUP BY value ORDER BY value"
    )
    assert by_value == [(1, 30), (4, 30)]
    assert counts(local_env) == (60, 60, 60)
    assert unsettled(local_env) == []
