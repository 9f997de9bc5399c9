"""Every source type through dump_db, value by value: exact, or refused naming the column.

Each case creates a one-column table on the real server, dumps it as Parquet and as CSV, and
compares what the source's own driver returns with the datalake files (Parquet, read with
pyarrow) and with the warehouse table. A case that succeeds with a different value fails.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.utils.dump_db import create_dump_db_flow
from pipelines.utils.execution import run_local
from pipelines.utils.warehouse import get_warehouse
from tests.conftest import connect_mariadb, connect_postgres
from tests.support.type_matrix import OUTCOMES

EXACT = "exact"
CSV_REFUSED = "exact as Parquet, refused as CSV"
# (type, SQL literals of its values, what the dump must do, source expression for the
# expected value when the dump writes a lossless text form instead of the value)
PG_CASES = [
    ("smallint", ["-32768", "32767", "NULL"], EXACT, None),
    ("integer", ["-2147483648", "2147483647"], EXACT, None),
    ("bigint", ["-9223372036854775808", "9223372036854775807"], EXACT, None),
    ("real", ["'NaN'", "'Infinity'", "'-Infinity'", "1.5", "-0.0"], EXACT, None),
    ("double precision", ["'NaN'", "'-Infinity'", "1e308", "5e-324"], EXACT, None),
    (
        "numeric(38,18)",
        ["'-99999999999999999999.999999999999999999'", "'0.000000000000000001'"],
        EXACT,
        None,
    ),
    ("numeric(10,0)", ["'9999999999'", "'-1'"], EXACT, None),
    ("numeric", ["'12345678901234567890.123456789'", "'NaN'", "'1e-50'"], EXACT, "v::text"),
    (
        "numeric(60,20)",
        ["'1234567890123456789012345678901234567890.12345678901234567890'"],
        EXACT,
        "v::text",
    ),
    ("boolean", ["true", "false", "NULL"], EXACT, None),
    ("date", ["'0001-01-01'", "'9999-12-31'", "'2024-02-29'"], EXACT, None),
    ("date", ["'2024-01-01'", "'infinity'"], "refused", "v::text"),
    (
        "timestamp",
        ["'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'2024-02-18 00:30:00.000001'"],
        EXACT,
        None,
    ),
    (
        "timestamptz",
        [
            "'1900-01-01 12:00:00-03:06:28'",
            "'2024-02-17 23:30:00-02'",
            "'2024-02-18 00:30:00.123456-03'",
            "'1970-01-01 00:00:00+00'",
        ],
        EXACT,
        None,
    ),
    ("timestamptz", ["'2024-01-01 00:00:00+00'", "'-infinity'"], "refused", "v::text"),
    ("time", ["'00:00:00'", "'23:59:59.999999'"], EXACT, None),
    ("timetz", ["'12:00:00+03'", "'23:59:59.999999-03:30'"], EXACT, "v::text"),
    (
        "interval",
        ["'1 day 00:00:00.000001'", "'100000 days'", "'-1 year 2 mons'", "'3000000 hours'"],
        EXACT,
        "v::text",
    ),
    ("uuid", ["'00000000-0000-0000-0000-000000000000'", "gen_random_uuid()"], EXACT, None),
    ("json", ['\'{"b": 1, "a": [1, 2.50, null]}\'', "'\"x\"'"], EXACT, "v::text"),
    ("jsonb", ['\'{"b": 1, "a": [1, 2.50, null]}\''], EXACT, "v::text"),
    ("bytea", ["'\\x00ff10'::bytea", "''::bytea"], CSV_REFUSED, None),
    ("text", ["''", "'NULL'", "E'a,\"b\"\\n\\tc ção 🚀'", "repeat('x', 100000)"], EXACT, None),
    ("varchar(5)", ["'abcde'", "' '"], EXACT, None),
    # char(n) pads with insignificant spaces: its value is the unpadded text (as ::text).
    ("char(3)", ["'ab'"], EXACT, "v::text"),
    ("integer[]", ["'{1,NULL,3}'", "'{}'"], CSV_REFUSED, None),
    ("text[]", ['\'{"a,b",""}\''], CSV_REFUSED, None),
    ("inet", ["'192.168.0.1/24'", "'::1'"], EXACT, "v::text"),
    ("mood", ["'happy'", "'sad'"], EXACT, "v::text"),
    ("money", ["'1234.56'", "'-0.01'"], EXACT, None),
    ("bit(8)", ["B'10100001'"], EXACT, None),
    ("varbit", ["B'101'"], EXACT, None),
    ("xml", ["'<a x=\"1\">t</a>'"], EXACT, "v::text"),
    ("cidr", ["'10.0.0.0/8'"], EXACT, "v::text"),
    ("macaddr", ["'08:00:2b:01:02:03'"], EXACT, "v::text"),
    # DuckDB reads a point as a record of its coordinates: exact, with no CSV form.
    ("point", ["'(1.5,-2)'"], CSV_REFUSED, "json_build_object('x', v[0], 'y', v[1])"),
    ("tsvector", ["'a:1 fat:2'"], EXACT, "v::text"),
    ("int4range", ["'[1,10)'", "'empty'"], EXACT, "v::text"),
    ('"char"', ["'x'"], EXACT, None),
    ("name", ["'a_name'"], EXACT, None),
    ("oid", ["4294967295"], EXACT, None),
    ("numeric[]", ["'{1.5,12345678901234567890.123456789}'"], EXACT, "v::text"),
    ("interval[]", ["'{1 day,00:00:00.000001}'"], EXACT, "v::text"),
    ("timestamptz[]", ["'{\"2024-01-01 00:00:00+00\"}'"], CSV_REFUSED, None),
]
MY_CASES = [
    ("tinyint", ["-128", "127"], EXACT, None),
    ("tinyint unsigned", ["0", "255"], EXACT, None),
    ("tinyint(1)", ["0", "1", "2", "-128"], EXACT, None),
    ("smallint", ["-32768", "32767"], EXACT, None),
    ("mediumint", ["-8388608", "8388607"], EXACT, None),
    ("int unsigned", ["4294967295"], EXACT, None),
    ("bigint", ["-9223372036854775808", "9223372036854775807"], EXACT, None),
    ("bigint unsigned", ["18446744073709551615", "0"], EXACT, None),
    ("float", ["1.5", "-3.25"], EXACT, None),
    ("double", ["1e308", "5e-324", "-0.1"], EXACT, None),
    ("decimal(10,2)", ["'-99999999.99'", "'0.01'"], EXACT, None),
    ("decimal(38,10)", ["'9999999999999999999999999999.9999999999'"], EXACT, None),
    (
        "decimal(65,30)",
        ["'99999999999999999999999999999999999.999999999999999999999999999999'"],
        EXACT,
        "CAST(v AS CHAR)",
    ),
    ("date", ["'1000-01-01'", "'9999-12-31'"], EXACT, None),
    ("datetime(6)", ["'1000-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'"], EXACT, None),
    (
        "timestamp(6) NULL",
        ["'1970-01-01 00:00:01'", "'2038-01-19 03:14:07.999999'"],
        EXACT,
        "CONVERT_TZ(v, @@session.time_zone, '+00:00')",
    ),
    ("time(6)", ["'838:59:59'", "'-838:59:59'", "'12:00:00.000001'"], EXACT, "CAST(v AS CHAR)"),
    ("year", ["1901", "2155"], EXACT, None),
    ("varchar(20)", ["''", "'ção 🚀'"], EXACT, None),
    ("text", ["'a,\"b\"\\nc'"], EXACT, None),
    ("blob", ["x'00ff10'"], CSV_REFUSED, None),
    ("enum('a','b c')", ["'b c'"], EXACT, None),
    ("set('x','y')", ["'x,y'", "''"], EXACT, None),
    ("json", ["'{\"a\": [1, 2]}'"], EXACT, "CAST(v AS CHAR)"),
    ("bit(8)", ["b'10100001'", "0"], CSV_REFUSED, None),
    ("binary(4)", ["x'00ff'"], CSV_REFUSED, None),
    ("varbinary(10)", ["x'00ff10'"], CSV_REFUSED, None),
    ("char(3)", ["'ab'"], EXACT, None),
    ("varchar(10) CHARACTER SET latin1", ["'ção'"], EXACT, None),
    ("mediumtext", ["REPEAT('x', 100000)"], EXACT, None),
    ("decimal(10,2) unsigned", ["'99999999.99'"], EXACT, None),
    ("float(10,2)", ["'12345678.91'"], EXACT, None),
    ("datetime", ["'2024-02-29 23:59:59'"], EXACT, None),
    (
        "timestamp NULL",
        ["'2024-02-29 23:59:59'"],
        EXACT,
        "CONVERT_TZ(v, @@session.time_zone, '+00:00')",
    ),
    (
        "point",
        ["ST_GeomFromText('POINT(1 2.000000000000001)', 4326)"],
        EXACT,
        "CONCAT('SRID=', ST_SRID(v), ';', ST_AsText(v))",
    ),
]


def same(want, have) -> bool:
    """Equal values, with NaN equal to NaN and instants equal across zones."""
    if want is None or have is None:
        return want is None and (have is None or (isinstance(have, float) and math.isnan(have)))
    if isinstance(want, float) and isinstance(have, float):
        return (math.isnan(want) and math.isnan(have)) or (
            want == have and math.copysign(1, want) == math.copysign(1, have)
        )
    if isinstance(want, dt.datetime) and isinstance(have, dt.datetime):
        if (want.tzinfo is None) != (have.tzinfo is None):
            return False
        return want == have
    if isinstance(want, Decimal) and isinstance(have, Decimal):
        return want == have
    if isinstance(want, bytes | bytearray | memoryview):
        return bytes(want) == bytes(have)
    if type(want) is not type(have) and not (isinstance(want, int) and isinstance(have, int)):
        return False
    return want == have


def run_case(source: str, fmt: str, kind: str, expected: list, table: str):
    flow = create_dump_db_flow("tests: type matrix", org="tests")
    state = run_local(
        flow,
        {"connection": source, "dataset_id": "matrix", "table_id": table, "table": table,
         "format": fmt},
    )  # fmt: skip
    if not state.is_successful():
        failed = [str(s.result) for s in state.result.values() if s.is_failed()]
        return "refused", " ".join(failed)
    rows = get_warehouse().rows(f"SELECT id, v FROM matrix.{table} ORDER BY id")
    got = [v for _, v in rows]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        root = Path(get_warehouse().path).parent / "datalake" / "matrix" / table
        files = sorted(root.rglob("*.parquet"))
        from_files = pq.read_table(files).sort_by("id").column("v").to_pylist()
    else:
        from_files = got
    ok = (
        len(got) == len(expected)
        and all(same(w, h) for w, h in zip(expected, got, strict=True))
        and all(same(w, h) for w, h in zip(expected, from_files, strict=True))
    )
    return ("exact" if ok else "silently wrong"), f"expected {expected!r}, got {got!r}"


def check(source: str, fmt: str, kind: str, outcome: str, result: tuple[str, str]) -> None:
    got, detail = result
    OUTCOMES[(source, fmt, got)] += 1
    assert got != "silently wrong", f"{kind} as {fmt}: {detail}"
    if outcome == CSV_REFUSED:
        outcome = "refused" if fmt == "csv" else EXACT
    if outcome == "refused":
        assert got == "refused", f"{kind} as {fmt} should be refused: {detail}"
        assert "'v' (" in detail, detail  # names the column and its type
        assert "query=" in detail or "format='parquet'" in detail, detail  # and what to do
    else:
        assert got == EXACT, f"{kind} as {fmt}: {detail}"


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize(("kind", "values", "outcome", "as_text"), PG_CASES)
def test_postgres_type(local_env, postgres_url, monkeypatch, fmt, kind, values, outcome, as_text):
    monkeypatch.setenv("PIPELINES_DB_PG", postgres_url)
    table = f"m_{uuid.uuid4().hex[:10]}"
    with connect_postgres() as conn:
        conn.execute(
            "DO $$ BEGIN CREATE TYPE mood AS ENUM ('sad', 'happy'); "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v {kind})")
        try:
            for index, value in enumerate(values):
                conn.execute(f"INSERT INTO {table} VALUES ({index}, {value})")
            expected = [
                row[0] for row in conn.execute(f"SELECT {as_text or 'v'} FROM {table} ORDER BY id")
            ]
            result = run_case("pg", fmt, kind, expected, table)
        finally:
            conn.execute(f"DROP TABLE {table}")
    check("postgres", fmt, kind, outcome, result)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize(("kind", "values", "outcome", "as_text"), MY_CASES)
def test_mariadb_type(local_env, mariadb_url, monkeypatch, fmt, kind, values, outcome, as_text):
    monkeypatch.setenv("PIPELINES_DB_MY", mariadb_url)
    table = f"m_{uuid.uuid4().hex[:10]}"
    conn = connect_mariadb()
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v {kind}) CHARSET utf8mb4")
            for index, value in enumerate(values):
                cursor.execute(f"INSERT INTO {table} VALUES ({index}, {value})")
            cursor.execute(f"SELECT {as_text or 'v'} FROM {table} ORDER BY id")
            expected = [row[0] for row in cursor.fetchall()]
            if kind.startswith("timestamp"):  # dumped as instants: UTC-aware
                expected = [v.replace(tzinfo=dt.UTC) if v else v for v in expected]
        result = run_case("my", fmt, kind, expected, table)
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE {table}")
        conn.close()
    check("mariadb", fmt, kind, outcome, result)
