"""Prefect Server's tables as Hasura v2 exposes them: specs, and the GraphQL types they generate."""

from __future__ import annotations

from dataclasses import dataclass, field

# Columns as the server's alembic migrations leave them (services/postgres/alembic/versions/ in
# github.com/PrefectHQ/server @ cd874202: the initial migration, then each add_column and
# drop_column after it). Types are Hasura's names for the Postgres types; "!" marks NOT NULL.
_AUDIT = "created timestamptz!, updated timestamptz!"
_STATE = (
    "id uuid!, tenant_id uuid, timestamp timestamptz!, state String!, message String, "
    "result jsonb, start_time timestamptz, serialized_state jsonb!, " + _AUDIT + ", version Int"
)
COLUMNS: dict[str, str] = {
    "tenant": "id uuid!, name String!, slug String!, info jsonb, settings jsonb!, " + _AUDIT,
    "project": "id uuid!, tenant_id uuid, name String!, description String, " + _AUDIT,
    "flow_group": (
        "id uuid!, tenant_id uuid, name String, labels jsonb, schedule jsonb, settings jsonb!, "
        "default_parameters jsonb!, run_config jsonb, description String, " + _AUDIT
    ),
    "flow": (
        "id uuid!, tenant_id uuid, version Int, name String!, description String, "
        "environment jsonb, parameters jsonb, project_id uuid!, archived Boolean!, "
        "version_group_id String, storage jsonb, core_version String, settings jsonb!, "
        "serialized_flow jsonb, schedule jsonb, is_schedule_active Boolean!, "
        "flow_group_id uuid!, run_config jsonb, " + _AUDIT
    ),
    "flow_run": (
        "id uuid!, tenant_id uuid, flow_id uuid!, parameters jsonb, "
        "scheduled_start_time timestamptz!, auto_scheduled Boolean!, heartbeat timestamptz, "
        "start_time timestamptz, end_time timestamptz, version Int!, state String, "
        "state_timestamp timestamptz, state_message String, state_result jsonb, "
        "state_start_time timestamptz, serialized_state jsonb, name String, context jsonb, "
        "times_resurrected Int, idempotency_key String, agent_id uuid, labels jsonb!, "
        "run_config jsonb, " + _AUDIT
    ),
    "flow_run_state": "flow_run_id uuid!, " + _STATE,
    "task": (
        "id uuid!, tenant_id uuid, flow_id uuid!, name String, slug String, description String, "
        "type String, max_retries Int, retry_delay interval, trigger String, mapped Boolean!, "
        "auto_generated Boolean!, cache_key String, is_root_task Boolean!, "
        "is_terminal_task Boolean!, is_reference_task Boolean!, tags jsonb!, " + _AUDIT
    ),
    "task_run": (
        "id uuid!, tenant_id uuid, flow_run_id uuid!, task_id uuid!, map_index Int!, "
        "version Int!, heartbeat timestamptz, start_time timestamptz, end_time timestamptz, "
        "state String, state_timestamp timestamptz, state_message String, state_result jsonb, "
        "state_start_time timestamptz, serialized_state jsonb, cache_key String, name String, "
        + _AUDIT
    ),
    "task_run_state": "task_run_id uuid!, " + _STATE,
    "edge": (
        "id uuid!, tenant_id uuid, flow_id uuid!, upstream_task_id uuid!, "
        "downstream_task_id uuid!, key String, mapped Boolean!, " + _AUDIT
    ),
    "log": (
        "id uuid!, flow_run_id uuid, tenant_id uuid, task_run_id uuid, timestamp timestamptz!, "
        "name String, level String, message String, info jsonb, "
        "is_loaded_from_archive Boolean, " + _AUDIT
    ),
    "agent": (
        "id uuid!, tenant_id uuid!, agent_config_id uuid, name String, type String, "
        "core_version String, labels jsonb!, last_queried timestamptz, " + _AUDIT
    ),
    "agent_config": "id uuid!, tenant_id uuid!, name String, settings jsonb!, " + _AUDIT,
}

