"""dump_db for real on PostgreSQL and MariaDB: hostile values compared row by row and type by
type with what the warehouse holds; reruns, kills and incremental dumps leave no duplicates."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest
from prefect import Flow

from pipelines.utils.dump_db import create_dump_db_flow, dump_db_to_datalake
from pipelines.utils.dump_db.connections import mask
from pipelines.utils.dump_db.tasks import check_inputs
from pipelines.utils.execution import run_local
from pipelines.utils.warehouse import get_warehouse
from tests.conftest import REPO_ROOT, connect_mariadb, connect_postgres

UTC = dt.UTC
TEXT = 'a, "quoted"\nline; ção ñ 🚀\ttab'
ROWS = [
    # id, ts (naive), tstz (aware), day, big decimal, money, flag, text, n, f
    (1, dt.datetime(2024, 1, 1, 23, 30), dt.datetime(2024, 1, 2, 2, 30, tzinfo=UTC),
     dt.date(2024, 1, 1), Decimal("12345678901234567890.123456789012345678"), Decimal("1.10"),
     True, TEXT, 42, 1.5),
    (2, None, None, None, None, None, None, None, None, None),
    (3, dt.datetime(2024, 1, 2, 0, 0), dt.datetime(2024, 1, 2, 3, 0, tzinfo=UTC),
     dt.date(2024, 1, 2), Decimal("-0.000000000000000001"), Decimal("-99999999.99"),
     False, "", 0, -0.25),
    (4, dt.datetime(2024, 2, 29, 12, 0), dt.datetime(2024, 2, 29, 15, 0, tzinfo=UTC),
     dt.date(2024, 2, 29), Decimal("0E-18"), Decimal("0.00"), True, "None of the above", -7, 1e300),
    (5, dt.datetime(2024, 2, 29, 12, 0, 0, 123456), dt.datetime(2024, 2, 29, 15, 0, tzinfo=UTC),
     dt.date(2024, 2, 29), Decimal("1"), Decimal("3.00"), False, "NULL", 1, 0.0),
]  # fmt: skip
COLUMNS = ["id", "ts", "tstz", "day", "big", "money", "flag", "txt", "n", "f"]
NULL_PARTITION = "/".join(f"{k}=__HIVE_DEFAULT_PARTITION__" for k in ("ano", "mes", "data"))


@pytest.fixture
def pg_table(postgres_url, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    name = f"hostile_{uuid.uuid4().hex[:8]}"
    with connect_postgres() as conn:
        conn.execute(
            f"CREATE TABLE {name} (id int PRIMARY KEY, ts timestamp, tstz timestamptz, day date, "
            "big numeric(38,18), money numeric(12,2), flag boolean, txt text, n int, "
            "f double precision)"
        )
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {name} VALUES ({', '.join(['%s'] * 10)})", ROWS)
        yield name
        conn.execute(f"DROP TABLE {name}")


@pytest.fixture
def my_table(mariadb_url, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB_MY", mariadb_url)
    name = f"hostile_{uuid.uuid4().hex[:8]}"
    conn = connect_mariadb()
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {name} (id int PRIMARY KEY, ts datetime(6), tstz timestamp(6) NULL, "
            "day date, big decimal(38,18), money decimal(12,2), flag tinyint(1), txt text, n int, "
            "f double) CHARACTER SET utf8mb4"
        )
        rows = [(*r[:2], r[2].replace(tzinfo=None) if r[2] else None, *r[3:]) for r in ROWS]
        cur.executemany(f"INSERT INTO {name} VALUES ({', '.join(['%s'] * 10)})", rows)
    yield name
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE {name}")
    conn.close()


@pytest.fixture
def both_servers(postgres_url, mariadb_url, monkeypatch) -> None:
    """The connections "pg" and "my": the test PostgreSQL and MariaDB servers."""
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    monkeypatch.setenv("PIPELINES_DB_MY", mariadb_url)


def dump(**params):
    flow = create_dump_db_flow("tests: dump_db", org="tests")
    state = run_local(flow, params)
    assert state.is_successful(), [
        (t.name, s.result) for t, s in state.result.items() if s.is_failed()
    ]
    (written,) = [s.result for t, s in state.result.items() if t.name == "dump_db_to_datalake"]
    return written


def warehouse_rows(table_id: str) -> list[tuple]:
    return get_warehouse().rows(f"SELECT {', '.join(COLUMNS)} FROM tests.{table_id} ORDER BY id")


def _is_na(value) -> bool:
    return value is None or value != value  # NaN


def assert_same_rows(table_id: str, tinyint_flag: bool = False) -> None:
    got = warehouse_rows(table_id)
    assert len(got) == len(ROWS)
    for expected, actual in zip(ROWS, got, strict=True):
        for column, want, have in zip(COLUMNS, expected, actual, strict=True):
            if tinyint_flag and isinstance(want, bool):  # MySQL's BOOLEAN is TINYINT(1)
                want = int(want)
            if isinstance(want, dt.datetime) and want.tzinfo is not None:
                assert have is not None and have.tzinfo is not None, (column, have)
                assert have == want, (column, want, have)
            elif isinstance(want, dt.date) and not isinstance(want, dt.datetime):
                assert (have.date() if isinstance(have, dt.datetime) else have) == want, column
            else:
                assert have == want, (column, want, have)
                assert type(have) is type(want) or want is None, (column, type(want), type(have))


@pytest.mark.parametrize(
    "fmt_partition", [("parquet", None), ("parquet", "tstz"), ("parquet", "ts")]
)
def test_postgres_hostile_values_round_trip(local_env, pg_table, fmt_partition):
    fmt, partition = fmt_partition
    written = dump(connection="pg", dataset_id="tests", table_id=pg_table, table=pg_table,
                   format=fmt, partition_column=partition)  # fmt: skip
    assert written.rows == len(ROWS)
    assert_same_rows(pg_table)
    if partition == "tstz":  # days in America/Sao_Paulo: 02:30 UTC on the 2nd is the 1st there
        assert written.partitions[0] == "ano=2024/mes=01/data=2024-01-01"
        assert (
            "ano=__HIVE_DEFAULT_PARTITION__/mes=__HIVE_DEFAULT_PARTITION__/data=__HIVE_DEFAULT_PARTITION__"
            in written.partitions
        )


@pytest.mark.parametrize("partition", [None, "tstz", "day"])
def test_mariadb_hostile_values_round_trip(local_env, my_table, partition):
    written = dump(connection="my", dataset_id="tests", table_id=my_table, table=my_table,
                   partition_column=partition)  # fmt: skip
    assert written.rows == len(ROWS)
    assert_same_rows(my_table, tinyint_flag=True)


def test_csv_keeps_text_nulls_and_row_counts(local_env, pg_table):
    written = dump(connection="pg", dataset_id="tests", table_id=pg_table, table=pg_table,
                   format="csv", partition_column="day")  # fmt: skip
    assert written.rows == len(ROWS)
    values = dict(get_warehouse().rows(f"SELECT id, txt FROM tests.{pg_table} ORDER BY id"))
    assert values[1] == TEXT and values[3] == "" and values[5] == "NULL"
    assert _is_na(values[2])


@pytest.mark.parametrize("server", ["pg", "my"])
def test_a_year_of_days_of_a_wide_table_dumps_to_csv_and_loads(local_env, both_servers, server):
    """A school system's table: 15 text columns, 3 rows a day for a year, as CSV (the
    original system's default format). The local load ran out of memory at 365 files."""
    name = f"wide_{uuid.uuid4().hex[:8]}"
    columns = ", ".join(f"c{i} varchar(200)" for i in range(15))
    values = ", ".join("repeat('x', 150)" for _ in range(15))
    rows = 365 * 3
    if server == "pg":
        setup = [f"CREATE TABLE {name} (dia date, {columns})",
                 f"INSERT INTO {name} SELECT DATE '2024-01-01' + (n / 3), {values} "
                 f"FROM generate_series(0, {rows - 1}) AS n"]  # fmt: skip
        connect, drop = connect_postgres, f"DROP TABLE {name}"
    else:
        setup = [f"CREATE TABLE {name} (dia date, {columns})",
                 f"INSERT INTO {name} SELECT DATE '2024-01-01' + INTERVAL (seq DIV 3) DAY, "
                 f"{values} FROM seq_0_to_{rows - 1}"]  # fmt: skip
        connect, drop = connect_mariadb, f"DROP TABLE {name}"
    connection = connect()
    try:
        with connection.cursor() as cursor:
            for statement in setup:
                cursor.execute(statement)
        written = dump(connection=server, dataset_id="tests", table_id=name, table=name,
                       format="csv", partition_column="dia")  # fmt: skip
    finally:
        with connection.cursor() as cursor:
            cursor.execute(drop)
        connection.close()
    assert written.rows == rows and len(written.partitions) == 365
    assert get_warehouse().rows(
        f"SELECT count(*), count(DISTINCT dia), min(length(c14)) FROM tests.{name}"
    ) == [(rows, 365, 150)]


