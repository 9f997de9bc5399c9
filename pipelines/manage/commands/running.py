"""Commands that run here: run (a flow now) and query (the warehouse, read-only)."""

from __future__ import annotations

import json

import click

from pipelines.errors import PipelinesError
from pipelines.manage.commands.base import in_own_checkout, pass_repo
from pipelines.manage.errors import CliError
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
@click.argument("flow_path")
@click.option(
    "--param",
    "params",
    multiple=True,
    callback=_parse_params,
    help="KEY=VALUE; VALUE is read as JSON when it parses (42, true, [1,2]), else as text.",
)
@pass_repo
def run(repo: Repo, flow_path: str, params: dict[str, object]) -> None:
    """Run a flow now on this machine (executor from settings) and summarise it.

    \b
    Example:
      python manage.py run pipelines.emd.test_flow.flows.flow --param param=val
    """
    in_own_checkout(repo)
    from pipelines.manage.inventory import load_flow
    from pipelines.utils.execution import check_parameters, failed_tasks, run_local

    flow = load_flow(flow_path)
    check_parameters(flow, params)
    state = run_local(flow, params)
    if not state.is_successful():
        failed = [f"  {name}: {message}" for name, message in failed_tasks(state)]
        raise CliError(f"Flow {flow.name!r} failed: {state.message}\n" + "\n".join(failed))
    click.echo(f"Flow {flow.name!r} succeeded.")


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
