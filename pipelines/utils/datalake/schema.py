"""Schema contracts: each table's declared columns and types, what a write may change of them
(on_schema_change, in dbt's words), and the history of those changes.

Types are DuckDB's names (BIGINT, DECIMAL(12,2), TIMESTAMP WITH TIME ZONE): the local
warehouse reads them as they are, BigQuery's come from them, and a PostgreSQL dump that
never loads pyarrow can still read its files' types. A table's declared columns are the
last entry of its history, kept at _schemas/<dataset_id>/<table_id>.json in the datalake:
outside the table's folder, so no external table ever reads it as data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.constants import DUCKDB_CONFIG
from pipelines.errors import DatalakeError, SchemaContractError

if TYPE_CHECKING:
    import duckdb

    from pipelines.utils.datalake.base import Datalake

ON_SCHEMA_CHANGE = ("append_new_columns", "fail", "sync_all_columns")
HISTORY_FOLDER = "_schemas"
UNKNOWN = "NULL"  # a column whose every value so far was NULL: any type may take its place
# A table written before contracts existed has its columns read from at most this many files
# (the first and the last partitions), once.
BOOTSTRAP_FILES = 20

Columns = dict[str, str]

_INTEGERS = {
    "TINYINT": (8, True), "SMALLINT": (16, True), "INTEGER": (32, True), "BIGINT": (64, True),
    "HUGEINT": (128, True), "UTINYINT": (8, False), "USMALLINT": (16, False),
    "UINTEGER": (32, False), "UBIGINT": (64, False), "UHUGEINT": (128, False),
}  # fmt: skip
_FLOATS = {"FLOAT": 32, "DOUBLE": 64}
# Timestamps without a zone in another unit are the same column: the table keeps its unit.
_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def check_on_schema_change(value: object) -> str:
    """Return `value` if it is one of ON_SCHEMA_CHANGE.

    Raises:
        DatalakeError: Anything else, listing the choices.
    """
    if value not in ON_SCHEMA_CHANGE:
        raise DatalakeError(
            f"on_schema_change={value!r} must be one of {', '.join(ON_SCHEMA_CHANGE)}."
        )
    return str(value)


def same_type(old: str, new: str) -> bool:
    """Whether two type names hold the same values."""
    a, b = old.upper(), new.upper()
    return a == b or (a in _TIMESTAMPS and b in _TIMESTAMPS)


def widens(old: str, new: str) -> bool:
    """Whether every value of type `old` is held exactly by type `new`, and `new` is wider:
    whole numbers to more bits, FLOAT to DOUBLE, a DECIMAL to more digits at the same scale,
    and a column of NULLs only to anything."""
    if old == UNKNOWN:
        return new != UNKNOWN
    a, b = old.upper(), new.upper()
    if a in _INTEGERS and b in _INTEGERS:
        (bits_a, signed_a), (bits_b, signed_b) = _INTEGERS[a], _INTEGERS[b]
        return bits_b > bits_a and (signed_a == signed_b or signed_b)
    if a in _FLOATS and b in _FLOATS:
        return _FLOATS[b] > _FLOATS[a]
    if a in _INTEGERS and b == "DOUBLE":
        return _INTEGERS[a][0] <= 32
    old_decimal, new_decimal = _DECIMAL.fullmatch(a), _DECIMAL.fullmatch(b)
    if old_decimal and new_decimal:
        (p_a, s_a), (p_b, s_b) = old_decimal.groups(), new_decimal.groups()
        return s_a == s_b and int(p_b) > int(p_a)
    return False


@dataclass
class SchemaChange:
    """How new rows' columns differ from the table's."""

    added: Columns = field(default_factory=dict)  # in the new rows only
    missing: Columns = field(default_factory=dict)  # in the table only
    widened: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (old, new)
    retyped: dict[str, tuple[str, str]] = field(default_factory=dict)  # any other change

    def __bool__(self) -> bool:
        return bool(self.added or self.missing or self.widened or self.retyped)

    def renamed(self) -> dict[str, str]:
        """Missing columns that may have been renamed: old name -> the one added column of
        the same type (only where the pairing is unique)."""
        pairs = {}
        for old, kind in self.missing.items():
            same = [new for new, t in self.added.items() if same_type(t, kind)]
            takers = [m for m, t in self.missing.items() if same and same_type(t, kind)]
            if len(same) == 1 and len(takers) == 1:
                pairs[old] = same[0]
        return pairs

    def lines(self) -> list[str]:
        """Each change, one phrase each, in a fixed order."""
        found = [f"new column {name!r} ({kind})" for name, kind in self.added.items()]
        found += [
            f"column {name!r} ({kind}) is not in the new rows"
            for name, kind in self.missing.items()
        ]
        found += [f"column {n!r} widened from {a} to {b}" for n, (a, b) in self.widened.items()]
        found += [
            f"column {n!r} changed type from {a} to {b}" for n, (a, b) in self.retyped.items()
        ]
        found += [
            f"{old!r} may have been renamed to {new!r}" for old, new in self.renamed().items()
        ]
        return found


def compare(old: Columns, new: Columns) -> SchemaChange:
    """The change from the table's columns to the new rows'. A new type narrower than the
    table's (INTEGER rows in a BIGINT column) or a column of NULLs is no change: the rows
    take the table's type."""
    change = SchemaChange()
    for name, kind in new.items():
        if name not in old:
            change.added[name] = kind
            continue
        before = old[name]
        if same_type(before, kind) or kind == UNKNOWN or widens(kind, before):
            continue
        if widens(before, kind):
            change.widened[name] = (before, kind)
        else:
            change.retyped[name] = (before, kind)
    change.missing = {name: kind for name, kind in old.items() if name not in new}
    return change