def test_days_past_the_writers_cap_are_written_a_group_at_a_time(
    local_env, postgres_url, monkeypatch, caplog
):
    """400 days of a 40-column table do not fit DuckDB's partitioned writer at once in its
    cap (a buffer per open day): the dump writes them a group of days at a time from one
    spool, each day one file, rows without a day in their own partition, every value kept."""
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    name = f"days_{uuid.uuid4().hex[:8]}"
    columns = ", ".join(f"c{i} text" for i in range(40))
    values = ", ".join(f"'v{i}-' || n" for i in range(40))
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} (n int, dia date, {columns})")
        day = "CASE WHEN n % 97 = 0 THEN NULL ELSE DATE '2020-01-01' + (n / 2) END"
        conn.execute(f"INSERT INTO {name} SELECT n, {day}, {values} FROM generate_series(0, 799) n")
        try:
            written = dump(connection="pg", dataset_id="tests", table_id=name, table=name,
                           partition_column="dia")  # fmt: skip
        finally:
            conn.execute(f"DROP TABLE {name}")
    assert "writing them a group of days at a time" in caplog.text
    folder = local_env / "datalake" / "tests" / name
    files = sorted(folder.rglob("*.parquet"))
    nulls = [f for f in files if "__HIVE_DEFAULT_PARTITION__" in str(f)]
    assert written.rows == 800 and len(nulls) == 1
    assert len(files) == len({f.parent for f in files}) == len(written.partitions)
    assert get_warehouse().rows(
        f"SELECT count(*), count(dia), sum(CAST(split_part(c39, '-', 2) AS INT)) FROM tests.{name}"
    ) == [(800, 800 - 9, sum(range(800)))]


@pytest.mark.parametrize("partition_column", [None, "dia"])
def test_a_value_of_tens_of_mb_names_the_memory_cap_and_fits_once_it_is_raised(
    local_env, postgres_url, monkeypatch, partition_column
):
    """A 40 MB text value (a scanned document's text, a JSON payload) met DuckDB's memory cap
    with its own words; the dump now names the value (column, row, size) and the setting that
    raises the cap, and with it raised the value arrives whole."""
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    name = f"big_{uuid.uuid4().hex[:8]}"
    params = dict(connection="pg", dataset_id="tests", table_id=name, table=name,
                  partition_column=partition_column)  # fmt: skip
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, dia date, v text)")
        conn.execute(f"INSERT INTO {name} VALUES (1, '2024-01-01', repeat('x', 40 * 1048576)),"
                     " (2, '2024-01-02', 'small')")  # fmt: skip
        try:
            state = run_local(create_dump_db_flow("tests: dump_db", org="tests"), params)
            monkeypatch.setenv("PIPELINES_DUMP_MEMORY_MB", "512")
            stopped = run_local(create_dump_db_flow("tests: dump_db", org="tests"), params)
            monkeypatch.setenv("PIPELINES_WAREHOUSE_MEMORY_MB", "512")
            written = dump(**params)
        finally:
            conn.execute(f"DROP TABLE {name}")
    assert state.is_failed()
    (message,) = [str(s.result) for t, s in state.result.items()
                  if t.name == "dump_db_to_datalake"]  # fmt: skip
    assert message.startswith(
        "the rows of this source do not fit the reader's memory cap of 64 MB (it needed a block of "
    ), message
    # The shape that met the cap: which value, in which row, how big.
    assert ": column 'v' of the row id=1 holds a value of 40.0 MB. Raise the setting " in message
    assert "Raise the setting PIPELINES_DUMP_MEMORY_MB (e.g. to 512) for this dump" in message
    # Read, the value then meets the local warehouse's own cap, which says its setting.
    (loading,) = [str(s.result) for t, s in stopped.result.items()
                  if t.name == "load_to_warehouse"]  # fmt: skip
    assert f"loading tests.{name} (" in loading
    assert "into the local warehouse ran past its memory cap of 100 MB" in loading
    assert "a single value of tens of MB does that: column 'v' holds 40.0 MB in a row group " in (
        loading
    )
    assert "Raise the setting PIPELINES_WAREHOUSE_MEMORY_MB (e.g. to 800)" in loading
    assert written.rows == 2
    assert get_warehouse().rows(f"SELECT id, length(v) FROM tests.{name} ORDER BY id") == [
        (1, 40 * 1048576), (2, 5)
    ]  # fmt: skip


@pytest.mark.parametrize("server", ["pg", "my"])
def test_a_csv_line_of_megabytes_loads_whole(local_env, both_servers, server):
    # DuckDB reads CSV lines up to 2 MB: a longer quoted value read as an unterminated quote.
    name = f"long_line_{uuid.uuid4().hex[:8]}"
    rows = [(1, dt.date(2024, 1, 1), "x" * (3 << 20) + '"quoted",\nline'), (2, None, "small")]
    text = "text" if server == "pg" else "mediumtext"  # MariaDB's text holds 64 KB
    create = f"CREATE TABLE {name} (id int, periodo date, v {text})"
    _create(server, create, rows)
    try:
        written = dump(connection=server, dataset_id="tests", table_id=name, table=name,
                       partition_column="periodo", format="csv")  # fmt: skip
    finally:
        _drop(server, name)
    assert written.rows == 2
    assert get_warehouse().rows(f"SELECT id, v FROM tests.{name} ORDER BY id") == [
        (r[0], r[2]) for r in rows
    ]


def test_an_unpartitioned_rerun_replaces_the_table(local_env, pg_table):
    params = dict(connection="pg", dataset_id="tests", table_id=pg_table, table=pg_table)
    dump(**params)
    dump(**params)
    assert get_warehouse().row_count("tests", pg_table) == len(ROWS)


def test_query_mode_and_rerun_replace_partitions(local_env, pg_table):
    params = dict(
        connection="pg", dataset_id="tests", table_id=pg_table,
        query=f"SELECT * FROM {pg_table} WHERE id <> 2", partition_column="day",
    )  # fmt: skip
    assert dump(**params).rows == 4
    assert dump(**params).rows == 4
    assert get_warehouse().row_count("tests", pg_table) == 4
    files = list((local_env / "datalake/tests" / pg_table).rglob("*.parquet"))
    assert len(files) == 3  # three days, one file each, after two runs


