"""The check command: import every flow and validate what deploying it relies on."""

from __future__ import annotations

import click

from pipelines.manage.commands.base import in_own_checkout, pass_repo
from pipelines.manage.errors import CliError
from pipelines.utils.inventory import Repo


@click.command("check")
@pass_repo
def check(repo: Repo) -> None:
    """Import every flow and validate it: DAG, serialization, unique names, schedules,
    deployment defaults, and that every project is imported by its org.

    \b
    Example:
      python manage.py check
    """
    from pipelines.manage.check import check_repo

    in_own_checkout(repo)
    count, problems = check_repo(repo)
    for problem in problems:
        click.echo(f"problem: {problem}")
    if problems:
        raise CliError(f"{len(problems)} problem(s) in {count} flow(s).")
    click.echo(f"ok: {count} flow(s) checked, no problems.")