@dataclass
class SchemaPlan:
    """What a write does to its table's schema."""

    table: Columns  # the table's declared columns after the write (new files hold these)
    change: SchemaChange
    on_schema_change: str
    first: bool  # the table had no history: this write starts it
    rewrite: bool = False  # sync_all_columns: files the write keeps are rewritten to `table`
    bootstrapped: bool = False  # the table had files but no history: its old files may differ

    @property
    def recorded(self) -> bool:
        return self.first or bool(self.change)

    def summary(self) -> str:
        """The change in a few words, for the run's summary ('' when none)."""
        lines = self.change.lines()
        return f"schema: {'; '.join(lines)}" if lines else ""


def plan_change(
    table_name: str,
    old: Columns | None,
    new: Columns,
    on_schema_change: str,
    mode: str,
    cast_hint: str,
    first: bool,
) -> SchemaPlan:
    """Decide what the write does to the table's declared columns, before anything is
    published.

    Args:
        table_name: dataset_id.table_id, for messages.
        old: The table's declared columns; None when it has no files yet.
        new: The new rows' columns.
        on_schema_change: "append_new_columns", "fail" or "sync_all_columns".
        mode: "overwrite" rebuilds the table: any new schema is taken.
        cast_hint: How the caller's user casts a column back, a phrase ending the refusal,
            with {column} and {type} to fill in.
        first: The table has no history yet.

    Raises:
        SchemaContractError: A change on_schema_change refuses, naming it and the ways out.
    """
    check_on_schema_change(on_schema_change)
    if old is None or mode == "overwrite":
        change = compare(old, new) if old is not None else SchemaChange()
        return SchemaPlan(dict(new), change, on_schema_change, first)
    change = compare(old, new)
    typed = {**change.widened, **change.retyped}
    if change and on_schema_change == "fail":
        name = next(iter(typed), None)
        cast = f", or {cast_hint.format(column=name, type=old[name])}" if name else ""
        raise SchemaContractError(
            f"{table_name}: the new rows change the table's schema ({'; '.join(change.lines())})"
            " and on_schema_change='fail' refuses any change. Nothing was published. Take the "
            "change with on_schema_change='append_new_columns' or 'sync_all_columns', or "
            f"rebuild the table with mode='overwrite'{cast}."
        )
    if on_schema_change == "sync_all_columns":
        table = {name: (old[name] if kind == UNKNOWN and name in old else kind)
                 for name, kind in new.items()}  # fmt: skip
        return SchemaPlan(table, change, on_schema_change, first, rewrite=bool(change))
    if change.retyped:
        name, (before, after) = next(iter(change.retyped.items()))
        raise SchemaContractError(
            f"{table_name}: column {name!r} changed type from {before} to {after} in the new "
            "rows; on_schema_change='append_new_columns' only adds columns and widens types "
            "exactly (INTEGER to BIGINT, FLOAT to DOUBLE, DECIMAL(10,2) to DECIMAL(12,2)). "
            "Nothing was published. Rebuild the table with the new type (mode='overwrite'), "
            "take it for every partition (on_schema_change='sync_all_columns'), or "
            f"{cast_hint.format(column=name, type=before)}."
        )
    table = {name: change.widened[name][1] if name in change.widened else kind
             for name, kind in old.items()}  # fmt: skip
    for name, kind in old.items():
        if kind == UNKNOWN and name in new:
            table[name] = new[name]
    table.update(change.added)
    return SchemaPlan(table, change, on_schema_change, first)