def test_incremental_dumps_only_from_the_last_partition_without_duplicates(local_env, pg_table):
    base = dict(connection="pg", dataset_id="tests", table_id=pg_table, table=pg_table,
                partition_column="day")  # fmt: skip
    dump(**base, query=None)
    with connect_postgres() as conn:
        conn.execute(f"UPDATE {pg_table} SET txt = 'changed' WHERE id = 5")  # in the last day
        conn.execute(f"UPDATE {pg_table} SET txt = 'not dumped' WHERE id = 1")  # an older day
        conn.execute(f"INSERT INTO {pg_table} (id, day, txt) VALUES (6, '2024-03-01', 'new')")
    written = dump(**base, incremental=True)
    assert written.partitions == [
        "ano=2024/mes=02/data=2024-02-29",
        "ano=2024/mes=03/data=2024-03-01",
        NULL_PARTITION,  # rows without a day come on every run
    ]
    table = get_warehouse().query(f"SELECT id, txt FROM tests.{pg_table} ORDER BY id")
    assert table["id"].tolist() == [1, 2, 3, 4, 5, 6]
    texts = dict(zip(table["id"], table["txt"], strict=True))
    assert texts[5] == "changed" and texts[6] == "new" and texts[1] == TEXT


def test_a_relative_since_is_resolved_when_the_task_runs_and_logged(
    local_env, postgres_url, monkeypatch, caplog
):
    import pendulum

    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    name = f"since_{uuid.uuid4().hex[:8]}"
    today = pendulum.now("America/Sao_Paulo").date()
    days = [today.subtract(days=n) for n in (400, 8, 3, 0)]
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} (id int, dia date)")
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {name} VALUES (%s, %s)", list(enumerate(days)))
        try:
            written = dump(connection="pg", dataset_id="tests", table_id=name, table=name,
                           partition_column="dia", since="-7d")  # fmt: skip
        finally:
            conn.execute(f"DROP TABLE {name}")
    assert [key.rsplit("data=", 1)[1] for key in written.partitions] == [
        days[2].isoformat(),
        days[3].isoformat(),
    ]
    assert f"since=-7d: rows from {today.subtract(days=7).isoformat()} on" in caplog.text


def test_a_failure_while_publishing_and_a_rerun_leave_no_duplicates(
    local_env, pg_table, monkeypatch
):
    from pipelines.utils.datalake.local import LocalDatalake

    base = dict(connection="pg", dataset_id="tests", table_id=pg_table, table=pg_table,
                partition_column="day")  # fmt: skip
    dump(**base)
    original = LocalDatalake.replace_prefix
    calls = {"n": 0}

    def flaky(self, prefix, files, move=False):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return original(self, prefix, files, move)

    monkeypatch.setattr(LocalDatalake, "replace_prefix", flaky)
    flow = create_dump_db_flow("tests: dump_db", org="tests")
    assert run_local(flow, base).is_failed()
    monkeypatch.setattr(LocalDatalake, "replace_prefix", original)
    dump(**base)
    assert get_warehouse().row_count("tests", pg_table) == len(ROWS)


KILL_SCRIPT = """
import os, sys
from prefect import Flow
from pipelines.utils.dump_db import create_dump_db_flow
from pipelines.utils.execution import run_local
flow = create_dump_db_flow("tests: dump_db", org="tests")
state = run_local(flow, dict(connection="pg", dataset_id="tests", table_id=sys.argv[1],
                             table=sys.argv[1], partition_column="created_at", batch_size=10000))
sys.exit(0 if state.is_successful() else 1)
"""


def test_a_dump_killed_midway_and_rerun_leaves_no_duplicates(local_env, postgres_url):
    name = f"killed_{uuid.uuid4().hex[:8]}"
    with connect_postgres() as conn:
        conn.execute(
            f"CREATE TABLE {name} AS SELECT g AS id, "
            "timestamp '2024-01-01' + g * interval '1 minute' AS created_at, "
            "md5(g::text) AS note FROM generate_series(1, 300000) g"
        )
    env = {**os.environ, "PIPELINES_DB_PG": postgres_url, "PIPELINES_DATA_DIR": str(local_env)}
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", KILL_SCRIPT, name], cwd=REPO_ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        staging = local_env / ".staging"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not staging.exists():
            time.sleep(0.01)
        time.sleep(0.3)
        process.send_signal(signal.SIGKILL)
        process.wait()
        rerun = subprocess.run([sys.executable, "-c", KILL_SCRIPT, name], cwd=REPO_ROOT, env=env,
                               capture_output=True, text=True)  # fmt: skip
        assert rerun.returncode == 0, rerun.stdout[-3000:]
        counts = (
            get_warehouse()
            .query(f"SELECT count(*) AS n, count(DISTINCT id) AS d FROM tests.{name}")
            .iloc[0]
        )
        assert int(counts["n"]) == int(counts["d"]) == 300000
        assert list(staging.iterdir()) == []  # the killed run's staging went with the rerun
    finally:
        with connect_postgres() as conn:
            conn.execute(f"DROP TABLE {name}")


def test_credentials_never_appear_in_errors_or_logs(local_env, monkeypatch, caplog):
    monkeypatch.setenv("PIPELINES_DB_SECRETDB", "postgresql://user:s3cr3t-pw@127.0.0.1:1/test")
    with Flow("secret") as flow:
        dump_db_to_datalake(connection="secretdb", dataset_id="tests", table_id="t", table="t")
    state = run_local(flow)
    assert state.is_failed()
    (task_state,) = state.result.values()
    assert "s3cr3t-pw" not in str(task_state.result) and "s3cr3t-pw" not in task_state.message
    assert "***" in str(task_state.result) or "user" not in str(task_state.result)
    assert mask("mysql://root:pw@host/db") == "mysql://root:***@host/db"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table": None, "query": None}, "exactly one of table"),
        ({"format": "xlsx"}, "format='xlsx' must be one of parquet, csv"),
        ({"batch_size": 10}, "batch_size=10 must be an integer of at least 1000"),
        ({"mode": "merge"}, "mode='merge' must be one of"),
        ({"incremental": True}, "need partition_column"),
        ({"since": "2024-13-01", "partition_column": "d"}, "since='2024-13-01' is not a day"),
        (
            {"since": "2024-01-01", "partition_column": "d", "mode": "overwrite"},
            "use mode='append'",
        ),
    ],
)
def test_inputs_are_checked_before_connecting(kwargs, message):
    params = dict(dataset_id="ds", table_id="t", table="t", query=None, format="parquet",
                  batch_size=50_000, partition_column=None, incremental=False, since=None,
                  mode="append")  # fmt: skip
    params.update(kwargs)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_inputs(**params)


@pytest.mark.parametrize(
    ("since", "today", "day"),
    [
        ("2024-01-31", "2026-03-15", "2024-01-31"),
        ("current_year", "2026-03-15", "2026-01-01"),
        ("current_month", "2026-03-15", "2026-03-01"),
        ("current_day", "2026-03-15", "2026-03-15"),
        ("-7d", "2026-03-05", "2026-02-26"),
        ("-2w", "2026-03-05", "2026-02-19"),
        ("-1m", "2026-03-31", "2026-02-28"),  # a calendar month, clamped to its last day
        ("-1y", "2024-02-29", "2023-02-28"),
    ],
)
def test_since_takes_dates_and_relative_days(since, today, day):
    from pipelines.utils.dump_db.tasks import since_day

    assert since_day(since, dt.date.fromisoformat(today)) == dt.date.fromisoformat(day)


