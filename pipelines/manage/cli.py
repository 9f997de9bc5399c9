"""The manage.py command group: one function per command, errors raised as CliError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipelines.manage.discover import Repo
from pipelines.manage.errors import CliError
from pipelines.manage.names import reserved_names
from pipelines.settings import REPO_ROOT, SettingsError, load_settings

if TYPE_CHECKING:  # prefect is imported only by the commands that talk to the server
    from prefect import Client

pass_repo = click.make_pass_decorator(Repo)


class ManageGroup(click.Group):
    """The command group: keeps its arguments (for --repo-root) and turns OSError into an
    error message at the edge, so no command ends in a traceback for a file it cannot use."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["pipelines.argv"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except OSError as error:
            where = f" ({error.filename})" if error.filename else ""
            raise CliError(
                f"{error.strerror or error}{where}. Check that the path exists and that you "
                "may read and write it; nothing else was changed."
            ) from error


def in_own_checkout(repo: Repo) -> None:
    """Run this command with the manage.py of --repo-root's checkout when it is another one.

    Commands that import flows must import them from that tree, and this process already
    holds the `pipelines` package of its own checkout.
    """
    if repo.root == REPO_ROOT.resolve():
        return
    import subprocess
    import sys

    manage = repo.root / "manage.py"
    if not manage.is_file():
        raise CliError(
            f"--repo-root {repo.root} holds no manage.py; is it a checkout of this repo?"
        )
    args = list(click.get_current_context().meta.get("pipelines.argv", []))
    forwarded, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--repo-root":
            skip = True
        elif not arg.startswith("--repo-root="):
            forwarded.append(arg)
    code = subprocess.call([sys.executable, str(manage), *forwarded], cwd=repo.root)
    click.get_current_context().exit(code)


@click.group(cls=ManageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--repo-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=REPO_ROOT,
    show_default=False,
    help="Repository to work on (default: the one holding manage.py).",
)
@click.pass_context
def cli(ctx: click.Context, repo_root: Path) -> None:
    """Create, list, check and run the pipelines of this repository.

    \b
    Example:
      python manage.py add-project my_project --org emd
    """
    ctx.obj = Repo(repo_root.resolve())