# Relationships from services/hasura/migrations/metadata.yaml (same commit):
# object: name -> (table, local foreign-key column); array: name -> (table, remote column).
OBJECT: dict[str, dict[str, tuple[str, str]]] = {
    "task": {"flow": ("flow", "flow_id")},
    "flow": {
        "flow_group": ("flow_group", "flow_group_id"),
        "project": ("project", "project_id"),
        "tenant": ("tenant", "tenant_id"),
    },
    "agent": {"agent_config": ("agent_config", "agent_config_id")},
    "flow_group": {"tenant": ("tenant", "tenant_id")},
    "project": {"tenant": ("tenant", "tenant_id")},
    "flow_run": {
        "agent": ("agent", "agent_id"),
        "flow": ("flow", "flow_id"),
        "tenant": ("tenant", "tenant_id"),
    },
    "task_run": {
        "flow_run": ("flow_run", "flow_run_id"),
        "task": ("task", "task_id"),
        "tenant": ("tenant", "tenant_id"),
    },
    "edge": {
        "downstream_task": ("task", "downstream_task_id"),
        "flow": ("flow", "flow_id"),
        "upstream_task": ("task", "upstream_task_id"),
    },
    "flow_run_state": {"flow_run": ("flow_run", "flow_run_id")},
    "task_run_state": {"task_run": ("task_run", "task_run_id")},
}
ARRAY: dict[str, dict[str, tuple[str, str]]] = {
    "agent_config": {"agents": ("agent", "agent_config_id")},
    "task": {
        "downstream_edges": ("edge", "upstream_task_id"),
        "task_runs": ("task_run", "task_id"),
        "upstream_edges": ("edge", "downstream_task_id"),
    },
    "flow": {
        "edges": ("edge", "flow_id"),
        "flow_runs": ("flow_run", "flow_id"),
        "tasks": ("task", "flow_id"),
    },
    "tenant": {
        "flow_groups": ("flow_group", "tenant_id"),
        "flows": ("flow", "tenant_id"),
        "projects": ("project", "tenant_id"),
    },
    "agent": {"flow_runs": ("flow_run", "agent_id")},
    "flow_group": {"flows": ("flow", "flow_group_id")},
    "project": {"flows": ("flow", "project_id")},
    "flow_run": {
        "logs": ("log", "flow_run_id"),
        "states": ("flow_run_state", "flow_run_id"),
        "task_runs": ("task_run", "flow_run_id"),
    },
    "task_run": {
        "logs": ("log", "task_run_id"),
        "states": ("task_run_state", "task_run_id"),
    },
}

SCALARS = ("uuid", "jsonb", "timestamptz", "interval")
_ORDERED = ("Int", "String", "timestamptz", "interval", "uuid")  # Hasura's min/max types
_OPS = (
    "_eq: {t}, _gt: {t}, _gte: {t}, _in: [{t}!], _is_null: Boolean, _lt: {t}, _lte: {t}, "
    "_neq: {t}, _nin: [{t}!]"
)
_TEXT_OPS = (
    "_ilike: String, _iregex: String, _like: String, _nilike: String, _niregex: String, "
    "_nlike: String, _nregex: String, _nsimilar: String, _regex: String, _similar: String"
)
_JSONB_OPS = (
    "_cast: jsonb_cast_exp, _contained_in: jsonb, _contains: jsonb, _has_key: String, "
    "_has_keys_all: [String!], _has_keys_any: [String!]"
)


@dataclass(frozen=True)
class Column:
    """One column: its name, Hasura type and whether it is NOT NULL."""

    name: str
    type: str
    required: bool


@dataclass
class Table:
    """A tracked table with its relationships."""

    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    objects: dict[str, tuple[str, str]] = field(default_factory=dict)
    arrays: dict[str, tuple[str, str]] = field(default_factory=dict)


def tables() -> dict[str, Table]:
    """Every tracked table, parsed from COLUMNS, OBJECT and ARRAY."""
    found = {}
    for name, spec in COLUMNS.items():
        table = Table(name, objects=OBJECT.get(name, {}), arrays=ARRAY.get(name, {}))
        for part in spec.split(","):
            column, kind = part.split()
            table.columns[column] = Column(column, kind.rstrip("!"), kind.endswith("!"))
        found[name] = table
    return found


def _block(keyword: str, name: str, fields: list[str]) -> str:
    return f"{keyword} {name} {{\n" + "\n".join(f"  {f}" for f in fields) + "\n}\n"


def _list_args(table: str) -> str:
    return (
        f"distinct_on: [{table}_select_column!], limit: Int, offset: Int, "
        f"order_by: [{table}_order_by!], where: {table}_bool_exp"
    )


