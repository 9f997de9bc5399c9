"""What every manage.py command shares: the repo it works on and how it reports."""

from __future__ import annotations

import click

from pipelines.manage.errors import CliError
from pipelines.settings import REPO_ROOT, load_settings
from pipelines.utils.inventory import Repo

pass_repo = click.make_pass_decorator(Repo)


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


def default_org(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    if value:
        return value
    repo = ctx.find_object(Repo)
    assert repo is not None, "the cli group sets the Repo"
    return load_settings(root=repo.root).default_org  # a SettingsError is reported by the group


org_option = click.option(
    "--org",
    callback=default_org,
    help="Org that owns the project (default: PIPELINES_DEFAULT_ORG, 'emd').",
)


def confirm_or_abort(question: str, yes: bool, nothing: str = "Nothing removed") -> None:
    if not yes and not click.confirm(question, default=False):
        raise CliError(f"{nothing}: not confirmed (pass --yes to skip the question).")


def say_recovered(message: str | None) -> None:
    if message:
        click.echo(f"note: {message}", err=True)


def report(verb: str, created: list[str], edited: list[str]) -> None:
    for path in created:
        click.echo(f"  {verb} {path}")
    for path in edited:
        click.echo(f"  edited  {path}")
