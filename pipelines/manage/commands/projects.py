"""Commands that change or list the tree: add-project, add-org, remove-project, remove-org,
list-projects."""

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
from pipelines.manage.errors import CliError
from pipelines.manage.names import reserved_names
from pipelines.utils.inventory import Repo, project_module


@click.command("add-project")
@click.argument("name")
@org_option
@click.option(
    "--with-model",
    is_flag=True,
    help="Also create the dbt model queries/models/NAME/NAME.sql (over NAME_staging.NAME).",
)
@click.option(
    "--owner",
    "owners",
    multiple=True,
    metavar="HANDLE",
    help="GitHub handle mentioned when a run fails or its data goes stale (repeatable).",
)
@pass_repo
def add_project(repo: Repo, name: str, org: str, with_model: bool, owners: tuple[str, ...]) -> None:
    """Create pipelines/<org>/NAME from the project template, with its test.

    NAME may sit in a group folder, one level deep: GROUP/NAME (pipelines/<org>/GROUP/NAME;
    the group's folder is made with its first project and goes with its last).

    \b
    Example:
      python manage.py add-project bike_counts --org emd --owner ana-souza --with-model
      python manage.py add-project meteorologia/meteorologia_inmet --org rj_cor
    """
    from pipelines.manage.scaffold import add_project as scaffold

    result = scaffold(repo, name, org, with_model, owners)
    say_recovered(result.recovered)
    click.echo(f"Created project '{name}' in org '{org}':")
    report("created", result.created, result.edited)
    if not owners:
        click.echo(
            "No owner: an alert that it failed or that its data is stale will mention no one. "
            f"Add GitHub handles to CODE_OWNERS in pipelines/{org}/{name}/constants.py."
        )
    click.echo(
        f"Next: edit pipelines/{org}/{name}/flows.py, then run its test with "
        f"`make test` or `python manage.py run {project_module(org, name)}.flows.flow`."
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
@click.option("--yes", is_flag=True, help="Do not ask; refuse if files of yours would be lost.")
@click.option("--force", is_flag=True, help="Delete even files the scaffold did not write.")
@pass_repo
def remove_project(repo: Repo, name: str, org: str, yes: bool, force: bool) -> None:
    """Undo add-project: delete the project, its tests, its model folder and its import line.

    Only files byte for byte as add-project wrote them go without asking. Any other file
    there (tracked, untracked or git-ignored: a report, a .env, another model) is listed and
    asked about; with --yes the removal is refused naming them; --force deletes them too. A
    project other modules import is refused naming them (--force removes it anyway).

    \b
    Example:
      python manage.py remove-project bike_counts --org emd --yes
    """
    from pipelines.manage.scaffold import (
        importers,
        model_dir,
        require_org,
        split_project,
        unsaved_work,
    )
    from pipelines.manage.scaffold import remove_project as scaffold

    require_org(repo, org)
    exists = name in repo.projects(org)
    module = project_module(org, name)
    users = importers(repo, module) if exists else []
    if users:
        listed = ", ".join(users)
        if not force:
            raise CliError(
                f"Nothing removed: {listed} import(s) {module}, and would fail "
                "to import without it (and `check` with them). Remove those imports first, "
                "or pass --force to remove it anyway."
            )
        click.echo(f"Warning: {listed} will fail to import: they import {module}.")
    work = unsaved_work(repo, name, org) if exists else []
    what = f"pipelines/{org}/{name} and its tests"
    leaf = split_project(name)[1]
    if model_dir(repo, leaf).exists():
        what = f"pipelines/{org}/{name}, its tests and queries/models/{leaf}"
    _confirm_removal(name, what, work, yes, force, "add-project")
    result = scaffold(repo, name, org)
    say_recovered(result.recovered)
    click.echo(f"Removed project '{name}' from org '{org}':")
    report("removed", result.created, result.edited)


@click.command("remove-org")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask; refuse if files of yours would be lost.")
@click.option("--force", is_flag=True, help="Delete even files the scaffold did not write.")
@pass_repo
def remove_org(repo: Repo, name: str, yes: bool, force: bool) -> None:
    """Undo add-org: delete an org that has no projects left, and its import line.

    Remove its projects first with remove-project. Files that are not as add-org wrote them
    are listed and asked about (refused with --yes) as remove-project does.

    \b
    Example:
      python manage.py remove-org sme --yes
    """
    from pipelines.manage.scaffold import remove_org as scaffold
    from pipelines.manage.scaffold import unsaved_org_work

    work = unsaved_org_work(repo, name) if name in repo.orgs() and not repo.projects(name) else []
    _confirm_removal(name, f"pipelines/{name}", work, yes, force, "add-org")
    result = scaffold(repo, name)
    say_recovered(result.recovered)
    click.echo(f"Removed org '{name}':")
    report("removed", result.created, result.edited)


def _confirm_removal(
    name: str, what: str, work: list[str], yes: bool, force: bool, made_by: str
) -> None:
    """Ask before deleting. Files the scaffold did not write are the user's: listed and asked
    about, or with --yes refused naming them; only --force deletes them unasked."""
    if work and not force:
        click.echo(f"These files of {name} are not as {made_by} wrote them and would be lost:")
        for path in work:
            click.echo(f"  {path}")
        if yes or not click.confirm("Delete them anyway?", default=False):
            raise CliError(
                f"Nothing removed: {name} holds files of yours (listed above). Move them "
                "away first, or pass --force to delete them too."
            )
    else:
        confirm_or_abort(f"Delete {what}?", yes or force)


@click.command("list-projects")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_repo
def list_projects(repo: Repo, as_json: bool) -> None:
    """List every org with its projects, and the reserved names.

    \b
    Example:
      python manage.py list-projects --json
    """
    from pipelines.utils.inventory import flow_modules

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
