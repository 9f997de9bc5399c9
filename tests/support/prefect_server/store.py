"""In-memory tables with Hasura's filter, ordering and paging semantics."""

from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
from typing import Any

from tests.support.prefect_server.hasura import Table, tables

# Postgres column defaults the server relies on (the alembic migrations' server_default).
_DEFAULTS: dict[str, Any] = {
    "settings": {},
    "default_parameters": {},
    "labels": [],
    "tags": [],
    "version": 0,
    "map_index": -1,
    "times_resurrected": 0,
}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def like(pattern: str, value: str, insensitive: bool = False) -> bool:
    """SQL LIKE: % is any run of characters, _ exactly one, a backslash escapes the next."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.fullmatch("".join(out), value, re.S | (re.I if insensitive else 0)) is not None


def _coerce(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "timestamptz" and isinstance(value, str):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if kind == "uuid":
        return str(uuid.UUID(str(value)))
    return value


def _contains(whole: Any, part: Any) -> bool:
    """jsonb @>: objects by key, arrays by element, scalars by equality."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            k in whole and _contains(whole[k], v) for k, v in part.items()
        )
    if isinstance(part, list):
        return isinstance(whole, list) and all(any(_contains(w, p) for w in whole) for p in part)
    return whole == part


def _compare(kind: str, value: Any, op: str, given: Any) -> bool:
    if op == "_is_null":
        return (value is None) == given
    if value is None:  # SQL: a comparison with NULL is never true
        return False
    if op in ("_in", "_nin"):
        found = value in [_coerce(kind, g) for g in given]
        return found if op == "_in" else not found
    target = _coerce(kind, given)
    checks = {
        "_eq": lambda: value == target,
        "_neq": lambda: value != target,
        "_gt": lambda: value > target,
        "_gte": lambda: value >= target,
        "_lt": lambda: value < target,
        "_lte": lambda: value <= target,
        "_like": lambda: like(target, value),
        "_nlike": lambda: not like(target, value),
        "_ilike": lambda: like(target, value, insensitive=True),
        "_nilike": lambda: not like(target, value, insensitive=True),
        "_regex": lambda: re.search(target, value) is not None,
        "_nregex": lambda: re.search(target, value) is None,
        "_iregex": lambda: re.search(target, value, re.I) is not None,
        "_niregex": lambda: re.search(target, value, re.I) is None,
        "_contains": lambda: _contains(value, target),
        "_contained_in": lambda: _contains(target, value),
        "_has_key": lambda: isinstance(value, dict) and target in value,
        "_has_keys_any": lambda: isinstance(value, dict) and any(k in value for k in target),
        "_has_keys_all": lambda: isinstance(value, dict) and all(k in value for k in target),
    }
    if op not in checks:
        raise NotImplementedError(f"the test server does not implement the operator {op}")
    return bool(checks[op]())


class Store:
    """The server's tables: name -> {id: row}, rows holding every column."""

    def __init__(self) -> None:
        self.specs: dict[str, Table] = tables()
        self.tables: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in self.specs}

    def insert(self, table: str, values: dict[str, Any]) -> str:
        spec = self.specs[table]
        unknown = set(values) - set(spec.columns)
        if unknown:
            raise KeyError(f"{table} has no column(s) {sorted(unknown)}")
        row: dict[str, Any] = {}
        stamp = now()
        for name, column in spec.columns.items():
            if name in values:
                row[name] = _coerce(column.type, values[name])
            elif name == "id":
                row[name] = str(uuid.uuid4())
            elif column.type == "timestamptz" and column.required:
                row[name] = stamp
            elif column.type == "Boolean" and column.required:
                row[name] = False
            elif column.required or name == "times_resurrected":
                row[name] = copy.deepcopy(_DEFAULTS.get(name))
            else:
                row[name] = None
        self.tables[table][row["id"]] = row
        return row["id"]

    def related(self, table: str, row: dict[str, Any], relationship: str) -> Any:
        """The row (object relationship) or rows (array relationship) it points at."""
        spec = self.specs[table]
        if relationship in spec.objects:
            remote, column = spec.objects[relationship]
            return self.tables[remote].get(row[column])
        remote, column = spec.arrays[relationship]
        return [r for r in self.tables[remote].values() if r[column] == row["id"]]

    def select(
        self,
        table: str,
        where: dict[str, Any] | None = None,
        order_by: list[tuple[str, str]] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        rows: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        found = [
            r
            for r in (rows if rows is not None else self.tables[table].values())
            if matches(self, table, r, where or {})
        ]
        for column, direction in reversed(order_by or []):
            # Postgres puts NULLs last ascending and first descending, unless told otherwise.
            nulls_first = direction.endswith("nulls_first") or direction == "desc"
            present = [r for r in found if r[column] is not None]
            absent = [r for r in found if r[column] is None]
            present.sort(key=lambda r: r[column], reverse=direction.startswith("desc"))
            found = absent + present if nulls_first else present + absent
        start = offset or 0
        return found[start : start + limit if limit is not None else None]


def matches(store: Store, table: str, row: dict[str, Any], where: dict[str, Any]) -> bool:
    """Hasura's boolean expression on one row (with HASURA_GRAPHQL_V1_BOOLEAN_NULL_COLLAPSE,
    which Prefect Server sets: a null operand makes its condition true)."""
    spec = store.specs[table]
    for key, given in where.items():
        if given is None:
            continue
        if key == "_and":
            ok = all(matches(store, table, row, e) for e in given)
        elif key == "_or":
            ok = any(matches(store, table, row, e) for e in given)
        elif key == "_not":
            ok = not matches(store, table, row, given)
        elif key in spec.columns:
            kind = spec.columns[key].type
            ok = all(
                _compare(kind, row[key], op, value)
                for op, value in given.items()
                if value is not None
            )
        elif key in spec.objects:
            target = store.related(table, row, key)
            ok = target is not None and matches(store, spec.objects[key][0], target, given)
        elif key in spec.arrays:
            remote = spec.arrays[key][0]
            ok = any(matches(store, remote, r, given) for r in store.related(table, row, key))
        else:
            raise NotImplementedError(f"the test server cannot filter {table} on {key}")
        if not ok:
            return False
    return True
