"""Commands that change or list the tree: add-project, add-org, remove-project, list-projects."""

from __future__ import annotations

import json

import click

from pipelines.manage.commands.base import (
    confirm_or_abort,
    org_option,
    pass_repo,
    report,
    say_recovered,
)
from pipelines.manage.discover import Repo
from pipelines.manage.errors import CliError
from pipelines.manage.names import reserved_names


@click.command("add-project")
@click.argument("name")
@org_option
@click.option(
    "--with-model",
    is_flag=True,
    help="Also create the dbt model queries/models/NAME/NAME.sql (over NAME_staging.NAME).",
)
@pass_repo
def add_project(repo: Repo, name: str, org: str, with_model: bool) -> None:
    """Create pipelines/<org>/NAME from the project template, with its test.

    \b
    Example:
      python manage.py add-project bike_counts --org emd --with-model
    """
    from pipelines.manage.scaffold import add_project as scaffold

    result = scaffold(repo, name, org, with_model)
    say_recovered(result.recovered)
    click.echo(f"Created project '{name}' in org '{org}':")
    report("created", result.created, result.edited)
    click.echo(
        f"Next: edit pipelines/{org}/{name}/flows.py, then run its test with "
        f"`make test` or `python manage.py run pipelines.{org}.{name}.flows.flow`."
    )


@click.command("add-org")
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
    say_recovered(result.recovered)
    click.echo(f"Created org '{name}':")
    report("created", result.created, result.edited)
    click.echo(f"Next: python manage.py add-project my_project --org {name}")


@click.command("remove-project")
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
        confirm_or_abort(f"Delete pipelines/{org}/{name} and its tests?", yes or force)
    result = scaffold(repo, name, org)
    say_recovered(result.recovered)
    click.echo(f"Removed project '{name}' from org '{org}':")
    report("removed", result.created, result.edited)


@click.command("list-projects")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_repo
def list_projects(repo: Repo, as_json: bool) -> None:
    """List every org with its projects, and the reserved names.

    \b
    Example:
      python manage.py list-projects --json
    """
    from pipelines.manage.inventory import flow_modules

    tree = repo.tree()
    reserved = reserved_names()
    if as_json:
        modules = [module.path for module in flow_modules(repo)]
        document = {"orgs": tree, "flow_modules": modules, "reserved": sorted(reserved)}
        click.echo(json.dumps(document, indent=2))
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