@pytest.mark.parametrize("since", ["last_year", "7d", "-7h", "2024/01/31", "", 20240131])
def test_a_since_that_is_no_day_lists_the_forms(since):
    from pipelines.utils.dump_db.tasks import since_day

    with pytest.raises(ValueError) as refused:
        since_day(since, dt.date(2026, 3, 15))
    assert str(refused.value) == (
        f"since={since!r} is not a day: give a date (2024-01-31), current_year, current_month, "
        "current_day or an offset back from today (-7d, -2w, -3m, -1y)."
    )


def test_unknown_connection_names_its_setting(local_env):
    with Flow("missing") as flow:
        dump_db_to_datalake(connection="nowhere", dataset_id="tests", table_id="t", table="t")
    (task_state,) = run_local(flow).result.values()
    assert "Missing setting PIPELINES_DB_NOWHERE" in str(task_state.result)


def test_optional_drivers_import_and_missing_ones_say_what_to_install(monkeypatch):
    import builtins

    import connectorx  # noqa: F401  (SQL Server, Oracle and MySQL go through it)

    from pipelines.utils.dump_db import drivers

    real_import = builtins.__import__

    def no_connectorx(name, *args, **kwargs):
        if name == "connectorx":
            raise ImportError("No module named 'connectorx'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "connectorx")
    monkeypatch.setattr(builtins, "__import__", no_connectorx)
    for dialect, extra in (("mssql", "pipelines[mssql]"), ("oracle", "pipelines[oracle]")):
        with pytest.raises(
            ImportError, match=rf"pip install '{extra}'".replace("[", r"\[").replace("]", r"\]")
        ):
            drivers.require(dialect)


def test_mariadb_incremental_on_a_timestamp_uses_the_city_day(local_env, my_table):
    base = dict(connection="my", dataset_id="tests", table_id=my_table, table=my_table,
                partition_column="tstz")  # fmt: skip
    dump(**base)
    conn = connect_mariadb()
    with conn.cursor() as cur:
        cur.execute(f"UPDATE {my_table} SET txt = 'changed' WHERE id = 5")
        cur.execute(f"UPDATE {my_table} SET txt = 'not dumped' WHERE id = 1")
        cur.execute(
            f"INSERT INTO {my_table} (id, tstz, txt) VALUES (6, '2024-03-01 12:00:00', 'new')"
        )
    conn.close()
    written = dump(**base, incremental=True)
    assert written.partitions == [
        "ano=2024/mes=02/data=2024-02-29",
        "ano=2024/mes=03/data=2024-03-01",
        NULL_PARTITION,  # rows without a day come on every run
    ]
    texts = dict(get_warehouse().rows(f"SELECT id, txt FROM tests.{my_table} ORDER BY id"))
    assert sorted(texts) == [1, 2, 3, 4, 5, 6]
    assert texts[5] == "changed" and texts[6] == "new" and texts[1] == TEXT


def test_postgres_copy_reports_progress_while_it_runs():
    import logging

    from pipelines.utils.dump_db.postgres import _progress

    class Running:
        def query_progress(self) -> float:
            return 42.0

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("tests.progress")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    with _progress(Running(), logger, every_s=0.01):
        time.sleep(0.1)
    assert lines and lines[0].startswith("42% read (")


def test_in_dev_the_dump_lands_in_the_bucket_staging_folder(pg_table, gcs_bucket, monkeypatch):
    client, bucket = gcs_bucket
    monkeypatch.setenv("PIPELINES_ENV", "dev")
    monkeypatch.setenv("PIPELINES_DATALAKE_BUCKET", bucket)
    monkeypatch.setenv("PIPELINES_BIGQUERY_PROJECT", "unused-here")  # every dev run needs one
    with Flow("dev dump") as flow:
        result = dump_db_to_datalake(connection="pg", dataset_id="tests", table_id=pg_table,
                                     table=pg_table, partition_column="day")  # fmt: skip
    state = run_local(flow)
    assert state.is_successful(), state.message
    written = state.result[result].result
    names = sorted(b.name for b in client.list_blobs(bucket))
    # The schema history lives beside the tables, never among a table's files.
    history = f"staging/_schemas/tests/{pg_table}.json"
    assert history in names
    names.remove(history)
    assert all(n.startswith(f"staging/tests/{pg_table}/ano=") for n in names)
    assert len(names) == len(written.partitions) == 4  # three days and the NULL partition
    import pyarrow.parquet as pq

    total = sum(
        pq.read_metadata(io.BytesIO(client.bucket(bucket).blob(n).download_as_bytes())).num_rows
        for n in names
    )  # fmt: skip
    assert total == len(ROWS) == written.rows


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_columns_named_like_partition_keys_keep_their_values(local_env, postgres_url, monkeypatch,
                                                             fmt):  # fmt: skip
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    name = f"keys_{uuid.uuid4().hex[:8]}"
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} (id int, ano text, mes text, data text, dia date)")
        conn.execute(f"INSERT INTO {name} VALUES (1, 'dois mil', 'janeiro', 'ontem', '2024-05-02')")
        try:
            written = dump(connection="pg", dataset_id="tests", table_id=name, table=name,
                           format=fmt, partition_column="dia")  # fmt: skip
        finally:
            conn.execute(f"DROP TABLE {name}")
    assert written.partitions == ["ano_particao=2024/mes_particao=05/data_particao=2024-05-02"]
    ((ano, mes, data, ano_particao, mes_particao),) = get_warehouse().rows(
        f"SELECT ano, mes, data, ano_particao, mes_particao FROM tests.{name}"
    )
    assert (ano, mes, data) == ("dois mil", "janeiro", "ontem")
    assert (int(ano_particao), int(mes_particao)) == (2024, 5)