def _default_org(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    if value:
        return value
    repo = ctx.find_object(Repo)
    assert repo is not None, "the cli group sets the Repo"
    try:
        return load_settings(root=repo.root).default_org
    except SettingsError as error:
        raise CliError(str(error)) from error


org_option = click.option(
    "--org",
    callback=_default_org,
    help="Org that owns the project (default: PIPELINES_DEFAULT_ORG, 'emd').",
)


def _confirm_or_abort(question: str, yes: bool, nothing: str = "Nothing removed") -> None:
    if not yes and not click.confirm(question, default=False):
        raise CliError(f"{nothing}: not confirmed (pass --yes to skip the question).")


def _say_recovered(message: str | None) -> None:
    if message:
        click.echo(f"note: {message}", err=True)


def _report(verb: str, created: list[str], edited: list[str]) -> None:
    for path in created:
        click.echo(f"  {verb} {path}")
    for path in edited:
        click.echo(f"  edited  {path}")


@cli.command("add-project")
@click.argument("name")
@org_option
@pass_repo
def add_project(repo: Repo, name: str, org: str) -> None:
    """Create pipelines/<org>/NAME from the project template, with its test.

    \b
    Example:
      python manage.py add-project bike_counts --org emd
    """
    from pipelines.manage.scaffold import add_project as scaffold

    result = scaffold(repo, name, org)
    _say_recovered(result.recovered)
    click.echo(f"Created project '{name}' in org '{org}':")
    _report("created", result.created, result.edited)
    click.echo(
        f"Next: edit pipelines/{org}/{name}/flows.py, then run its test with "
        f"`make test` or `python manage.py run pipelines.{org}.{name}.flows.flow`."
    )


@cli.command("add-org")
@click.argument("name")
@pass_repo
def add_org(repo: Repo, name: str) -> None:
    """Create the org package pipelines/NAME and import it from pipelines/flows.py.

    \b
    Example:
      python manage.py add-org sme
    """
    from pipelines.manage.scaffold import add_org as scaffold

    result = scaffold(repo, name)
    _say_recovered(result.recovered)
    click.echo(f"Created org '{name}':")
    _report("created", result.created, result.edited)
    click.echo(f"Next: python manage.py add-project my_project --org {name}")


@cli.command("remove-project")
@click.argument("name")
@org_option
@click.option(
    "--yes", is_flag=True, help="Do not ask for confirmation (unless work would be lost)."
)
@click.option("--force", is_flag=True, help="Delete even files only this working tree holds.")
@pass_repo
def remove_project(repo: Repo, name: str, org: str, yes: bool, force: bool) -> None:
    """Undo add-project: delete the project, its tests and its import line.

    Files that exist only in this working tree (untracked or uncommitted in git; outside git,
    changed from the template) are listed and the question is asked even with --yes; --force
    skips it.

    \b
    Example:
      python manage.py remove-project bike_counts --org emd --yes
    """
    from pipelines.manage.scaffold import remove_project as scaffold
    from pipelines.manage.scaffold import require_org, unsaved_work

    require_org(repo, org)
    work = unsaved_work(repo, name, org) if name in repo.projects(org) else []
    if work and not force:
        click.echo(f"These files of {name} exist only in this working tree and would be lost:")
        for path in work:
            click.echo(f"  {path}")
        if not click.confirm("Delete them anyway?", default=False):
            raise CliError(
                "Nothing removed: the project holds unsaved work (commit it, or pass --force "
                "to delete it)."
            )
    else:
        _confirm_or_abort(f"Delete pipelines/{org}/{name} and its tests?", yes or force)
    result = scaffold(repo, name, org)
    _say_recovered(result.recovered)
    click.echo(f"Removed project '{name}' from org '{org}':")
    _report("removed", result.created, result.edited)


@cli.command("list-projects")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_repo
def list_projects(repo: Repo, as_json: bool) -> None:
    """List every org with its projects, and the reserved names.

    \b
    Example:
      python manage.py list-projects --json
    """
    tree = repo.tree()
    reserved = reserved_names()
    if as_json:
        click.echo(json.dumps({"orgs": tree, "reserved": sorted(reserved)}, indent=2))
        return
    for org, projects in tree.items():
        click.echo(f"{org} ({len(projects)} project{'s' if len(projects) != 1 else ''})")
        for project in projects:
            click.echo(f"  {project}")
    from pipelines.constants import PROJECT_MODULES, SHARED_PACKAGES
    from pipelines.manage.names import DEPENDENCY_NAMES, REPO_NAMES

    own = sorted({*REPO_NAMES, *PROJECT_MODULES, *SHARED_PACKAGES, *DEPENDENCY_NAMES})
    click.echo("")
    click.echo("Reserved names: " + ", ".join(own))
    click.echo(
        "  plus Python keywords and the standard library's module names "
        "(`list-projects --json` lists them all); names are unique across orgs and projects."
    )


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


@cli.command("run")
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
    from pipelines.manage.loading import load_flow
    from pipelines.utils.execution import (
        FlowParameterError,
        check_parameters,
        failed_tasks,
        run_local,
    )

    flow = load_flow(flow_path)
    try:
        check_parameters(flow, params)
        state = run_local(flow, params)
    except (FlowParameterError, SettingsError) as error:
        raise CliError(str(error)) from error
    if not state.is_successful():
        failed = [f"  {name}: {message}" for name, message in failed_tasks(state)]
        raise CliError(f"Flow {flow.name!r} failed: {state.message}\n" + "\n".join(failed))
    click.echo(f"Flow {flow.name!r} succeeded.")


@cli.command("check")
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


@cli.command("query")
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
    from pipelines.utils.warehouse import get_warehouse
    from pipelines.utils.warehouse.readonly import NotReadOnlyError, check_read_only

    try:
        check_read_only(sql, load_settings().env)
    except (NotReadOnlyError, SettingsError) as error:
        raise CliError(str(error)) from error
    try:
        frame = get_warehouse().query(sql)
    except (SettingsError, FileNotFoundError) as error:
        raise CliError(str(error)) from error
    except Exception as error:  # the SQL engine's own message is what the user needs
        raise CliError(f"Query failed: {error}") from error
    click.echo(frame.head(limit).to_string(index=False))
    if len(frame) > limit:
        click.echo(f"... {len(frame) - limit} more row(s)")


@cli.group("dev-flows")
def dev_flows() -> None:
    """List and archive development versions registered by run_cloud.

    \b
    Example:
      python manage.py dev-flows list
    """


def _dev_client() -> tuple[Client, str]:
    from prefect import Client

    from pipelines.utils.execution.cloud import cloud_environment_problems

    settings = load_settings()
    # Only the Prefect variables matter here: housekeeping uploads nothing.
    problems = [p for p in cloud_environment_problems(settings) if p.startswith("PREFECT__")]
    if problems:
        raise CliError("Missing environment variables:\n" + "\n".join(f"  {p}" for p in problems))
    return Client(), settings.get("PIPELINES_DEV_PROJECT") or "staging"


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
    _confirm_or_abort(f"Archive these {len(flows)} version(s)?", yes, nothing="Nothing archived")
    archive(client, flows)
    click.echo(f"Archived {len(flows)} development version(s) in {project!r}.")


@cli.command("image-tag")
@pass_repo
def image_tag_command(repo: Repo) -> None:
    """Print the flow-run image tag: deps-<hash of the runtime dependencies and Dockerfile>.

    \b
    Example:
      docker build -t ghcr.io/city/pipelines:$(python manage.py image-tag) .
    """
    from pipelines.manage.affected import image_tag

    click.echo(image_tag(repo.root))


@cli.command("register")
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
@pass_repo
def register(
    repo: Repo,
    all_flows: bool,
    since: str | None,
    staging: bool,
    dry_run: bool,
    as_json: bool,
    fail_if_empty: bool,
) -> None:
    """Register the flows a change affects (or all) on Prefect Server, idempotently.

    A flow is affected when a file in its static import closure changed. An unchanged flow
    uploads nothing and creates no version.

    \b
    Example:
      python manage.py register --since origin/main --dry-run
      python manage.py register --all
    """
    from pipelines.manage.affected import affected_flows, changed_files, image_tag
    from pipelines.manage.register import Outcome, Report, load_flows, register_all
    from pipelines.utils.deploy.graph import ModuleGraph

    if all_flows == bool(since):
        raise click.UsageError("Pass exactly one of --all or --since REV.")
    in_own_checkout(repo)
    graph = ModuleGraph.build(repo.root)
    changed = None if all_flows else changed_files(repo.root, since or "")
    affected, deleted = affected_flows(repo, graph, changed)
    say = (lambda line: None) if as_json else click.echo
    if as_json:
        _prefect_logs_to_stderr()
    for path in deleted:
        say(f"removed: {path} is gone; archive its flows in the UI (nothing to register).")
    target = None
    if not dry_run:
        target = _register_target(repo, staging, image_tag(repo.root))
    report = Report()
    loaded = load_flows(affected, report)
    if dry_run:
        for item, flow in loaded:
            report.outcomes.append(Outcome(flow.name, item.module, "would register", affected=item))
    else:
        assert target is not None
        register_all(repo, graph, loaded, target, report, progress=say)
    _print_report(report, as_json, dry_run)
    if fail_if_empty and not report.outcomes:
        raise CliError("No flow is affected by this change (--fail-if-empty).")
    if report.count("failed"):
        raise CliError(f"{report.count('failed')} flow(s) failed; the others were processed.")


def _prefect_logs_to_stderr() -> None:
    """Keep stdout for the JSON document: Prefect logs to stdout by default."""
    import logging
    import sys

    import prefect  # noqa: F401  (configures the 'prefect' logger)

    for handler in logging.getLogger("prefect").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


def _register_target(repo: Repo, staging: bool, tag: str):
    from pipelines.constants import STAGING_FLOW_SUFFIX
    from pipelines.utils.deploy.deployment import Target
    from pipelines.utils.execution.cloud import cloud_environment_problems

    settings = load_settings(root=repo.root)
    problems = [
        p for p in cloud_environment_problems(settings) if not p.startswith("PIPELINES_FLOW_IMAGE")
    ]
    image = settings.get("PIPELINES_FLOW_IMAGE")
    repository = settings.get("PIPELINES_IMAGE_REPOSITORY")
    if not image and not repository:
        problems.append(
            "PIPELINES_IMAGE_REPOSITORY (or PIPELINES_FLOW_IMAGE): "
            + settings.purpose("PIPELINES_IMAGE_REPOSITORY")
        )
    if problems:
        raise CliError("register needs:\n" + "\n".join(f"  {p}" for p in problems))
    project_key = "PIPELINES_DEV_PROJECT" if staging else "PIPELINES_PROD_PROJECT"
    return Target(
        project=settings.get(project_key) or "",
        bucket=settings.require("PIPELINES_FLOWS_BUCKET"),
        image=image or f"{repository}:{tag}",
        schedule_active=not staging,
        suffix=STAGING_FLOW_SUFFIX if staging else "",
    )


def _print_report(report, as_json: bool, dry_run: bool) -> None:
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
    if not dry_run:
        click.echo(
            f"registered: {report.count('registered')}, skipped (unchanged): "
            f"{report.count('skipped')}, failed: {report.count('failed')}, "
            f"uploads: {report.uploads}"
        )


def main() -> None:
    """Entry point used by manage.py."""
    cli(prog_name="manage.py")
