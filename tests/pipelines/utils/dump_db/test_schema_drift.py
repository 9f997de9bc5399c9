"""A source that changes its columns, dumped again: every on_schema_change against every
change a real source makes, on the real PostgreSQL and MariaDB servers.

Each case dumps three days, changes the source table (ALTER TABLE), adds a fourth day and
dumps that day alone. A change taken must give, in the warehouse, exactly the source's
values for every row and column (an old column the source dropped keeps its old values, NULL
in the new day); a change refused must name its column and leave the table as it was. The
matrix prints how many values came back wrong: it must be 0.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from pipelines.utils.datalake import get_datalake
from pipelines.utils.datalake.schema import read_history
from pipelines.utils.dump_db import create_dump_db_flow
from pipelines.utils.execution import run_local
from pipelines.utils.warehouse import get_warehouse
from tests.conftest import connect_mariadb, connect_postgres

APPEND, FAIL, SYNC = "append_new_columns", "fail", "sync_all_columns"
# name, (PostgreSQL ALTER, MariaDB ALTER), the new day's row (column -> SQL literal),
# and per on_schema_change: "taken", or a phrase the refusal must hold.
CASES = [
    ("new column", ("ADD COLUMN extra text", "ADD COLUMN extra TEXT"), {"extra": "'x'"},
     {APPEND: "taken", FAIL: "new column 'extra' (VARCHAR)", SYNC: "taken"}),
    ("int widened", ("ALTER COLUMN v TYPE bigint", "MODIFY v BIGINT"), {"v": "9000000000"},
     {APPEND: "taken", FAIL: "column 'v' widened from INTEGER to BIGINT", SYNC: "taken"}),
    ("decimal precision up",
     ("ALTER COLUMN ratio TYPE numeric(14,2)", "MODIFY ratio DECIMAL(14,2)"),
     {"ratio": "123456789012.25"},
     {APPEND: "taken", FAIL: "widened from DECIMAL(10,2) to DECIMAL(14,2)", SYNC: "taken"}),
    ("float to double", ("ALTER COLUMN f TYPE double precision", "MODIFY f DOUBLE"),
     {"f": "0.1"}, {APPEND: "taken", FAIL: "widened from FLOAT to DOUBLE", SYNC: "taken"}),
    ("int to text", ("ALTER COLUMN v TYPE text", "MODIFY v TEXT"), {"v": "'nine'"},
     {APPEND: "column 'v' changed type from INTEGER to VARCHAR", FAIL: "changed type",
      SYNC: "taken"}),
    ("column dropped", ("DROP COLUMN note", "DROP COLUMN note"), {},
     {APPEND: "taken", FAIL: "column 'note' (VARCHAR) is not in the new rows", SYNC: "taken"}),
    ("column renamed", ("RENAME COLUMN note TO remark", "CHANGE note remark VARCHAR(20)"),
     {"remark": "'r'"},
     {APPEND: "taken", FAIL: "'note' may have been renamed to 'remark'", SYNC: "taken"}),
    ("decimal to int", ("ALTER COLUMN ratio TYPE integer USING round(ratio)", "MODIFY ratio INT"),
     {"ratio": "7"},
     {APPEND: "changed type from DECIMAL(10,2) to INTEGER", FAIL: "changed type",
      SYNC: "its value '1.25' would change"}),
]  # fmt: skip
CREATE = {
    "pg": "CREATE TABLE {t} (id int, day date, v int, ratio numeric(10,2), f real, "
    "note varchar(20))",
    "my": "CREATE TABLE {t} (id int, day date, v int, ratio decimal(10,2), f float, "
    "note varchar(20))",
}
OLD_ROWS = [
    (i, dt.date(2024, 1, 1 + (i - 1) // 2), i, Decimal(f"{i}.25"), i + 0.5, f"n{i}")
    for i in range(1, 7)
]
RESULTS: list[tuple[str, str, str, str, int]] = []


def _execute(server: str, sql: str, params=None) -> list[tuple]:
    if server == "pg":
        with connect_postgres() as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
    conn = connect_mariadb()
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []
    finally:
        conn.close()


def _source(server: str, table: str) -> tuple[list[str], dict[int, tuple]]:
    if server == "pg":
        with connect_postgres() as conn:
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY id")
            names = [c.name for c in cursor.description]
            return names, {row[0]: row for row in cursor.fetchall()}
    conn = connect_mariadb()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {table} ORDER BY id")
            names = [c[0] for c in cursor.description]
            return names, {row[0]: row for row in cursor.fetchall()}
    finally:
        conn.close()


def _dump(server: str, table: str, on_schema_change: str, since: str | None = None):
    flow = create_dump_db_flow("tests: drift", org="tests")
    params = {"connection": server, "table": table, "dataset_id": "tests", "table_id": table,
              "partition_column": "day", "on_schema_change": on_schema_change}  # fmt: skip
    if since:
        params["since"] = since
    state = run_local(flow, params)
    failed = [str(s.result) for s in state.result.values() if s.is_failed()]
    return state.is_successful(), failed


def _warehouse(table: str) -> tuple[list[str], dict[int, tuple]]:
    preview = get_warehouse().preview(f"SELECT * FROM tests.{table} ORDER BY id", 1000)
    return preview.columns, {row[0]: row for row in preview.rows}


def _same(want, have) -> bool:
    if isinstance(want, float) and isinstance(have, float):
        return abs(want - have) <= abs(want) * 1e-6  # a FLOAT read as a double
    if want is None or have is None:
        return want is have
    return want == have and type(want) is type(have)


@pytest.fixture(scope="module")
def servers(postgres_url, mariadb_url):
    return {"pg": postgres_url, "my": mariadb_url}


@pytest.mark.parametrize("server", ["pg", "my"])
@pytest.mark.parametrize("on_schema_change", [APPEND, FAIL, SYNC])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_source_that_changes_its_columns(local_env, servers, monkeypatch, server,
                                           on_schema_change, case):  # fmt: skip
    name, alters, new_row, outcomes = case
    monkeypatch.setenv(f"PIPELINES_DB_{server.upper()}", servers[server])
    table = f"drift_{uuid.uuid4().hex[:8]}"
    _execute(server, CREATE[server].format(t=table))
    try:
        for row in OLD_ROWS:
            _execute(server, f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s)", row)
        assert _dump(server, table, on_schema_change)[0]
        before_names, before = _source(server, table)
        kept_columns, kept_rows = _warehouse(table)

        _execute(server, f"ALTER TABLE {table} {alters[0 if server == 'pg' else 1]}")
        names, _ = _source(server, table)
        literals = {n: "NULL" for n in names} | {"id": "7", "day": "'2024-01-04'"} | new_row
        _execute(server, f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                         f"({', '.join(literals[n] for n in names)})")  # fmt: skip
        after_names, after = _source(server, table)
        ok, failed = _dump(server, table, on_schema_change, since="2024-01-04")
        outcome = outcomes[on_schema_change]

        if outcome != "taken":
            assert not ok
            assert any(outcome in message for message in failed), failed
            assert "Nothing was published" in " ".join(failed)
            assert _warehouse(table) == (kept_columns, kept_rows)  # the table is as it was
            RESULTS.append((server, name, on_schema_change, "refused", 0))
            return
        assert ok, failed
        columns, rows = _warehouse(table)
        data = [c for c in columns if c not in ("ano", "mes", "data")]
        dropped = [c for c in before_names if c not in after_names]
        if on_schema_change == SYNC:
            assert data == after_names, data
        else:
            assert data == after_names + [c for c in dropped if c not in after_names] or set(
                data
            ) == set(before_names) | set(after_names), data
        wrong = 0
        for key, source_row in after.items():
            for column in data:
                if column not in before_names and key in before:
                    want = None  # a column new to the table: the days not dumped again lack it
                elif column in after_names:
                    want = source_row[after_names.index(column)]
                else:  # a column the source dropped: old values stay, NULL in the new day
                    want = before[key][before_names.index(column)] if key in before else None
                have = rows[key][columns.index(column)]
                if not _same(want, have):
                    wrong += 1
                    print(f"{server} {name} {on_schema_change}: id {key} {column}: "
                          f"{want!r} != {have!r}")  # fmt: skip
        RESULTS.append((server, name, on_schema_change, "taken", wrong))
        assert wrong == 0
        history = read_history(get_datalake(), f"tests/{table}")
        assert len(history) == 2 and history[-1]["on_schema_change"] == on_schema_change
        assert dict(history[-1]["columns"]).keys() == set(data)
    finally:
        _execute(server, f"DROP TABLE {table}")


def test_zz_the_drift_matrix_prints_its_wrong_values():
    if not RESULTS:
        pytest.skip("the drift cases did not run")
    for row in sorted(RESULTS):
        server, name, on_schema_change, outcome, wrong = row
        print(f"  {server:<3} {name:<22} {on_schema_change:<19} {outcome:<8} {wrong} wrong")
    wrong = sum(r[4] for r in RESULTS)
    print(f"Schema drift matrix: {len(RESULTS)} case(s), {wrong} wrong value(s).")
    assert wrong == 0