def test_quoted_schema_and_table_names_dump_as_table(local_env, postgres_url, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    with connect_postgres() as conn:
        conn.execute('CREATE SCHEMA IF NOT EXISTS "Odd Schema"')
        conn.execute('CREATE TABLE "Odd Schema"."Weird ""Table""" (id int)')
        conn.execute('INSERT INTO "Odd Schema"."Weird ""Table""" VALUES (7)')
        try:
            written = dump(connection="pg", dataset_id="tests", table_id="weird",
                           table='"Odd Schema"."Weird ""Table"""')  # fmt: skip
        finally:
            conn.execute('DROP SCHEMA "Odd Schema" CASCADE')
    assert written.rows == 1


@pytest.mark.parametrize(
    "table",
    ['x"; DROP TABLE y; --', "a.b.c", '"unclosed', "a b", ""],
)
def test_table_names_that_are_not_names_are_refused(table):
    from pipelines.utils.dump_db.identifiers import quote

    with pytest.raises(ValueError):
        quote("postgres", table)


def test_quoting_escapes_the_quote_character():
    from pipelines.utils.dump_db.identifiers import quote

    assert quote("postgres", '"a""b".c') == '"a""b"."c"'
    assert quote("mysql", "`a``b`") == "`a``b`"


def test_an_empty_mariadb_table_is_an_empty_table(local_env, mariadb_url, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB_MY", mariadb_url)
    name = f"empty_{uuid.uuid4().hex[:8]}"
    conn = connect_mariadb()
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} (id int, label varchar(10))")
    try:
        written = dump(connection="my", dataset_id="tests", table_id=name, table=name)
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE {name}")
        conn.close()
    assert written.rows == 0
    assert get_warehouse().rows(f"SELECT count(*) FROM tests.{name}") == [(0,)]
    columns = get_warehouse().rows(
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_schema = 'tests' AND table_name = '{name}'"
    )
    assert [c for (c,) in columns] == ["id", "label"]


def test_mariadb_column_names_with_quotes_and_spaces(local_env, mariadb_url, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB_MY", mariadb_url)
    name = f"cols_{uuid.uuid4().hex[:8]}"
    conn = connect_mariadb()
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} (`we``ird` int, `a b` decimal(40,2), `t` time)")
        cursor.execute(f"INSERT INTO {name} VALUES (1, 12.5, '-01:00:00')")
    try:
        written = dump(connection="my", dataset_id="tests", table_id=name, table=name)
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE {name}")
        conn.close()
    assert written.rows == 1
    assert get_warehouse().rows(f'SELECT "we`ird", "a b", t FROM tests.{name}') == [
        (1, "12.50", "-01:00:00")  # DECIMAL wider than 38 digits is exact text
    ]


@pytest.mark.parametrize(
    ("source", "fmt", "partition"),
    [("pg", "parquet", "d"), ("pg", "csv", "d"), ("pg", "csv", None), ("my", "parquet", "d"),
     ("my", "csv", None)],
)  # fmt: skip
def test_an_empty_result_makes_an_empty_table_and_never_empties_a_partitioned_one(
    local_env, postgres_url, mariadb_url, monkeypatch, source, fmt, partition
):
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    monkeypatch.setenv("PIPELINES_DB_MY", mariadb_url)
    name = f"empty_{uuid.uuid4().hex[:8]}"
    create = f"CREATE TABLE {name} (id int, d date, ts timestamp)"
    params = dict(connection=source, dataset_id="tests", table_id=name, table=name, format=fmt,
                  partition_column=partition)  # fmt: skip

    def execute(sql: str) -> None:
        if source == "pg":
            with connect_postgres() as conn:
                conn.execute(sql)
        else:
            conn = connect_mariadb()
            with conn.cursor() as cursor:
                cursor.execute(sql)
            conn.close()

    execute(create)
    try:
        assert dump(**params).rows == 0
        assert get_warehouse().rows(f"SELECT count(*) FROM tests.{name}") == [(0,)]
        columns = get_warehouse().rows(
            "SELECT column_name FROM information_schema.columns "
            f"WHERE table_schema = 'tests' AND table_name = '{name}'"
        )
        assert {"id", "d", "ts"} <= {c for (c,) in columns}
        execute(f"INSERT INTO {name} VALUES (1, '2024-05-02', '2024-05-02 10:00:00')")
        assert dump(**params).rows == 1
        execute(f"DELETE FROM {name}")
        dump(**params)
        # Partitioned, an empty result leaves the table; unpartitioned, it empties it.
        expected = 1 if partition else 0
        assert get_warehouse().rows(f"SELECT count(*) FROM tests.{name}") == [(expected,)]
    finally:
        execute(f"DROP TABLE {name}")


@pytest.mark.parametrize(("dialect", "fmt"), [("pg", "parquet"), ("pg", "csv"), ("my", "parquet")])
def test_each_partition_is_one_file_however_its_rows_arrive(
    local_env, postgres_url, mariadb_url, monkeypatch, dialect, fmt
):
    from pipelines.utils.dump_db import staged, writer

    # Rows of 3 days interleaved, and a writer allowed one open file and tiny buffers: every
    # partition's rows arrive in many pieces.
    monkeypatch.setattr(staged, "MAX_OPEN_FILES", 1)
    monkeypatch.setattr(staged, "ARROW_OPEN_FILES", 1)
    monkeypatch.setattr(writer, "BUFFER_ROWS", 50)
    monkeypatch.setattr(staged, "ROW_GROUP_ROWS", 1000)
    name = f"interleaved_{uuid.uuid4().hex[:8]}"
    create = f"CREATE TABLE {name} (id int PRIMARY KEY, day date, txt text)"
    rows = [(i, dt.date(2024, 1, 1 + i % 3), f"row {i}") for i in range(6000)]
    monkeypatch.setenv("PIPELINES_DB_SRC", postgres_url if dialect == "pg" else mariadb_url)
    _create(dialect, create, rows)
    try:
        written = dump(
            connection="src", table=name, dataset_id="tests", table_id=name, format=fmt,
            partition_column="day", batch_size=1000,
        )  # fmt: skip
    finally:
        _drop("pg" if dialect == "pg" else "my", name)

    assert written.rows == 6000
    folders = {}
    for key in written.keys:
        folders.setdefault(key.rsplit("/", 1)[0], []).append(key)
    assert len(folders) == 3
    assert all(len(files) == 1 for files in folders.values()), folders
    got = get_warehouse().rows(f"SELECT id, txt FROM tests.{name} ORDER BY id")
    assert got == [(i, f"row {i}") for i in range(6000)]
    merged = [key for files in folders.values() for key in files if "/merged-" in key]
    if dialect == "my" or fmt == "csv":  # our writer: the pieces were merged
        assert len(merged) == 3
    for key in merged if fmt == "parquet" else []:
        import pyarrow.parquet as pq

        # 2000 rows per day, in row groups of 1000 whatever size the pieces had.
        assert pq.read_metadata(local_env / "datalake" / key).num_row_groups == 2


def test_interleaved_days_still_make_whole_row_groups(local_env, mariadb_url, monkeypatch):
    import pyarrow.parquet as pq

    from pipelines.utils.dump_db import staged, writer

    # Days interleaved row by row and tiny buffers: written as they came, each partition
    # would be row groups of 50 rows; spooled, it is row groups of ROW_GROUP_ROWS.
    monkeypatch.setattr(writer, "BUFFER_ROWS", 50)
    monkeypatch.setattr(staged, "ROW_GROUP_ROWS", 1000)
    monkeypatch.setenv("PIPELINES_DB_SRC", mariadb_url)
    name = f"interleaved_{uuid.uuid4().hex[:8]}"
    conn = connect_mariadb()
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, day date, txt text)")
        cur.executemany(
            f"INSERT INTO {name} VALUES (%s, %s, %s)",
            [(i, dt.date(2024, 1, 1 + i % 3), f"row {i}") for i in range(6500)],
        )
    try:
        written = dump(
            connection="src", table=name, dataset_id="tests", table_id=name,
            partition_column="day", batch_size=1000,
        )  # fmt: skip
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE {name}")
        conn.close()

    assert written.rows == 6500 and len(written.keys) == 3
    for key in written.keys:
        metadata = pq.read_metadata(local_env / "datalake" / key)
        groups = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        assert groups in ([1000, 1000, 167], [1000, 1000, 166]), (key, groups)
    assert not list(local_env.rglob("*.arrows"))  # no spool left, published or staged


# A dump in a process of its own, as a flow run is; prints the heavy modules it loaded.
LOADED_PROBE = """
import sys
from prefect import Flow
from pipelines.utils.dump_db import dump_db_to_datalake
from pipelines.utils.execution import run_local
with Flow("probe") as flow:
    dump_db_to_datalake(connection="pg", dataset_id="tests", table_id=sys.argv[1],
                        table=sys.argv[1], partition_column=sys.argv[2] or None)
assert run_local(flow).is_successful()
print(sorted(m for m in ("pyarrow", "pandas", "google.cloud.storage") if m in sys.modules))
"""


WHOLE_FLOW_PROBE = """
import sys
from pipelines.utils.dump_db import create_dump_db_flow
from pipelines.utils.execution import run_local
connection, fmt = sys.argv[3:5] if len(sys.argv) > 4 else ("pg", "parquet")
state = run_local(create_dump_db_flow("probe", org="tests"), dict(
    connection=connection, dataset_id="tests", table_id=sys.argv[1], table=sys.argv[1],
    partition_column=sys.argv[2] or None, format=fmt))
assert state.is_successful()
print(sorted(m for m in ("pyarrow", "pandas", "google.cloud.storage") if m in sys.modules))
"""


