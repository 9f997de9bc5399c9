"""Commands that deploy: register, image-tag and dev-flows (development versions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipelines.manage.commands.base import confirm_or_abort, in_own_checkout, pass_repo
from pipelines.manage.errors import CliError
from pipelines.settings import load_settings
from pipelines.utils.inventory import Repo

if TYPE_CHECKING:  # prefect is imported only by the commands that talk to the server
    from prefect import Client

    from pipelines.manage.register import Report


@click.group("dev-flows")
def dev_flows() -> None:
    """List and archive development versions registered by run_cloud.

    \b
    Example:
      python manage.py dev-flows list
    """


def _dev_client() -> tuple[Client, str]:
    from prefect import Client

    from pipelines.utils.deploy.target import environment_problems, project_of

    settings = load_settings()
    # Only the Prefect variables matter here: dev-flows uploads nothing.
    problems = [p for p in environment_problems(settings) if p.startswith("PREFECT__")]
    if problems:
        raise CliError("Missing environment variables:\n" + "\n".join(f"  {p}" for p in problems))
    return Client(), project_of("development", settings)


@dev_flows.command("list")
def dev_flows_list() -> None:
    """List the development versions in the development project (PIPELINES_DEV_PROJECT).

    \b
    Example:
      python manage.py dev-flows list
    """
    from pipelines.utils.execution.dev_flows import list_dev_flows

    client, project = _dev_client()
    flows = list_dev_flows(client, project)
    for flow in flows:
        click.echo(f"{flow.id}  v{flow.version:<3} {flow.created}  {flow.name}")
    click.echo(f"{len(flows)} development version(s) in project {project!r}.")


@dev_flows.command("delete")
@click.argument("flow_name", required=False)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def dev_flows_delete(flow_name: str | None, yes: bool) -> None:
    """Archive the development versions of FLOW_NAME, or all of them.

    \b
    Example:
      python manage.py dev-flows delete "emd: test_flow (development)" --yes
    """
    from pipelines.utils.execution.cloud import development_name
    from pipelines.utils.execution.dev_flows import archive, list_dev_flows

    client, project = _dev_client()
    name = development_name(flow_name) if flow_name else None
    flows = list_dev_flows(client, project, name)
    if not flows:
        click.echo(f"No development versions{f' of {name!r}' if name else ''} in {project!r}.")
        return
    for flow in flows:
        click.echo(f"  {flow.name} v{flow.version} ({flow.id})")
    confirm_or_abort(f"Archive these {len(flows)} version(s)?", yes, nothing="Nothing archived")
    archive(client, flows)
    click.echo(f"Archived {len(flows)} development version(s) in {project!r}.")


@click.command("image-tag")
@pass_repo
def image_tag_command(repo: Repo) -> None:
    """Print the flow-run image tag: deps-<hash of the runtime dependencies and Dockerfile>.

    \b
    Example:
      docker build -t ghcr.io/city/pipelines:$(python manage.py image-tag) .
    """
    from pipelines.manage.affected import image_tag

    click.echo(image_tag(repo.root))


@click.command("register")
@click.option("--all", "all_flows", is_flag=True, help="Register every flow.")
@click.option(
    "--since",
    metavar="REV",
    help="Register the flows this branch changed since it left REV (`git diff REV...`).",
)
@click.option(
    "--staging",
    is_flag=True,
    help="Register into PIPELINES_DEV_PROJECT as '<name> (staging)' versions, schedules off.",
)
@click.option("--dry-run", is_flag=True, help="List what would be registered and why.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (flow, module, ...).")
@click.option("--fail-if-empty", is_flag=True, help="Exit 1 when no flow is affected.")
@click.option(
    "-v", "--verbose", is_flag=True, help="Also say how many modules each flow's bundle carries."
)
@pass_repo
def register(
    repo: Repo,
    all_flows: bool,
    since: str | None,
    staging: bool,
    dry_run: bool,
    as_json: bool,
    fail_if_empty: bool,
    verbose: bool,
) -> None:
    """Register the flows a change affects (or all) on Prefect Server, idempotently.

    A flow is affected when a file in its static import closure changed. An unchanged flow
    uploads nothing and creates no version.

    \b
    Example:
      python manage.py register --since origin/main --dry-run
      python manage.py register --all
    """
    from pipelines.manage.register import Status, register

    if all_flows == bool(since):
        raise click.UsageError("Pass exactly one of --all or --since REV.")
    in_own_checkout(repo)
    if as_json:
        _prefect_logs_to_stderr()
    progress = (lambda line: None) if as_json else click.echo
    report = register(
        repo, since=since, all_flows=all_flows, staging=staging, dry_run=dry_run, progress=progress
    )
    _print_report(report, as_json, verbose)
    if fail_if_empty and not report.outcomes:
        raise CliError("No flow is affected by this change (--fail-if-empty).")
    failed = report.count(Status.FAILED)
    if failed:
        raise CliError(f"{failed} flow(s) failed; the others were processed.")
    if report.expectations_failed:
        raise CliError(
            f"Flows registered, but {report.expectations}. Check PIPELINES_DATALAKE_BUCKET "
            "and its credentials, then register again."
        )


def _prefect_logs_to_stderr() -> None:
    """Keep stdout for the JSON document: Prefect logs to stdout by default."""
    import logging
    import sys

    import prefect  # noqa: F401  (configures the 'prefect' logger)

    for handler in logging.getLogger("prefect").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


def _print_report(report: Report, as_json: bool, verbose: bool = False) -> None:
    from pipelines.manage.register import Status

    dry_run = report.dry_run
    if as_json:
        click.echo(json.dumps([o.as_json() for o in report.outcomes], indent=2))
        return
    if not report.outcomes:
        click.echo("No flow is affected.")
        return
    click.echo("")
    click.echo("Would register:" if dry_run else "Report:")
    for outcome in report.outcomes:
        click.echo(f"  {outcome.status:<15} {outcome.flow}  ({outcome.module})")
        if outcome.detail:
            click.echo(f"      {outcome.detail}")
        item = outcome.affected
        if dry_run and item and item.reason == "changed":
            click.echo(f"      {item.changed} changed; imports: {' -> '.join(item.via)}")
        elif dry_run and item and item.reason == "dependencies":
            click.echo(f"      {item.changed} changed: new image for every flow")
        if verbose and item and item.modules:
            click.echo(f"      bundle: {item.modules} modules")
    if not dry_run:
        click.echo(
            f"registered: {report.count(Status.REGISTERED)}, skipped (unchanged): "
            f"{report.count(Status.SKIPPED)}, failed: {report.count(Status.FAILED)}, "
            f"uploads: {report.uploads}"
        )
    if report.expectations and not report.expectations_failed:
        click.echo(report.expectations)


@click.command("pr-comment")
@click.option("--since", required=True, metavar="REV", help="The pull request's base.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write the Markdown here instead of printing it.",
)  # fmt: skip
@pass_repo
def pr_comment(repo: Repo, since: str, output: Path | None) -> None:
    """Write the pull request comment of what a change deploys: the flows `register --since
    REV` finds, by org, with their owners mentioned, the tables and models they write, the
    clocks added and removed (with their next runs), the downstream tables that will see new
    data, and the problems `check` finds in them. CI posts it and edits it on each push.

    \b
    Example:
      python manage.py pr-comment --since origin/main
    """
    from pipelines.manage.change_report import collect, render

    text = render(collect(repo, since))
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}.")
    else:
        click.echo(text, nl=False)
