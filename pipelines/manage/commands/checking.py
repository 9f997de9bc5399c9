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


@click.command("settings")
@click.option(
    "--env",
    type=click.Choice(["local", "dev", "prod"]),
    default=None,
    help="Read them as PIPELINES_ENV=ENV would (what dev or prod still needs).",
)
@click.option(
    "--example",
    is_flag=True,
    help="Print .env.example as the settings' declarations write it, and nothing else.",
)
@pass_repo
def settings(repo: Repo, env: str | None, example: bool) -> None:
    """Show every setting and where its value comes from (credentials masked), what runs use
    here (datalake, warehouse, dbt), and what a run, run_cloud and register still need.
    Nothing is contacted.

    \b
    Example:
      python manage.py settings
      python manage.py settings --env dev
      python manage.py settings --example > .env.example
    """
    from pipelines.manage.environment import RUN_HERE, report_lines, settings_report
    from pipelines.settings import env_example, load_settings

    if example:
        click.echo(env_example(), nl=False)
        return

    report = settings_report(load_settings(root=repo.root), env)
    for line in report_lines(report):
        click.echo(line)
    if not report.runs_here:
        missing = len(report.needs[RUN_HERE])
        raise CliError(
            f"PIPELINES_ENV={report.env} cannot run here: {missing} setting(s) missing (above)."
        )