def test_the_whole_postgres_flow_with_its_load_loads_neither_pandas_nor_pyarrow(
    local_env, pg_table
):
    # The local load passes files and times as literals: a parameter list made DuckDB's
    # module import pandas and pyarrow, 80 MB of the flow's process (224 MB -> 146 MB).
    result = subprocess.run(
        [sys.executable, "-c", WHOLE_FLOW_PROBE, pg_table, "day"],
        cwd=REPO_ROOT, env=os.environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(("server", "fmt"), [("pg", "csv"), ("my", "parquet"), ("my", "csv")])
def test_the_arrow_path_never_loads_pandas(local_env, both_servers, server, fmt):
    # Arrow imports pandas (80 MB) when it converts any Python value (a scalar to compare
    # with, an empty table) and DuckDB when it is handed an Arrow object: this path does neither.
    table = f"arrow_path_{uuid.uuid4().hex[:8]}"
    rows = [(1, dt.date(2024, 1, 2), "a"), (2, None, "b"), (3, dt.date(2024, 1, 3), None)]
    _grain_table(server, table, rows)
    try:
        result = subprocess.run(
            [sys.executable, "-c", WHOLE_FLOW_PROBE, table, "periodo", server, fmt],
            cwd=REPO_ROOT, env=os.environ, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        _drop(server, table)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "['pyarrow']"


@pytest.mark.parametrize("partition", ["", "day"])
def test_a_postgres_dump_to_parquet_loads_neither_pyarrow_nor_gcs(local_env, pg_table, partition):
    # pyarrow alone is 75 MB of the process and the GCS client 50 MB (bench/dump_db.py).
    result = subprocess.run(
        [sys.executable, "-c", LOADED_PROBE, pg_table, partition],
        cwd=REPO_ROOT, env=os.environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
@pytest.mark.parametrize(
    ("password", "char"),
    [
        ("my@Pw0rd", "'@'"),
        ("a@b@c", "'@'"),
        ("pa/ss", "'/'"),
        ("pa?ss", "'?'"),
        ("pa#ss", "'#'"),
        ("@start", "'@'"),
        # Digits before the separator read as a port to urlsplit: the check must not stop there.
        ("12/Zq9secret", "'/'"),
        ("12#Zq9secret", "'#'"),
        ("12?Zq9secret", "'?'"),
        ("12@Zq9secret", "'@'"),
    ],
)
def test_a_password_with_an_unencoded_separator_is_refused_and_never_shown(
    local_env, monkeypatch, scheme, password, char
):
    from pipelines.settings import SettingsError, load_settings
    from pipelines.utils.dump_db.connections import get_connection
    from pipelines.utils.redaction import redact

    url = f"{scheme}://u:{password}@127.0.0.1:5432/sales"
    monkeypatch.setenv("PIPELINES_DB_SALES", url)
    with pytest.raises(SettingsError) as raised:
        get_connection("sales", load_settings())
    message = str(raised.value)
    assert message.startswith(f"PIPELINES_DB_SALES: this URL holds an unencoded {char} where ")
    assert "%40" in message and password not in message
    assert redact(f"connecting to {url}") == "connecting to ***"
    for piece in [password, *re.split(r"[@/?#]", password)]:
        if len(piece) >= 3:  # what the flood of a driver's error could have shown
            assert piece not in redact(f"could not translate host name {piece} to address")


def test_every_url_the_parsers_read_differently_is_refused():
    """The class, not the examples: each separator at each place of a password, alone and
    after digits (a port to urlsplit), is either refused or read alike by every parser."""
    from pipelines.utils.redaction import ambiguous_userinfo, userinfo_views

    for scheme in ("postgresql", "mysql"):
        for sep in "@/?#:":
            for password in (f"{sep}x9Sec", f"x9{sep}Sec", f"12{sep}Sec", f"x9Sec{sep}"):
                url = f"{scheme}://u:{password}@127.0.0.1:5432/db"
                views = set(userinfo_views(url).values())
                assert (ambiguous_userinfo(url) is None) == (len(views) == 1), url
                if len(views) == 1:  # accepted only when every parser sees the same password
                    assert views == {f"u:{password}"}, url


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://reader:my%40Pw0rd@db.internal:5432/sales",
        "postgresql://reader:pa%2Fss%3F%23@db.internal/sales?sslmode=require",
        "postgresql://db.internal/sales?options=-c%20search_path%3Dx@y",
        "mysql://root@127.0.0.1:3306/test",
    ],
)
def test_encoded_and_plain_urls_are_accepted(local_env, monkeypatch, url):
    from pipelines.settings import load_settings
    from pipelines.utils.dump_db.connections import get_connection

    monkeypatch.setenv("PIPELINES_DB_SALES", url)
    assert get_connection("sales", load_settings()).url == url


def test_a_secret_holding_an_ambiguous_url_is_refused_too(local_env, monkeypatch):
    from pipelines.settings import SettingsError, load_settings
    from pipelines.utils.dump_db.connections import get_connection

    monkeypatch.setenv("PIPELINES_DB_SALES", "secret:sales/db")
    monkeypatch.setenv("PIPELINES_SECRET_SALES_DB", '{"url": "postgresql://u:my@Pw0rd@h:5432/db"}')
    with pytest.raises(SettingsError, match="holds an unencoded '@' where"):
        get_connection("sales", load_settings())


def test_an_at_sign_after_a_port_is_refused_where_sqlalchemy_would_read_a_password(
    local_env, monkeypatch
):
    from pipelines.settings import SettingsError, load_settings
    from pipelines.utils.dump_db.connections import get_connection

    # make_url reads user 'db.internal', password '5432/sales?options=...' and host 'z'.
    monkeypatch.setenv("PIPELINES_DB_SALES", "postgresql://db.internal:5432/sales?o=x%3Dy@z")
    with pytest.raises(SettingsError, match="unencoded '/', '\\?' where"):
        get_connection("sales", load_settings())
    encoded = "postgresql://db.internal:5432/sales?o=x%3Dy%40z"
    monkeypatch.setenv("PIPELINES_DB_SALES", encoded)
    assert get_connection("sales", load_settings()).url == encoded


@pytest.mark.parametrize(
    ("connection", "table", "message"),
    [
        ("pg", "public.nope", "table public.nope does not exist (or this login cannot see it)."),
        ("pg", "nope", "table public.nope does not exist (or this login cannot see it)."),
        ("my", "nope", "table test.nope does not exist (or this login cannot see it)."),
    ],
)
def test_a_missing_table_says_so_not_the_catalog_query(
    local_env, postgres_url, mariadb_url, monkeypatch, connection, table, message
):
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    monkeypatch.setenv("PIPELINES_DB_MY", mariadb_url)
    with Flow("missing table") as flow:
        dump_db_to_datalake(connection=connection, dataset_id="tests", table_id="t", table=table)
    (task_state,) = run_local(flow).result.values()
    assert str(task_state.result) == message


@pytest.mark.parametrize(
    ("query", "word"),
    [("DELETE FROM x", "DELETE"), ("  -- note\n(DROP TABLE x)", "DROP"), ("SELEC 1", "SELEC")],
)
def test_a_query_that_is_not_a_select_is_refused_before_connecting(query, word):
    params = dict(dataset_id="ds", table_id="t", table=None, query=query, format="parquet",
                  batch_size=50_000, partition_column=None, incremental=False, since=None,
                  mode="append")  # fmt: skip
    with pytest.raises(ValueError) as refused:
        check_inputs(**params)
    assert str(refused.value) == (
        f"query= must be one SELECT (or WITH ... SELECT); it starts with {word}. dump_db only "
        "reads: give the SELECT whose rows to dump."
    )
    for fine in ("SELECT 1", "with a as (select 1) select * from a", "/* c */ (SELECT 1)"):
        check_inputs(**{**params, "query": fine})


@pytest.fixture
def zero_dates_table(mariadb_url, monkeypatch):
    """A MariaDB table holding zero dates ('0000-00-00', '2024-00-00') beside real ones."""
    monkeypatch.setenv("PIPELINES_DB_MY", mariadb_url)
    name = f"zeros_{uuid.uuid4().hex[:8]}"
    conn = connect_mariadb()
    with conn.cursor() as cursor:
        cursor.execute("SET SESSION sql_mode = ''")  # what lets such dates in
        cursor.execute(f"CREATE TABLE {name} (id int, d date, ts datetime)")
        cursor.execute(
            f"INSERT INTO {name} VALUES (1, '2024-03-04', '2024-03-04 10:00:00'), "
            "(2, '0000-00-00', '2024-03-05 11:00:00'), (3, '2024-00-00', '0000-00-00 00:00:00'), "
            "(4, NULL, NULL)"
        )
    conn.commit()
    yield name
    with conn.cursor() as cursor:
        cursor.execute(f"DROP TABLE {name}")
    conn.close()


def test_a_mariadb_zero_date_fails_the_dump_naming_the_column_not_the_process(
    local_env, zero_dates_table
):
    flow = create_dump_db_flow("tests: dump_db", org="tests")
    state = run_local(
        flow, {"connection": "my", "dataset_id": "tests", "table_id": zero_dates_table,
               "table": zero_dates_table},
    )  # fmt: skip
    assert state.is_failed()
    (error,) = [s.result for t, s in state.result.items() if t.name == "dump_db_to_datalake"]
    assert str(error).startswith(
        "column 'd' holds MySQL zero dates (e.g. '0000-00-00'), which no date type can hold: "
        "pass zero_dates='null' to read them as NULL"
    )
    assert not (local_env / "datalake" / "tests" / zero_dates_table).exists()


def test_zero_dates_null_reads_them_as_null_and_counts_them(local_env, zero_dates_table, caplog):
    written = dump(connection="my", dataset_id="tests", table_id=zero_dates_table,
                   table=zero_dates_table, zero_dates="null")  # fmt: skip
    assert written.rows == 4
    rows = get_warehouse().rows(f"SELECT id, d, ts FROM tests.{zero_dates_table} ORDER BY id")
    assert rows == [
        (1, dt.date(2024, 3, 4), dt.datetime(2024, 3, 4, 10)),
        (2, None, dt.datetime(2024, 3, 5, 11)),
        (3, None, None),
        (4, None, None),
    ]
    assert "d: 2 zero date(s) read as NULL (zero_dates='null')" in caplog.text
    assert "ts: 1 zero date(s) read as NULL (zero_dates='null')" in caplog.text


def _insert(server: str, table: str, rows: list[tuple]) -> None:
    """Add (id, day, txt) rows to a table of the PostgreSQL ("pg") or MariaDB ("my") server."""
    sql = f"INSERT INTO {table} (id, day, txt) VALUES (%s, %s, %s)"
    if server == "pg":
        with connect_postgres() as conn, conn.cursor() as cur:
            cur.executemany(sql, rows)
        return
    conn = connect_mariadb()
    with conn.cursor() as cur:
        cur.executemany(sql, rows)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("server", ["pg", "my"])
def test_incremental_never_stalls_on_a_future_row_and_takes_rows_without_a_day(
    local_env, pg_table, my_table, server, caplog
):
    table = pg_table if server == "pg" else my_table
    base = dict(connection=server, dataset_id="tests", table_id=table, table=table,
                partition_column="day")  # fmt: skip
    dump(**base)
    added = [
        (10, "9999-12-31", "from the far future"),  # a typo in the source
        (11, (dt.date.today() - dt.timedelta(days=1)).isoformat(), "yesterday"),
        (12, None, "no day yet"),
    ]
    _insert(server, table, added)
    dump(**base, incremental=True)  # takes the future row, and must not stop at it
    later = [(13, dt.date.today().isoformat(), "today"), (14, None, "another without a day")]
    _insert(server, table, later)
    dump(**base, incremental=True)

    texts = dict(get_warehouse().rows(f"SELECT id, txt FROM tests.{table}"))
    assert {10, 11, 12, 13, 14} <= set(texts), texts
    assert texts[13] == "today" and texts[14] == "another without a day"
    assert "1 partition(s) lie beyond tomorrow (the last: 9999-12-31)" in caplog.text


@pytest.mark.parametrize("how", ["table", "query"])
def test_columns_differing_only_in_case_are_refused_naming_both(
    local_env, postgres_url, monkeypatch, how
):
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    name = f"cased_{uuid.uuid4().hex[:8]}"
    with connect_postgres() as conn:
        conn.execute(f'CREATE TABLE {name} ("X" int, x int, "Day" date)')
        conn.execute(f"INSERT INTO {name} VALUES (1, 2, '2024-01-01')")
        try:
            source = {"table": name} if how == "table" else {"query": f"SELECT * FROM {name}"}
            flow = create_dump_db_flow("tests: dump_db", org="tests")
            state = run_local(
                flow, {"connection": "pg", "dataset_id": "tests", "table_id": name, **source}
            )
        finally:
            conn.execute(f"DROP TABLE {name}")
    assert state.is_failed()
    (error,) = [s.result for t, s in state.result.items() if t.name == "dump_db_to_datalake"]
    assert str(error).startswith(
        "columns 'X' and 'x' differ only in case, and DuckDB and BigQuery take such names for "
        "one column"
    )
    assert not (local_env / "datalake" / "tests" / name).exists()


def test_a_year_of_days_of_a_wide_postgres_table_dumps_with_partitions(
    local_env, postgres_url, monkeypatch, caplog
):
    """365 days x 15 text columns: DuckDB's partitioned writer runs out of its memory cap
    (it holds a buffer per day and column); the dump writes the days from a stream instead."""
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    name = f"wide_{uuid.uuid4().hex[:8]}"
    columns = ", ".join(f"c{i} varchar(200)" for i in range(15))
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} (id int, day date, {columns})")
        conn.execute(
            f"INSERT INTO {name} SELECT n, DATE '2023-01-01' + (n % 365), "
            + ", ".join(f"'value ' || n || ' {i} ' || repeat('x', 40)" for i in range(15))
            + " FROM generate_series(0, 1094) AS n"
        )
        try:
            written = dump(connection="pg", dataset_id="tests", table_id=name, table=name,
                           partition_column="day")  # fmt: skip
        finally:
            conn.execute(f"DROP TABLE {name}")
    assert written.rows == 1095 and len(written.partitions) == 365
    assert get_warehouse().rows(f"SELECT count(*), count(DISTINCT data) FROM tests.{name}") == [
        (1095, 365)
    ]


