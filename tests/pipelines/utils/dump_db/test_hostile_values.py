"""Values known to break database-to-Arrow converters, fed to dump_db on the real servers.

Each value either arrives exactly (compared as DuckDB's text of it, which holds BC dates and
years past 9999 that Python's datetime cannot) or fails the run before anything is
published, naming the column. None may crash the process, and none may arrive changed: the
test prints how many did, which must be 0.
"""

from __future__ import annotations

import uuid

import pytest

from pipelines.utils.dump_db import create_dump_db_flow
from pipelines.utils.execution import run_local
from pipelines.utils.warehouse import get_warehouse
from tests.conftest import connect_mariadb, connect_postgres


class Refused(str):
    """An outcome that is a refusal holding this phrase (and naming the column)."""


CSV_YEARS = Refused("outside the years 1 to 9999")
INFINITY = Refused("infinity, which Parquet and CSV cannot hold")
ZERO = Refused("holds MySQL zero dates")
# (server, column type, SQL literal, {(format, zero_dates): the text DuckDB shows, or the
# phrase the refusal holds}); "*" stands for every format and zero_dates.
CASES = [
    ("pg", "date", "'0001-01-01 BC'", {"parquet": "0001-01-01 (BC)", "csv": CSV_YEARS}),
    ("pg", "timestamp", "'4713-01-01 00:00:00 BC'",
     {"parquet": "4713-01-01 (BC) 00:00:00", "csv": CSV_YEARS}),
    ("pg", "date", "'5874897-12-31'", {"parquet": "5874897-12-31", "csv": CSV_YEARS}),
    ("pg", "timestamp", "'294276-12-31 23:59:59'", {"*": Refused("past the year 294246")}),
    ("pg", "timestamptz", "'294276-12-31 23:59:59+00'", {"*": Refused("past the year 294246")}),
    ("pg", "timestamptz", "'-infinity'", {"*": INFINITY}),
    ("pg", "timestamp", "'infinity'", {"*": INFINITY}),
    ("pg", "date", "'-infinity'", {"*": INFINITY}),
    ("pg", "numeric(10,2)", "'NaN'", {"*": Refused("holds 'NaN', which no DECIMAL")}),
    ("pg", "numeric", "'NaN'", {"*": "NaN"}),
    ("pg", "numeric", "'-Infinity'", {"*": "-Infinity"}),
    ("pg", "double precision", "'NaN'", {"*": "nan"}),
    ("pg", "text", "E'\\\\x00 \\u00e7'", {"*": "\\x00 ç"}),
    ("my", "date", "'0000-00-00'", {"fail": ZERO, "null": None}),
    ("my", "datetime", "'2024-00-00 00:00:00'", {"fail": ZERO, "null": None}),
    ("my", "timestamp NULL", "'0000-00-00 00:00:00'", {"fail": ZERO, "null": None}),
    ("my", "date", "'2024-02-00'", {"fail": ZERO, "null": None}),
    ("my", "datetime", "'0000-01-01 00:00:00'", {"fail": ZERO, "null": None}),
    ("my", "year", "0", {"*": "0"}),
    ("my", "time", "'-838:59:59'", {"*": "-838:59:59"}),
    ("my", "varchar(10) CHARACTER SET latin1", "CONVERT(x'8190ff00' USING latin1)",
     {"*": "\x81\x90ÿ\x00"}),
    ("my", "varchar(10) CHARACTER SET utf8mb4", "CONVERT(x'c328' USING latin1)", {"*": "Ã("}),
]  # fmt: skip
CHANGED: list[str] = []


def _execute(server: str, sql: str) -> None:
    if server == "pg":
        with connect_postgres() as conn:
            conn.execute(sql)
        return
    conn = connect_mariadb()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET SESSION sql_mode = ''")  # zero dates, as old servers kept them
            cursor.execute(sql)
    finally:
        conn.close()


def _expected(outcomes: dict, fmt: str, zero_dates: str):
    for key in (fmt, zero_dates, "*"):
        if key in outcomes:
            return outcomes[key]
    raise AssertionError(f"no outcome for {fmt}, {zero_dates}")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize(("server", "kind", "literal", "outcomes"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])  # fmt: skip
def test_a_value_that_breaks_converters(local_env, postgres_url, mariadb_url, monkeypatch,
                                        server, kind, literal, outcomes, fmt):  # fmt: skip
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    monkeypatch.setenv("PIPELINES_DB_MY", mariadb_url)
    table = f"hostile_{uuid.uuid4().hex[:8]}"
    _execute(server, f"CREATE TABLE {table} (id int, v {kind})")
    try:
        _execute(server, f"INSERT INTO {table} VALUES (1, {literal})")
        for zero_dates in ("fail", "null") if server == "my" else ("fail",):
            want = _expected(outcomes, fmt, zero_dates)
            state = run_local(
                create_dump_db_flow("tests: hostile", org="tests"),
                {"connection": server, "dataset_id": "hostile", "table_id": table,
                 "table": table, "format": fmt, "zero_dates": zero_dates},
            )  # fmt: skip
            failed = [str(s.result) for s in state.result.values() if s.is_failed()]
            if isinstance(want, Refused):
                assert not state.is_successful(), f"{want!r} expected"
                assert any(want in m and "'v'" in m for m in failed), failed
                continue
            assert state.is_successful(), failed
            (got,) = get_warehouse().rows(f"SELECT v::VARCHAR FROM hostile.{table}")
            if got[0] != want:
                CHANGED.append(f"{server} {kind} {literal} {fmt} {zero_dates}: {got[0]!r}")
            assert got[0] == want, (want, got)
    finally:
        _execute(server, f"DROP TABLE {table}")


def test_zz_no_hostile_value_arrived_changed():
    print(f"Hostile values: {len(CASES)} case(s) x 2 formats; {len(CHANGED)} arrived changed.")
    for line in CHANGED:
        print("  " + line)
    assert CHANGED == []
