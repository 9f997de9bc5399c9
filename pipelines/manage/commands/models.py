"""The materialize command: build a dbt model (and its tests) locally."""

from __future__ import annotations

import click

from pipelines.settings import load_settings


def _table(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, str]:
    dataset_id, _, table_id = value.partition(".")
    if not dataset_id or not table_id or "." in table_id:
        raise click.BadParameter(
            f"{value!r} is not DATASET.TABLE: give the model's folder and file name, e.g. "
            "template_pipeline.rain_per_station_day (queries/models/<dataset>/<table>.sql)."
        )
    return dataset_id, table_id


@click.command("materialize")
@click.argument("model", callback=_table, metavar="DATASET.TABLE")
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
def materialize(model: tuple[str, str], full_refresh: bool) -> None:
    """Build the dbt model queries/models/DATASET/TABLE.sql and run its tests, on the
    warehouse of PIPELINES_ENV (locally the DuckDB file that flows load).

    \b
    Example:
      python manage.py materialize template_pipeline.rain_per_station_day
    """
    import logging

    from pipelines.utils.dbt.runner import model_selector, run_dbt_command

    logger = logging.getLogger("dbt")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    run = run_dbt_command(
        "build",
        load_settings(),
        logger,
        select=model_selector(*model),
        full_refresh=full_refresh,
    )
    for node in run.results:
        rows = "" if node.rows_affected is None else f", {node.rows_affected} rows"
        click.echo(f"{node.status}: {node.relation or node.name} ({node.seconds:.2f} s{rows})")
    click.echo(f"Materialized {model[0]}.{model[1]}: {len(run.results)} node(s) ran.")
