"""Run bqemulator with two fixes for failures it would otherwise hide (see the notes below).

Runs inside the emulator's own virtualenv (stdlib, bqemulator and its dependencies only):
    python patched_server.py start --rest-port ... (the arguments of `bqemulator start`)

What it changes, and why, against bqemulator 1.4.0:
1. External tables. The emulator ignores `externalDataConfiguration`: the table comes back
   with one `__placeholder` column and no rows, and no error, so a test of an external table
   over Parquet would pass on an empty table. Here a PARQUET or CSV external table becomes a
   DuckDB view over read_parquet()/read_csv() of the files its URIs name (gs:// under
   BQEMU_GCS_LOCAL_ROOT, `*` matching across folders as BigQuery's wildcard does). Hive
   partition columns come last, typed as a CUSTOM sourceUriPrefix ({ano:INTEGER}/...) says.
   Its schema is the one given (NULL where a Parquet file lacks a column), else what
   the files hold; the view reads the files at query time, as an external table does.
   Other formats are refused (400). Deleting one drops its view first (the emulator's
   DROP TABLE fails on a view with a 500).
2. Failing synchronous queries. jobs.query answers HTTP 200 with no rows when the query
   fails, where BigQuery answers an HTTP error; the client then returns an empty result.
   Here such an answer becomes the HTTP error BigQuery gives (404 notFound, else 400).
BIGNUMERIC still fails with a 500 the client retries: tests do not use it.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

_TABLES = re.compile(r"^/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables/?$")
_TABLE = re.compile(r"^/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables/([^/]+)/?$")
_QUERIES = re.compile(r"^/bigquery/v2/projects/([^/]+)/queries/?$")
_STATUS = {"notFound": 404, "duplicate": 409, "accessDenied": 403}
_HIVE_TYPES = {"INTEGER": "BIGINT", "DATE": "DATE", "STRING": "VARCHAR", "TIMESTAMP": "TIMESTAMPTZ"}


def _error(status: int, reason: str, message: str) -> Any:
    from fastapi.responses import JSONResponse

    error = {"reason": reason, "message": message}
    return JSONResponse(
        status_code=status,
        content={"error": {"code": status, "message": message, "errors": [error]}},
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _local_glob(uri: str, root: Any) -> str:
    """gs://bucket/path* -> <root>/bucket/path**/* (BigQuery's `*` spans folders)."""
    if not uri.startswith("gs://") or root is None:
        raise ValueError(f"external table URI {uri!r}: only gs:// under BQEMU_GCS_LOCAL_ROOT")
    relative = uri[len("gs://") :]
    if ".." in relative.split("/"):
        raise ValueError(f"external table URI {uri!r} leaves the bucket")
    if relative.endswith("/*"):
        relative = relative[:-1] + "**/*"
    elif "*" in relative:
        relative = relative.replace("*", "**/*", 1)
    return str(root / relative)


