"""Tasks that run dbt models: in this process, or as a child flow run on the server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import prefect
from prefect import task
from prefect.engine import signals

from pipelines.constants import DEV_FLOW_SUFFIX, STAGING_FLOW_SUFFIX
from pipelines.errors import ChildRunError, DbtError
from pipelines.utils.context import current_settings
from pipelines.utils.dbt.runner import DbtRun, model_selector, run_dbt_command
from pipelines.utils.flow_runs.runs import create_child, on_server, wait_for

# The org's shared materialization flow: "<org>: materialize" (pipelines/<org>/flows.py).
MATERIALIZE_FLOW = "{org}: materialize"


def _dbt(
    command: str,
    select: str | None,
    vars: Mapping[str, Any] | None,
    full_refresh: bool,
    warn_only: bool,
) -> DbtRun:
    logger = prefect.context.get("logger")
    try:
        run = run_dbt_command(
            command, current_settings(), logger, select=select, vars=vars,
            full_refresh=full_refresh, warn_only=warn_only,
        )  # fmt: skip
    except DbtError as error:
        # The message becomes the task's state message, which the failure alert carries.
        raise signals.FAIL(str(error)) from None
    for node in run.results:
        logger.info(
            "%s: %s, %s rows, %.2f s", node.relation or node.name, node.status,
            "?" if node.rows_affected is None else node.rows_affected, node.seconds,
        )  # fmt: skip
    return run


@task
def run_dbt(
    select: str | None = None,
    command: str = "build",
    vars: Mapping[str, Any] | None = None,
    full_refresh: bool = False,
    warn_only: bool = False,
) -> DbtRun:
    """Run dbt on the repo's models (queries/), its events in this task's log as they happen.

    Args:
        select: dbt selection, e.g. 'path:models/<dataset>/<table>.sql', 'tag:daily',
            '+<model>'; None runs every model.
        command: build (models and their tests), run or test.
        vars: dbt vars; a value `secret:<path>#<key>` is read when dbt runs, and masked.
        full_refresh: Rebuild incremental models from scratch.
        warn_only: Failing dbt tests are warnings, not a failed task.

    Returns:
        Per node: status, rows affected, seconds, compiled SQL location.

    Raises:
        signals.FAIL: dbt failed; the message names the failing model, its file, the compiled
            SQL and dbt's error.
    """
    return _dbt(command, select, vars, full_refresh, warn_only)


def child_flow_name(parent: str, org: str) -> str:
    """The materialization flow in the parent's deployment: same org, same name suffix."""
    for suffix in (STAGING_FLOW_SUFFIX, DEV_FLOW_SUFFIX):
        if parent.endswith(suffix):
            return MATERIALIZE_FLOW.format(org=org) + suffix
    return MATERIALIZE_FLOW.format(org=org)


def _materialize_on_server(
    select: str,
    vars: Mapping[str, Any] | None,
    full_refresh: bool,
    timeout_s: float,
    poll_s: float,
) -> str:
    """A child run of the org's materialization flow, in the parent's project and deployment
    with the parent's labels, waited for (and cancelled on timeout)."""
    parent = prefect.context.get("flow_name") or ""
    org = parent.split(":", 1)[0]
    name = child_flow_name(parent, org)
    try:
        run_id = create_child(
            name, {"select": select, "vars": vars, "full_refresh": full_refresh},
            run_name=f"materialize {select}",
        )  # fmt: skip
        wait_for(run_id, timeout_s, poll_s)
    except ChildRunError as error:
        hint = f" (defined in pipelines/{org}/flows.py)" if str(error).startswith("No flow") else ""
        raise signals.FAIL(f"Materialization of {select}: {error}{hint}") from None
    return run_id