def _create(server: str, create: str, rows: list[tuple]) -> None:
    """Run a CREATE TABLE on a server ("pg" or "my") and insert the rows."""
    name = create.split()[2]
    insert = f"INSERT INTO {name} VALUES ({', '.join(['%s'] * len(rows[0]))})"
    if server == "pg":
        with connect_postgres() as conn:
            conn.execute(create)
            with conn.cursor() as cursor:
                cursor.executemany(insert, rows)
    else:
        conn = connect_mariadb()
        with conn.cursor() as cursor:
            cursor.execute(create)
            cursor.executemany(insert, rows)
        conn.close()


def _grain_table(server: str, name: str, rows: list[tuple]) -> None:
    kind = "int" if isinstance(rows[0][1], int) else "date"
    _create(server, f"CREATE TABLE {name} (id int, periodo {kind}, v text)", rows)


def _drop(server: str, name: str) -> None:
    if server == "pg":
        with connect_postgres() as conn:
            conn.execute(f"DROP TABLE {name}")
    else:
        conn = connect_mariadb()
        with conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE {name}")
        conn.close()


@pytest.mark.parametrize("server", ["pg", "my"])
def test_a_dump_partitions_by_month_and_its_incremental_run_takes_the_last_month(
    local_env, both_servers, server
):
    name = f"mensal_{uuid.uuid4().hex[:8]}"
    days = [dt.date(2024, 1, 5), dt.date(2024, 1, 28), dt.date(2024, 2, 3), dt.date(2024, 3, 9)]
    _grain_table(server, name, [(i, day, "a") for i, day in enumerate(days)])
    base = dict(connection=server, dataset_id="tests", table_id=name, table=name,
                partition_column="periodo", partition_by="month")  # fmt: skip
    try:
        assert dump(**base).partitions == ["ano=2024/mes=01", "ano=2024/mes=02", "ano=2024/mes=03"]
        extra = [(10, dt.date(2024, 3, 20), "new"), (11, dt.date(2024, 1, 2), "late, old month")]
        with connect_postgres() if server == "pg" else _mariadb_cursor() as handle:
            for row in extra:
                handle.execute(f"INSERT INTO {name} VALUES ({row[0]}, '{row[1]}', '{row[2]}')")
        written = dump(**base, incremental=True)
    finally:
        _drop(server, name)
    assert written.partitions == ["ano=2024/mes=03"]  # the last month, whole, again
    assert get_warehouse().rows(
        f"SELECT ano, mes, count(*) FROM tests.{name} GROUP BY ALL ORDER BY ALL"
    ) == [(2024, 1, 2), (2024, 2, 1), (2024, 3, 2)]