async def _create_external_table(context: Any, project: str, dataset: str, body: dict) -> Any:
    from bqemulator.api.routes.tables import _rest_to_table_meta, _table_to_rest
    from bqemulator.storage.sql_identifiers import quoted_table_ref
    from bqemulator.storage.type_map import bq_schema_to_duckdb_columns, duckdb_type_to_bq_field

    config = body["externalDataConfiguration"]
    table_id = body.get("tableReference", {}).get("tableId", "")
    source_format = config.get("sourceFormat")
    if source_format not in ("PARQUET", "CSV"):
        return _error(400, "invalid", "patched emulator: only PARQUET and CSV external tables")
    if context.catalog.get_table(project, dataset, table_id) is not None:
        return _error(409, "duplicate", f"Already Exists: Table {project}:{dataset}.{table_id}")
    try:
        paths = [_local_glob(u, context.settings.gcs_local_root) for u in config["sourceUris"]]
    except ValueError as error:
        return _error(400, "invalid", str(error))
    options = config.get("hivePartitioningOptions") or {}
    hive = "true" if options else "false"
    keys = re.findall(r"\{(\w+):(\w+)\}", options.get("sourceUriPrefix", ""))
    listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    if source_format == "PARQUET":
        reader = f"read_parquet([{listed}], hive_partitioning = {hive}, union_by_name = true)"
    else:
        fields = body.get("schema", {}).get("fields", [])
        declared = ", ".join(
            f"'{name}': '{kind}'" for name, kind in bq_schema_to_duckdb_columns(fields)
        )
        skip = int(config.get("csvOptions", {}).get("skipLeadingRows", 0) or 0)
        reader = (
            f"read_csv([{listed}], header = {'true' if skip else 'false'}, hive_partitioning = "
            f"{hive}, union_by_name = true, allow_quoted_nulls = false, types = {{{declared}}})"
        )
    columns = "*"
    if keys:  # partition columns last, in the prefix's order and types, as BigQuery does
        names = ", ".join(f'"{name}"' for name, _ in keys)
        casts = ", ".join(
            f'CAST("{n}" AS {_HIVE_TYPES.get(t, "VARCHAR")}) AS "{n}"' for n, t in keys
        )
        columns = f"* EXCLUDE ({names}), {casts}"
    ref = quoted_table_ref(project, dataset, table_id)
    async with context.engine.write_lock():
        fields = body.get("schema", {}).get("fields", [])
        if source_format == "PARQUET" and fields:
            # A schema given with Parquet is the table's: its columns in its types, NULL
            # where a file lacks one (BigQuery reads files of an older schema so).
            try:
                present = {r[0] for r in context.engine.execute(
                    f"DESCRIBE SELECT * FROM {reader}").fetchall()}  # fmt: skip
            except Exception as error:
                return _error(400, "invalid", f"Error while reading data: {error}")
            hive_names = {n for n, _ in keys}
            parts = [
                f"CAST({_quote(n) if n in present else 'NULL'} AS {kind}) AS {_quote(n)}"
                for n, kind in bq_schema_to_duckdb_columns(fields)
                if n not in hive_names
            ]
            parts += [f'CAST("{n}" AS {_HIVE_TYPES.get(t, "VARCHAR")}) AS "{n}"' for n, t in keys]
            columns = ", ".join(parts)
        try:
            context.engine.execute(f"CREATE VIEW {ref} AS SELECT {columns} FROM {reader}")
        except Exception as error:  # no files, unreadable files: BigQuery refuses too
            return _error(400, "invalid", f"Error while reading data: {error}")
        described = context.engine.execute(f"DESCRIBE {ref}").fetchall()
        fields = [duckdb_type_to_bq_field(row[0], row[1]) for row in described]
        rest = {k: v for k, v in body.items() if k != "externalDataConfiguration"}
        rest.update(schema={"fields": fields}, type="EXTERNAL")
        meta = _rest_to_table_meta(project, dataset, rest, context.clock)
        created = context.catalog.create_table(meta)
    answer = _table_to_rest(created)
    answer["externalDataConfiguration"] = config
    return answer


def patch(app: Any, context: Any) -> None:
    """Add the two fixes as the outermost middleware of the emulator's app."""
    from fastapi.responses import JSONResponse

    @app.middleware("http")
    async def fixes(request: Any, call_next: Any) -> Any:
        path = request.url.path
        tables = _TABLES.match(path)
        if request.method == "POST" and tables:
            body = json.loads(await request.body() or b"{}")
            if body.get("externalDataConfiguration"):
                answer = await _create_external_table(context, *tables.groups(), body)
                return answer if not isinstance(answer, dict) else JSONResponse(answer)
        table = _TABLE.match(path)
        if request.method == "DELETE" and table:
            from bqemulator.storage.sql_identifiers import quoted_table_ref

            meta = context.catalog.get_table(*table.groups())
            if meta is not None and meta.table_type == "EXTERNAL":
                async with context.engine.write_lock():
                    context.engine.execute(
                        f"DROP VIEW IF EXISTS {quoted_table_ref(*table.groups())}"
                    )
        response = await call_next(request)
        if request.method == "POST" and _QUERIES.match(path) and response.status_code == 200:
            raw = b"".join([chunk async for chunk in response.body_iterator])
            answer = json.loads(raw)
            if answer.get("errors"):
                first = answer["errors"][0]
                reason = first.get("reason", "invalidQuery")
                return _error(_STATUS.get(reason, 400), reason, first.get("message", "failed"))
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            return JSONResponse(answer, status_code=200, headers=headers)
        return response


def main() -> None:
    import bqemulator.server as server
    from bqemulator.cli import main as cli

    original = server.create_app

    def create_app(context: Any) -> Any:
        app = original(context)
        patch(app, context)
        return app

    server.create_app = create_app
    cli(sys.argv[1:], prog_name="bqemulator")


if __name__ == "__main__":
    main()
