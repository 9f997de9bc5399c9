"""The status command: is data still arriving?"""

from __future__ import annotations

import json

import click

from pipelines.manage.commands.base import in_own_checkout, pass_repo
from pipelines.manage.errors import CliError
from pipelines.utils.inventory import Repo


@click.command("status")
@click.option("--org", default=None, help="Only this org's flows.")
@click.option("--owner", default=None, help="Only the flows this code owner owns (@handle).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts, the catalog).")
@click.option(
    "--now", default=None, metavar="DATETIME",
    help="Judge as at this time (ISO 8601; America/Sao_Paulo without an offset).",
)  # fmt: skip
@click.option(
    "--fail-on-stale", is_flag=True, help="Exit 1 when a table is older than its freshness."
)
@pass_repo
def status(
    repo: Repo,
    org: str | None,
    owner: str | None,
    as_json: bool,
    now: str | None,
    fail_on_stale: bool,
) -> None:
    """Every flow's last run, next run, failing streak, and each table's age against its
    freshness, problems first. Locally it reads the runs run_local recorded and the DuckDB
    warehouse; in dev and prod, Prefect Server's production project and BigQuery.

    \b
    Example:
      python manage.py status --org emd
      python manage.py status --json > health.json
    """
    from pipelines.manage.status import parse_now, status_lines
    from pipelines.manage.status import status as read_status
    from pipelines.utils.health.tasks import status_json

    in_own_checkout(repo)
    found = read_status(repo, org=org, owner=owner, now=parse_now(now))
    if as_json:
        data = status_json(found.health, found.now)
        data["source"] = found.source
        data["failed_modules"] = found.failed_modules
        data["schemas"] = found.schemas
        click.echo(json.dumps(data, indent=1, sort_keys=True))
    else:
        for line in status_lines(found):
            click.echo(line)
    if found.failed_modules:
        raise CliError(f"{len(found.failed_modules)} flows module(s) did not import (above).")
    if fail_on_stale and found.stale:
        raise CliError(f"{found.stale} table(s) older than their freshness (--fail-on-stale).")