@task
def materialize(
    dataset_id: str,
    table_id: str,
    select: str | None = None,
    enabled: bool = True,
    full_refresh: bool = False,
    timeout_s: float = 3600.0,
    poll_s: float = 10.0,
    vars: Mapping[str, Any] | None = None,
    publish: bool = False,
    export_csv: bool = False,
) -> DbtRun | str:
    """Build the dbt model of a dumped table (or `select`) after its load.

    Run locally (run_local), dbt runs in this task. In a run from the server, it runs as a
    child flow run of the org's materialization flow, in the parent's project (a staging run
    never starts a production child) with the parent's labels, waited for up to timeout_s.

    Args:
        dataset_id: Dataset of the dumped table.
        table_id: The dumped table.
        select: dbt selection; default the model models/<dataset_id>/<table_id>.sql.
        enabled: False skips the task (the flow's materialize_after_dump parameter).
        full_refresh: Rebuild incremental models from scratch.
        timeout_s: How long to wait for the child run.
        poll_s: Seconds between checks of the child run.
        vars: dbt vars; a value `secret:<path>#<key>` is read when dbt runs (in the child
            run, on the server: only the reference is sent) and masked.
        publish: After the build, copy the table dataset_id.table_id to the open-data
            project (PIPELINES_PUBLIC_BIGQUERY_PROJECT; locally public.duckdb).
        export_csv: After publishing, write its zipped CSV download (dump_to_gcs's export).

    Returns:
        The dbt results (local), or the child flow run's id (server).

    Raises:
        signals.SKIP: Not enabled.
        signals.FAIL: dbt failed, or the child run failed or timed out (the message links it).
    """
    if not enabled:
        raise signals.SKIP("materialize_after_dump is off")
    if export_csv and not publish:
        raise signals.FAIL("export_csv=True exports the published table: set publish=True too.")
    select = select or model_selector(dataset_id, table_id)
    if on_server():
        built: DbtRun | str = _materialize_on_server(select, vars, full_refresh, timeout_s, poll_s)
    else:
        built = _dbt("build", select, vars, full_refresh, False)
    if publish:
        _publish(dataset_id, table_id, export_csv)
    return built


def _publish(dataset_id: str, table_id: str, export_csv: bool) -> None:
    """The model's table, copied to the open-data project, and its CSV download."""
    from pipelines.utils.dump_to_gcs.tasks import export_table
    from pipelines.utils.warehouse import get_warehouse

    logger = prefect.context.get("logger")
    where = get_warehouse(current_settings()).publish(dataset_id, table_id)
    logger.info("Published %s.%s to the open-data project: %s", dataset_id, table_id, where)
    if export_csv:
        export_table(dataset_id, table_id)


@task
def dbt_selection(
    select: str | None = None,
    dataset_id: str | None = None,
    table_id: str | None = None,
    upstream: bool = False,
    downstream: bool = False,
) -> str:
    """The dbt selection a materialize run builds: `select` as given, or the model of
    dataset_id.table_id (models/<dataset_id>/<table_id>.sql), with the models it reads
    (upstream) and those that read it (downstream).

    Args:
        select: A dbt selection; give it or dataset_id and table_id, not both.
        dataset_id: The model's dataset (its folder under models/).
        table_id: The model (its file's name).
        upstream: Build the models it depends on first ("+model").
        downstream: Build the models that depend on it after it ("model+").

    Returns:
        The selection, e.g. "+path:models/saude/vacinas.sql".

    Raises:
        DbtError: Neither or both of select and dataset_id/table_id, or only one of those two.
    """
    by_table = dataset_id is not None or table_id is not None
    if bool(select) == by_table:
        raise DbtError(
            "Give select (a dbt selection) or dataset_id and table_id (the model "
            "models/<dataset_id>/<table_id>.sql), not both and not neither."
        )
    if select:
        return select
    if dataset_id is None or table_id is None:
        raise DbtError(f"dataset_id={dataset_id!r} and table_id={table_id!r}: give both.")
    selection = model_selector(dataset_id, table_id)
    return f"{'+' if upstream else ''}{selection}{'+' if downstream else ''}"


def _selection_preflight(arguments: Mapping[str, Any]) -> None:
    """check and run --all ask this of a clock's (or the defaults') values: the same rule."""
    dbt_selection.run(**arguments)


dbt_selection.preflight = _selection_preflight  # type: ignore[attr-defined]