def history_key(prefix: str) -> str:
    """Where a table's schema history lives in the datalake."""
    return f"{HISTORY_FOLDER}/{prefix}.json"


def read_history(datalake: Datalake, prefix: str) -> list[dict[str, Any]]:
    """The table's schema history, oldest first ([] when none was kept yet)."""
    try:
        data = datalake.read_bytes(history_key(prefix))
    except FileNotFoundError:
        return []
    return list(json.loads(data.decode("utf-8")))


def declared_columns(datalake: Datalake, prefix: str) -> Columns | None:
    """The table's declared columns (name -> type), from its history; None when none."""
    history = read_history(datalake, prefix)
    return {name: kind for name, kind in history[-1]["columns"]} if history else None


def uniform_files(history: list[dict[str, Any]]) -> bool:
    """Whether every file of the table holds exactly its declared columns and types: the
    history began with a write (its columns were not read back from older files) and the
    columns never changed since the last rebuild (mode="overwrite" starts over)."""
    start = max((i for i, e in enumerate(history) if e.get("mode") == "overwrite"), default=0)
    kept = history[start:]
    if not kept or kept[0].get("bootstrapped"):
        return False
    return all(entry["columns"] == kept[-1]["columns"] for entry in kept)


def connect(memory_mb: int = 256) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for reading and rewriting files, in bounded memory."""
    import duckdb

    connection = duckdb.connect(config=DUCKDB_CONFIG)
    connection.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
    connection.execute("SET threads = 1")
    connection.execute("SET preserve_insertion_order = true")
    return connection


def parquet_columns(paths: Sequence[Path | str], memory_mb: int = 256) -> Columns:
    """The columns of Parquet files, by DuckDB's type names (their union, by name)."""
    with connect(memory_mb) as connection:
        # Literals, not parameters: a list parameter makes DuckDB load pandas.
        files = ", ".join(_literal(str(p)) for p in paths)
        described = connection.execute(
            f"DESCRIBE SELECT * FROM read_parquet([{files}], union_by_name = true, "
            "hive_partitioning = false)"
        ).fetchall()
    return {row[0]: str(row[1]) for row in described}


def current_columns(datalake: Datalake, prefix: str, folder: Path) -> tuple[Columns | None, bool]:
    """The table's declared columns, and whether they come from its history. A table written
    before histories were kept has them read from its Parquet files (the first and last
    BOOTSTRAP_FILES / 2); a CSV table's types cannot be read back: None."""
    declared = declared_columns(datalake, prefix)
    if declared is not None:
        return declared, True
    keys = [k for k in datalake.list_keys(prefix) if k.endswith(".parquet")]
    if not keys:
        return None, False
    half = BOOTSTRAP_FILES // 2
    sample = keys if len(keys) <= BOOTSTRAP_FILES else keys[:half] + keys[-half:]
    return parquet_columns([datalake.local_file(k, folder) for k in sample]), False


