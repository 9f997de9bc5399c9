"""The real API's schema (server SDL + Hasura's generated types), wired to the test server."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import GraphQLObjectType, GraphQLSchema, StringValueNode, build_schema

from tests.support.prefect_server.hasura import hasura_sdl, tables

if TYPE_CHECKING:
    from tests.support.prefect_server.server import PrefectTestServer

SERVER_SDL = Path(__file__).parent / "server.graphql"


@cache
def schema_sdl() -> str:
    """The whole schema as SDL: what Apollo stitches from the server and Hasura."""
    return SERVER_SDL.read_text() + "\n" + hasura_sdl()


def _uuid(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ValueError(f'invalid input syntax for type uuid: "{value}"') from None


def _uuid_literal(node: Any, _variables: Any = None) -> str:
    if not isinstance(node, StringValueNode):
        raise ValueError("a uuid must be a string")
    return _uuid(node.value)


def _serialize(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _order(order_by: list[dict[str, str]] | dict[str, str] | None) -> list[tuple[str, str]]:
    out = []
    for item in [order_by] if isinstance(order_by, dict) else order_by or []:
        for column, direction in item.items():
            if not isinstance(direction, str):
                raise NotImplementedError("the test server orders by columns only")
            out.append((column, direction))
    return out


def build_prefect_schema(server: PrefectTestServer) -> GraphQLSchema:
    """A fresh executable schema whose resolvers read and write server's store."""
    schema = build_schema(schema_sdl())
    # graphql-core 3.2 calls parse_*/serialize, 3.3 coerce_*: set both.
    for name in ("uuid", "UUID"):
        scalar = schema.type_map[name]
        scalar.parse_value = scalar.coerce_input_value = _uuid  # type: ignore[attr-defined]
        scalar.parse_literal = scalar.coerce_input_literal = _uuid_literal  # type: ignore[attr-defined]
    for name in ("timestamptz", "DateTime"):
        scalar = schema.type_map[name]
        scalar.serialize = scalar.coerce_output_value = _serialize  # type: ignore[attr-defined]
    specs = tables()

    def listing(table: str, source_rows=None):
        def resolve(obj, info, where=None, order_by=None, limit=None, offset=None, **rest):
            if rest.get("distinct_on"):
                raise NotImplementedError("the test server does not implement distinct_on")
            rows = source_rows(obj) if source_rows else None
            if table == "flow_run":
                for run in list(server.flow_runs.values()) if rows is None else rows:
                    server.on_read_flow_run(run)
            return server.store.select(table, where, _order(order_by), limit, offset, rows)

        return resolve

    def aggregate(resolve_rows):
        def resolve(obj, info, **args):
            rows = resolve_rows(obj, info, **args)
            return {"nodes": rows, "aggregate": {"_rows": rows, "_table": info.return_type}}

        return resolve

    query = schema.query_type
    assert query is not None
    for table, spec in specs.items():
        rows = listing(table)
        query.fields[table].resolve = rows
        query.fields[f"{table}_aggregate"].resolve = aggregate(rows)
        query.fields[f"{table}_by_pk"].resolve = _by_pk(server, table)
        object_type = schema.type_map[table]
        assert isinstance(object_type, GraphQLObjectType)
        for rel in spec.objects:
            object_type.fields[rel].resolve = lambda obj, info, _t=table, _r=rel: (
                server.store.related(_t, obj, _r)
            )
        for rel, (remote, _column) in spec.arrays.items():
            related = listing(
                remote, lambda obj, _t=table, _r=rel: server.store.related(_t, obj, _r)
            )
            object_type.fields[rel].resolve = related
            object_type.fields[f"{rel}_aggregate"].resolve = aggregate(related)
        fields = schema.type_map[f"{table}_aggregate_fields"]
        assert isinstance(fields, GraphQLObjectType)
        fields.fields["count"].resolve = _count
        for kind, pick in (("max", max), ("min", min)):
            fields.fields[kind].resolve = _extreme(pick)
    hasura_roots = {n for t in specs for n in (t, f"{t}_aggregate", f"{t}_by_pk")}
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            if name not in hasura_roots:
                field.resolve = _server_field(server, name)
    return schema


def _by_pk(server: PrefectTestServer, table: str):
    def resolve(obj, info, id):
        row = server.store.tables[table].get(id)
        if row is not None and table == "flow_run":
            server.on_read_flow_run(row)
        return row

    return resolve


def _count(obj, info, columns=None, distinct=None) -> int:
    rows = obj["_rows"]
    if not columns:
        return len(rows)
    values = [tuple(r[c] for c in columns) for r in rows if all(r[c] is not None for c in columns)]
    return len(set(values)) if distinct else len(values)


def _extreme(pick):
    def resolve(obj, info):
        out = {}
        for name in info.return_type.fields:
            values = [r[name] for r in obj["_rows"] if r[name] is not None]
            out[name] = pick(values) if values else None
        return out

    return resolve


def _server_field(server: PrefectTestServer, name: str):
    def resolve(obj, info, **args):
        method = getattr(server, name, None)
        if method is None:
            raise NotImplementedError(
                f"the test server does not implement {name}: add it to "
                "tests/support/prefect_server/server.py, following the server's own code"
            )
        return method(**args)

    return resolve
