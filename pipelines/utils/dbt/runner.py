"""Run dbt in-process on the repo's dbt project, streaming its events into a logger."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.errors import DbtError
from pipelines.settings import Settings
from pipelines.utils.dbt.profiles import QUERIES_DIR, write_profiles
from pipelines.utils.resources import resources
from pipelines.utils.scratch import temporary_folder

COMMANDS = ("build", "run", "test", "parse")
_LEVELS = {"info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_FAILED = {"error", "fail", "runtime error"}


@dataclass(frozen=True)
class NodeResult:
    """One model, test or seed of a run."""

    name: str  # e.g. model.queries.rain_per_station_day
    relation: str | None  # dataset.table it built (models and seeds)
    status: str  # success, error, fail, warn, pass, skipped
    rows_affected: int | None
    seconds: float
    message: str | None
    file: str | None  # the source file, relative to the dbt project
    compiled: str | None  # where dbt wrote its compiled SQL


@dataclass
class DbtRun:
    """What a dbt invocation did."""

    command: str
    select: str | None
    results: list[NodeResult] = field(default_factory=list)

    @property
    def built(self) -> list[NodeResult]:
        """The models and seeds it built."""
        return [r for r in self.results if r.relation and r.status == "success"]

    @property
    def location(self) -> str:
        """The tables built, for run summaries."""
        built = self.built
        tests = [r for r in self.results if r.name.startswith("test.")]
        passed = sum(1 for r in tests if r.status == "pass")
        tables = ", ".join(
            f"{r.relation} ({'?' if r.rows_affected is None else r.rows_affected} rows)"
            for r in built
        )
        return (
            f"dbt {self.command}: {tables or 'no table built'}; tests {passed}/{len(tests)} passed"
        )

    def failed(self, warn_only: bool = False) -> list[NodeResult]:
        """Nodes that failed; with warn_only, failing tests are not counted."""
        return [
            r
            for r in self.results
            if r.status in _FAILED and not (warn_only and r.name.startswith("test."))
        ]


def model_selector(dataset_id: str, table_id: str) -> str:
    """The dbt selector of the model models/<dataset_id>/<table_id>.sql."""
    from pipelines.utils.datalake.base import check_table_name

    check_table_name("dataset_id", dataset_id)
    check_table_name("table_id", table_id)
    return f"path:models/{dataset_id}/{table_id}.sql"


def resolved_vars(vars: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """dbt vars with each `secret:<path>[#<key>]` string read from the secret store (without
    `#key`: the secret's only key, or the key named like the var). Read when dbt runs, so a
    flow's parameters, a child run's and the server only ever hold the reference; the values
    are masked in every log from then on.

    Raises:
        DbtError: vars is not a mapping of names.
        SecretError: The secret cannot be read (named by its path, never its value).
    """
    from pipelines.utils.secrets.reading import SECRET_PREFIX, resolve

    if not isinstance(vars, Mapping) or not all(isinstance(k, str) for k in vars):
        raise DbtError(f"vars must map dbt var names to values, got {type(vars).__name__}.")
    return {
        name: resolve(value, settings, default_key=name)
        if isinstance(value, str) and value.startswith(SECRET_PREFIX)
        else value
        for name, value in vars.items()
    }


def run_dbt_command(
    command: str,
    settings: Settings,
    logger: logging.Logger | logging.LoggerAdapter,
    select: str | None = None,
    vars: Mapping[str, Any] | None = None,
    full_refresh: bool = False,
    warn_only: bool = False,
    project_dir: Path | None = None,
) -> DbtRun:
    """Run `dbt <command>` in this process, logging dbt's events as they happen.

    Args:
        command: build, run, test or parse.
        settings: Where to run (the profile is built from them).
        logger: Receives dbt's events (model started, finished with rows and seconds, errors).
        select: A dbt selection: 'path:models/<dataset>/<table>.sql', 'tag:daily', '+model'...
        vars: dbt vars; a string value `secret:<path>#<key>` is read from the secret store
            now (and masked from then on), see resolved_vars.
        full_refresh: Rebuild incremental models from scratch.
        warn_only: Failing dbt tests are logged as warnings instead of failing the run.
        project_dir: The dbt project; default queries/ at the repo root (QUERIES_DIR).

    Returns:
        The nodes run, with status, rows and seconds.

    Raises:
        ValueError: An unknown command.
        DbtError: dbt failed: the message names each failing node, its file, the compiled
            SQL's location and dbt's error.
    """
    handlers = list(logging.getLogger().handlers)
    from dbt.cli.main import dbtRunner  # importing it adds a handler to the root logger

    if command not in COMMANDS:
        raise ValueError(f"command={command!r} must be one of {', '.join(COMMANDS)}.")
    base = settings.data_dir / "dbt"
    target_path = base / "target"

    root = logging.getLogger()

    def on_event(event: Any) -> None:
        if len(root.handlers) != len(handlers):  # dbt set up logging again: print once
            root.handlers[:] = handlers
        level = _LEVELS.get(str(event.info.level))
        if level is not None and event.info.msg:
            logger.log(level, "dbt: %s", event.info.msg)

    args = [
        command,
        "--project-dir", str(project_dir or QUERIES_DIR),
        "--target-path", str(target_path),
        "--log-path", str(base / "logs"),
        "--log-level", "none",  # the events reach the logger through on_event
        "--log-level-file", "info",
        "--no-send-anonymous-usage-stats",
        "--no-use-colors",
        "--partial-parse",
        "--no-version-check",
        "--no-populate-cache",
    ]  # fmt: skip
    if select:
        args += ["--select", select]
    if vars:
        args += ["--vars", json.dumps(resolved_vars(vars, settings))]
    if full_refresh and command in ("build", "run"):
        args.append("--full-refresh")
    # A one-writer file (DuckDB): hold the warehouse's lock so none of our connections is open.
    single_file = resources(settings).warehouse_file
    lock: Any = nullcontext()
    if single_file is not None:
        from pipelines.utils.warehouse.duckdb_warehouse import writer_lock

        lock = writer_lock()
    with temporary_folder("pipelines-dbt-") as tmp, lock:
        args += ["--profiles-dir", str(write_profiles(settings, tmp))]
        try:
            outcome = dbtRunner(callbacks=[on_event]).invoke(args)
        finally:
            logging.getLogger().handlers[:] = handlers  # every log line printed once
            if single_file is not None:
                _release_duckdb()
    run = DbtRun(command, select, _results(outcome.result, target_path))
    failed = run.failed(warn_only)
    if outcome.exception is not None or (not outcome.success and (failed or not run.results)):
        raise DbtError(_failure_message(run, failed, outcome.exception, select))
    if select and command != "parse" and not run.results:
        raise DbtError(
            f"dbt {command}: no model matches {select!r}; the model of <dataset>.<table> is "
            "queries/models/<dataset>/<table>.sql."
        )
    if single_file is not None:
        _count_rows(run, single_file)
    built = [r.relation for r in run.built if r.relation]
    if built and command in ("build", "run"):  # the models' freshness (load_times)
        resources(settings).warehouse().record_builds(built, dt.datetime.now(dt.UTC))
    return run


def _release_duckdb() -> None:
    """dbt-duckdb keeps the database open after a run; our own connections (another
    configuration) could not open the file until it lets go."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    DuckDBConnectionManager.close_all_connections()


def _count_rows(run: DbtRun, path: Path) -> None:
    """dbt-duckdb reports no row counts: count each table a model built (a local file)."""
    import dataclasses

    import duckdb

    from pipelines.utils.warehouse.duckdb_warehouse import writer_lock

    built = [r for r in run.built if r.rows_affected is None]
    if not built:
        return
    with writer_lock(), duckdb.connect(str(path), read_only=True) as db:
        for index, node in enumerate(run.results):
            if node in built:
                schema, _, table = (node.relation or "").partition(".")
                found = db.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
                rows = int(found[0]) if found else None
                run.results[index] = dataclasses.replace(node, rows_affected=rows)


def _results(result: Any, target_path: Path) -> list[NodeResult]:
    found = []
    for item in getattr(result, "results", None) or []:
        node = item.node
        compiled = None
        if getattr(node, "original_file_path", None) and node.resource_type in ("model", "test"):
            compiled = str(target_path / "compiled" / node.package_name / node.original_file_path)
        relation = None
        if node.resource_type in ("model", "seed", "snapshot"):
            relation = f"{node.schema}.{node.alias or node.name}"
        adapter = getattr(item, "adapter_response", None) or {}
        found.append(
            NodeResult(
                name=node.unique_id,
                relation=relation,
                status=str(getattr(item.status, "value", item.status)),
                rows_affected=adapter.get("rows_affected"),
                seconds=round(float(item.execution_time or 0.0), 3),
                message=item.message,
                file=getattr(node, "original_file_path", None),
                compiled=compiled,
            )
        )
    return found


def _failure_message(
    run: DbtRun, failed: list[NodeResult], exception: BaseException | None, select: str | None
) -> str:
    where = f" (select {select})" if select else ""
    lines = [f"dbt {run.command}{where} failed:"]
    for node in failed:
        lines.append(f"  {node.name} in queries/{node.file}: {node.message}")
        if node.compiled:
            lines.append(f"    compiled SQL: {node.compiled}")
    if exception is not None:
        lines.append(f"  {type(exception).__name__}: {exception}")
    if len(lines) == 1:
        lines.append("  no node ran: check the selection (dbt ls --select ...).")
    return "\n".join(lines)