def record(
    datalake: Datalake, prefix: str, plan: SchemaPlan, mode: str, folder: Path
) -> dict[str, Any] | None:
    """Add the write's schema to the table's history when it changed (or starts); returns
    the entry added, if any."""
    if not plan.recorded:
        return None
    import prefect

    entry = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "flow": prefect.context.get("flow_name"),
        "flow_run": prefect.context.get("flow_run_id"),
        "mode": mode,
        "on_schema_change": plan.on_schema_change,
        "changes": plan.change.lines() or ["first recorded"],
        # Columns read back from a table written before histories: its files may differ.
        "bootstrapped": plan.first and plan.bootstrapped,
        "columns": [[name, kind] for name, kind in plan.table.items()],
    }
    history = read_history(datalake, prefix) + [entry]
    local = folder / "schema-history.json"
    local.write_text(json.dumps(history, indent=1), encoding="utf-8")
    datalake.put(history_key(prefix), local)
    return entry


def schema_plan(
    datalake: Datalake,
    prefix: str,
    new: Columns,
    on_schema_change: str,
    mode: str,
    folder: Path,
    logger: logging.Logger | logging.LoggerAdapter,
    cast_hint: str,
) -> SchemaPlan:
    """The write's schema plan against the table's current columns (refusals raise here,
    before anything is published); a missing column is logged as a warning."""
    old, known = current_columns(datalake, prefix, folder)
    plan = plan_change(
        prefix.replace("/", "."), old, new, on_schema_change, mode, cast_hint, first=not known
    )
    plan.bootstrapped = old is not None and not known and mode != "overwrite"
    for name in plan.change.missing if mode == "append" else ():
        if plan.on_schema_change == "append_new_columns":
            logger.warning(
                "%s: column %r is not in the new rows; it stays, NULL in the rows written now%s",
                prefix, name, _renamed_hint(plan, name),
            )  # fmt: skip
    if plan.change:
        logger.info("%s: %s", prefix, plan.summary())
    return plan


def _renamed_hint(plan: SchemaPlan, name: str) -> str:
    renamed = plan.change.renamed().get(name)
    return f" (it may have been renamed to {renamed!r})" if renamed else ""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def select_list(table: Columns, present: Iterable[str]) -> str:
    """SELECT expressions giving exactly the table's columns, in order: each cast to its
    declared type, NULL where the files lack it."""
    have = set(present)
    parts = []
    for name, kind in table.items():
        if name not in have:
            parts.append(
                f"CAST(NULL AS {'INTEGER' if kind == UNKNOWN else kind}) AS {_quote(name)}"
            )
        elif kind == UNKNOWN:
            parts.append(_quote(name))
        else:
            parts.append(f"CAST({_quote(name)} AS {kind}) AS {_quote(name)}")
    return ", ".join(parts)


def conform_file(source: Path, target: Path, table: Columns, memory_mb: int = 256) -> None:
    """Rewrite one Parquet file with exactly the table's columns and types.

    Raises:
        SchemaContractError: A value would change when cast (12.5 to INTEGER, 300 to
            TINYINT, '007' to INTEGER): the column, its types and a sample value.
    """
    with connect(memory_mb) as connection:
        reader = f"read_parquet({_literal(str(source))}, hive_partitioning = false)"
        have = {
            row[0]: str(row[1])
            for row in connection.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        }
        for name, kind in table.items():
            before = have.get(name)
            if before is None or kind == UNKNOWN or same_type(before, kind) or widens(before, kind):
                continue
            column = _quote(name)
            # A value survives the cast when casting it back gives it again.
            changed = connection.execute(
                f"SELECT {column}::VARCHAR FROM {reader} WHERE {column} IS NOT NULL AND "
                f"TRY_CAST(TRY_CAST({column} AS {kind}) AS {before}) IS DISTINCT FROM {column} "
                "LIMIT 1"
            ).fetchone()
            if changed is not None:
                raise SchemaContractError(
                    f"column {name!r} cannot become {kind} (it is {before}): its value "
                    f"{changed[0][:80]!r} would change. Nothing was published. Keep the type "
                    "(on_schema_change='append_new_columns') or rebuild the table with "
                    "mode='overwrite'."
                )
        connection.execute(
            f"COPY (SELECT {select_list(table, have)} FROM {reader}) TO "
            f"{_literal(str(target))} (FORMAT parquet, COMPRESSION snappy)"
        )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def conforms(columns: Columns, table: Columns) -> bool:
    """Whether files with these columns already hold exactly the table's columns and types."""
    return list(columns) == list(table) and all(
        same_type(columns[n], k) or k == UNKNOWN for n, k in table.items()
    )