def _comparisons() -> str:
    parts = []
    for kind in ("Boolean", "Int", "String", *SCALARS):
        ops = _OPS.format(t=kind)
        ops += {"String": ", " + _TEXT_OPS, "jsonb": ", " + _JSONB_OPS}.get(kind, "")
        parts.append(_block("input", f"{kind}_comparison_exp", ops.split(", ")))
    parts.append(_block("input", "jsonb_cast_exp", ["String: String_comparison_exp"]))
    parts.append(
        "enum order_by {\n  asc\n  asc_nulls_first\n  asc_nulls_last\n"
        "  desc\n  desc_nulls_first\n  desc_nulls_last\n}\n"
    )
    return "\n".join(parts)


def _table_sdl(table: Table) -> str:
    t = table.name
    fields, order_by = [], []
    bool_exp = [f"_and: [{t}_bool_exp!]", f"_not: {t}_bool_exp", f"_or: [{t}_bool_exp!]"]
    for c in table.columns.values():
        arg = "(path: String)" if c.type == "jsonb" else ""
        fields.append(f"{c.name}{arg}: {c.type}{'!' if c.required else ''}")
        bool_exp.append(f"{c.name}: {c.type}_comparison_exp")
        order_by.append(f"{c.name}: order_by")
    for rel, (remote, column) in table.objects.items():
        required = table.columns[column].required
        fields.append(f"{rel}: {remote}{'!' if required else ''}")
        bool_exp.append(f"{rel}: {remote}_bool_exp")
        order_by.append(f"{rel}: {remote}_order_by")
    for rel, (remote, _column) in table.arrays.items():
        fields.append(f"{rel}({_list_args(remote)}): [{remote}!]!")
        fields.append(f"{rel}_aggregate({_list_args(remote)}): {remote}_aggregate!")
        bool_exp.append(f"{rel}: {remote}_bool_exp")
        order_by.append(f"{rel}_aggregate: {remote}_aggregate_order_by")
    ordered = [c for c in table.columns.values() if c.type in _ORDERED]
    numeric = [c for c in table.columns.values() if c.type == "Int"]
    aggregate = [
        f"count(columns: [{t}_select_column!], distinct: Boolean): Int!",
        f"max: {t}_max_fields",
        f"min: {t}_min_fields",
    ]
    aggregate_order = ["count: order_by", f"max: {t}_max_order_by", f"min: {t}_min_order_by"]
    parts = [
        _block("type", t, sorted(fields)),
        _block("input", f"{t}_bool_exp", sorted(bool_exp)),
        _block("input", f"{t}_order_by", sorted(order_by)),
        _block("enum", f"{t}_select_column", sorted(table.columns)),
        _block("type", f"{t}_aggregate", [f"aggregate: {t}_aggregate_fields", f"nodes: [{t}!]!"]),
        _block("type", f"{t}_max_fields", [f"{c.name}: {c.type}" for c in ordered]),
        _block("type", f"{t}_min_fields", [f"{c.name}: {c.type}" for c in ordered]),
        _block("input", f"{t}_max_order_by", [f"{c.name}: order_by" for c in ordered]),
        _block("input", f"{t}_min_order_by", [f"{c.name}: order_by" for c in ordered]),
    ]
    if numeric:
        for kind in ("avg", "sum"):
            aggregate.append(f"{kind}: {t}_{kind}_fields")
            aggregate_order.append(f"{kind}: {t}_{kind}_order_by")
            result = "Float" if kind == "avg" else "Int"
            parts.append(
                _block("type", f"{t}_{kind}_fields", [f"{c.name}: {result}" for c in numeric])
            )
            parts.append(
                _block("input", f"{t}_{kind}_order_by", [f"{c.name}: order_by" for c in numeric])
            )
    parts.append(_block("type", f"{t}_aggregate_fields", aggregate))
    parts.append(_block("input", f"{t}_aggregate_order_by", aggregate_order))
    return "\n".join(parts)


def hasura_sdl() -> str:
    """The query side of Hasura v2's schema for the tracked tables (Prefect Server exposes its
    own mutations instead of Hasura's), as SDL that extends the server's Query type."""
    all_tables = tables()
    roots = []
    for t in all_tables:
        roots.append(f"{t}({_list_args(t)}): [{t}!]!")
        roots.append(f"{t}_aggregate({_list_args(t)}): {t}_aggregate!")
        roots.append(f"{t}_by_pk(id: uuid!): {t}")
    body = [f"scalar {s}" for s in SCALARS]
    body.append(_comparisons())
    body += [_table_sdl(table) for table in all_tables.values()]
    body.append(_block("extend type", "Query", roots))
    return "\n".join(body)