@pytest.mark.parametrize("server", ["pg", "my"])
def test_an_integer_year_column_partitions_by_year_from_the_current_year(
    local_env, both_servers, server
):
    """A budget table's exercicio (2024, 2025, ...) with since='current_year', as the
    original system's lower_bound_date='current_year' dumps did."""
    import pendulum

    year = pendulum.now("America/Sao_Paulo").year
    name = f"anual_{uuid.uuid4().hex[:8]}"
    _grain_table(server, name, [(1, year - 2, "a"), (2, year - 1, "b"), (3, year, "c"),
                                (4, year, "d")])  # fmt: skip
    base = dict(connection=server, dataset_id="tests", table_id=name, table=name,
                partition_column="periodo", partition_by="year")  # fmt: skip
    try:
        assert dump(**base).partitions == [f"ano={year - 2}", f"ano={year - 1}", f"ano={year}"]
        written = dump(**base, since="current_year")
    finally:
        _drop(server, name)
    assert written.partitions == [f"ano={year}"] and written.rows == 2
    counts = f"SELECT ano, count(*) FROM tests.{name} GROUP BY ALL ORDER BY ALL"
    assert get_warehouse().rows(counts) == [(year - 2, 1), (year - 1, 1), (year, 2)]


@contextlib.contextmanager
def _mariadb_cursor():
    conn = connect_mariadb()
    try:
        yield conn.cursor()
    finally:
        conn.close()


@pytest.mark.parametrize("server", ["pg", "my"])
def test_year_and_month_columns_partition_by_month_and_incremental_takes_the_last(
    local_env, both_servers, server
):
    """A table that keeps its period as two numbers (exercicio, mes), as finance systems do."""
    name = f"mes_{uuid.uuid4().hex[:8]}"
    create = f"CREATE TABLE {name} (exercicio int, mes int, v int)"
    rows = [(2023, 12, 1), (2024, 1, 2), (2024, 2, 3), (2024, 2, 4)]
    handle = connect_postgres() if server == "pg" else _mariadb_cursor()
    with handle as cursor:
        cursor.execute(create)
        for row in rows:
            cursor.execute(f"INSERT INTO {name} VALUES {row}")
    base = dict(connection=server, dataset_id="tests", table_id=name, table=name,
                partition_column="exercicio,mes", partition_by="month")  # fmt: skip
    try:
        first = dump(**base)
        with connect_postgres() if server == "pg" else _mariadb_cursor() as cursor:
            cursor.execute(f"INSERT INTO {name} VALUES (2024, 2, 5), (2023, 11, 6)")
        again = dump(**base, incremental=True)
    finally:
        _drop(server, name)
    # The table has its own mes column: the folders take the suffixed names.
    assert first.partitions == [
        "ano_particao=2023/mes_particao=12", "ano_particao=2024/mes_particao=01",
        "ano_particao=2024/mes_particao=02",
    ]  # fmt: skip
    assert again.partitions == ["ano_particao=2024/mes_particao=02"] and again.rows == 3
    counts = (
        f"SELECT ano_particao, mes_particao, count(*) FROM tests.{name} GROUP BY ALL ORDER BY ALL"
    )
    assert get_warehouse().rows(counts) == [(2023, 12, 1), (2024, 1, 1), (2024, 2, 3)]


@pytest.mark.parametrize(
    ("kind", "value", "year"),
    [("date", "'200000-01-01'", "200000"), ("timestamp", "'0001-01-01 00:00 BC'", "0"),
     ("timestamptz", "'200000-01-01 00:00+00'", "200000")],
)  # fmt: skip
def test_a_date_csv_cannot_hold_is_refused_by_name_and_parquet_keeps_it(
    local_env, postgres_url, monkeypatch, kind, value, year
):
    """PostgreSQL holds years past 9999 and before 1; Arrow's CSV writer printed them as
    '<value out of range: ...>' or as another year (200000 became 3392, silently)."""
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    name = f"range_{uuid.uuid4().hex[:8]}"
    params = dict(connection="pg", dataset_id="tests", table_id=name, table=name)
    with connect_postgres() as conn:
        conn.execute(f"CREATE TABLE {name} (id int, v {kind})")
        conn.execute(f"INSERT INTO {name} VALUES (1, {value}), (2, NULL)")
        try:
            state = run_local(create_dump_db_flow("tests: dump_db", org="tests"),
                              {**params, "format": "csv"})  # fmt: skip
            kept = dump(**params)
        finally:
            conn.execute(f"DROP TABLE {name}")
    (message,) = [str(s.result) for t, s in state.result.items()
                  if t.name == "dump_db_to_datalake"]  # fmt: skip
    assert message.startswith(f"column 'v' ({'date32[day]' if kind == 'date' else 'timestamp'}"), (
        message
    )
    assert f"holds a value outside the years 1 to 9999 (about year {year}), which CSV and " \
           "BigQuery cannot hold: use format='parquet'" in message  # fmt: skip
    assert kept.rows == 2  # Parquet holds it exactly


def test_a_wide_result_is_read_in_batches_of_at_most_a_million_values():
    # 50,000 rows of 400 columns held about 200 MB in one Arrow batch.
    from pipelines.utils.dump_db.sources import batch_rows

    assert [batch_rows(50_000, width) for width in (9, 60, 400, 1600, 100_000)] == [
        50_000, 16_666, 2_500, 625, 256
    ]  # fmt: skip
    assert batch_rows(1_000, 9) == 1_000
