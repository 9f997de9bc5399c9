"""Commands that run here: run (a flow now) and query (the warehouse, read-only)."""

from __future__ import annotations

import json

import click

from pipelines.errors import PipelinesError
from pipelines.manage.commands.base import in_own_checkout, pass_repo
from pipelines.manage.errors import CliError
from pipelines.settings import load_settings
from pipelines.utils.inventory import Repo


def _parse_params(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, object]:
    parsed: dict[str, object] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", ctx=ctx, param=param)
        try:
            parsed[key] = json.loads(raw)
        except json.JSONDecodeError:
            parsed[key] = raw  # not JSON: keep the text as given
    return parsed


@click.command("run")
@click.argument("flow_path", required=False)
@click.option(
    "--param",
    "params",
    multiple=True,
    callback=_parse_params,
    help="KEY=VALUE; VALUE is read as JSON when it parses (42, true, [1,2]), else as text.",
)
@click.option("--all", "run_every", is_flag=True, help="Every flow, in lineage order.")
@click.option(
    "--select", "selectors", multiple=True, metavar="TABLE+|+TABLE",
    help="Flows that fill TABLE; TABLE+ adds what it feeds, +TABLE what feeds it (repeatable).",
)  # fmt: skip
@pass_repo
def run(
    repo: Repo,
    flow_path: str | None,
    params: dict[str, object],
    run_every: bool,
    selectors: tuple[str, ...],
) -> None:
    """Run a flow now on this machine (executor from settings) and summarise it; or, with
    --all or --select, every chosen flow with its defaults in lineage order, then the dbt
    models no flow built, stopping at the first failure. Flows that cannot run here (a
    parameter with no default, a setting they need unset) are skipped, with the reason.

    \b
    Example:
      python manage.py run pipelines.emd.test_flow.flows.flow --param param=val
      python manage.py run --all
      python manage.py run --select +template_pipeline.rain_per_station_day
    """
    in_own_checkout(repo)
    if run_every or selectors:
        if flow_path or params:
            raise click.UsageError("--all and --select run flows with their defaults: drop "
                                   f"{'FLOW_PATH' if flow_path else '--param'}.")  # fmt: skip
        if run_every and selectors:
            raise click.UsageError("Give --all or --select, not both.")
        _run_many(repo, list(selectors))
        return
    if not flow_path:
        raise click.UsageError("Give a flow (DOTTED.PATH.flow), or --all, or --select TABLE+.")
    from pipelines.manage.inventory import load_flow
    from pipelines.manage.run_all import needs_reason
    from pipelines.utils.execution import check_parameters, failed_tasks, run_local

    flow = load_flow(flow_path)
    check_parameters(flow, params)
    lacking = needs_reason(flow, load_settings(root=repo.root))
    if lacking:  # before any task: it would only reach for a service nobody named
        raise CliError(f"Flow {flow.name!r} cannot run here: {lacking}.")
    state = run_local(flow, params)
    if not state.is_successful():
        failed = [f"  {name}: {message}" for name, message in failed_tasks(state)]
        raise CliError(f"Flow {flow.name!r} failed: {state.message}\n" + "\n".join(failed))
    click.echo(f"Flow {flow.name!r} succeeded.")


def _run_many(repo: Repo, selectors: list[str]) -> None:
    import logging

    from pipelines.manage.inventory import load_repo_flows
    from pipelines.manage.lineage import build_lineage
    from pipelines.manage.run_all import plan, run_all, selected_nodes
    from pipelines.utils.dbt.runner import model_selector, run_dbt_command

    loaded = load_repo_flows(repo)
    if loaded.failed:
        raise CliError(
            f"{len(loaded.failed)} flows module(s) did not import, so the order is unknown: "
            f"{', '.join(sorted(loaded.failed))}. `python manage.py check` shows why."
        )
    lineage = build_lineage(loaded.flows, repo.root / "queries")
    flows, models = plan(lineage, loaded.flows, selectors)
    touching = selected_nodes(lineage, selectors) if selectors else None
    settings = load_settings(root=repo.root)
    logger = logging.getLogger("dbt")
    raw = {m: lineage.sources.get(m, []) for m in models}

    def run_model(name: str) -> str:
        from pipelines.utils.resources import resources

        # A raw table nothing loaded here (a new project's starter model) is no failure.
        loaded = resources(settings).warehouse().load_times(raw[name]) if raw[name] else {}
        missing = [table for table in raw[name] if table not in loaded]
        if missing:
            return (
                f"its source {', '.join(missing)} has no data here: no flow has loaded it (write "
                "it with a flow, e.g. dataset_id and table_id in write_parquet_partitions)"
            )
        dataset_id, _, table_id = name.partition(".")
        run_dbt_command("build", settings, logger, select=model_selector(dataset_id, table_id))
        return ""

    run_all(flows, models, settings, click.echo, run_model, touching)


@click.command("query")
@click.argument("sql")
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(min=1), help="Rows to print."
)
def query(sql: str, limit: int) -> None:
    """Run one read-only SQL statement on the warehouse of PIPELINES_ENV and print the result
    (locally the DuckDB file: SELECT or EXPLAIN; in dev/prod: SELECT only).

    \b
    Example:
      python manage.py query "SELECT * FROM template_pipeline.rain_per_hour LIMIT 5"
    """
    from pipelines.manage.results import render
    from pipelines.utils.resources import resources
    from pipelines.utils.warehouse import get_warehouse
    from pipelines.utils.warehouse.readonly import check_read_only

    check_read_only(sql, resources().dialect)
    warehouse = get_warehouse()
    try:
        warehouse.check_select(sql)  # BigQuery's own reading of the statement (a dry run)
        preview = warehouse.preview(sql, limit)
    except FileNotFoundError as error:  # no warehouse yet: its message says what to run
        raise CliError(str(error)) from error
    except PipelinesError:
        raise  # the command group reports it
    except Exception as error:  # the SQL engine's own message is what the user needs
        raise CliError(f"Query failed: {error}") from error
    click.echo(render(preview.columns, preview.rows))
    if preview.more:
        click.echo(f"... more rows: the first {limit} are shown (--limit N to see more)")