def arrow_columns(schema: Any) -> Columns:
    """A pyarrow schema's columns by DuckDB's type names; an all-NULL column is UNKNOWN."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Read from an empty Parquet file, as files are read: DuckDB given an Arrow object, and
    # Arrow making an empty table, import pandas (80 MB more in a dump's process).
    with tempfile.TemporaryDirectory(prefix="pipelines-schema-") as folder, connect() as connection:
        path = Path(folder) / "schema.parquet"
        pq.ParquetWriter(path, schema).close()
        relation = connection.sql(f"SELECT * FROM read_parquet({_literal(str(path))})")
        kinds = dict(zip(relation.columns, map(str, relation.types), strict=True))
    return {f.name: UNKNOWN if pa.types.is_null(f.type) else kinds[f.name] for f in schema}


def conform_table(table: Any, columns: Columns, have: Columns | None = None) -> Any:
    """A pyarrow table with exactly these columns and types (missing ones NULL); `have`, when
    the caller knows them, are the table's own columns (arrow_columns of its schema).

    Raises:
        SchemaContractError: A value would change when cast, naming the column.
    """
    import pyarrow as pa

    have = have if have is not None else arrow_columns(table.schema)
    if conforms(have, columns):
        return table
    arrays, fields = [], []
    with connect() as connection:
        for name, kind in columns.items():
            if name in have and (kind == UNKNOWN or same_type(have[name], kind)):
                arrays.append(table[name])
                fields.append(table.schema.field(name))
                continue
            target = (
                pa.null()
                if kind == UNKNOWN
                else connection.execute(f"SELECT CAST(NULL AS {kind}) AS x")
                .arrow()
                .schema.field(0)
                .type
            )
            if name not in have:
                arrays.append(pa.nulls(table.num_rows, target))
            else:
                try:
                    arrays.append(table[name].cast(target, safe=True))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                    raise SchemaContractError(
                        f"column {name!r} cannot become {kind} (it is {have[name]}): "
                        f"{str(error).splitlines()[0][:200]}. Nothing was published."
                    ) from None
            fields.append(pa.field(name, target))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def rewrite_kept(
    datalake: Datalake, prefix: str, keys: Iterable[str], table: Columns, folder: Path
) -> dict[str, dict[str, Path]]:
    """The files a sync_all_columns write keeps, each rewritten to the table's columns into
    `folder` (one at a time, in bounded memory), by their folder under the table: partition
    path ('' for the table's own folder) -> {file name: local file}.

    Raises:
        SchemaContractError: A kept value would change when cast (nothing is published).
    """
    groups: dict[str, dict[str, Path]] = {}
    for number, key in enumerate(sorted(keys)):
        relative = key[len(prefix) + 1 :]
        where, _, name = relative.rpartition("/")
        source = datalake.local_file(key, folder)
        target = folder / f"sync-{number}-{name}"
        try:
            conform_file(source, target, table)
        except SchemaContractError as error:
            raise SchemaContractError(f"{datalake.uri(key)}: {error}") from None
        finally:
            if source.parent == folder:
                source.unlink()  # a download: the disk holds one at a time
        groups.setdefault(where, {})[name] = target
    return groups
