"""The manage.py command group; each command lives in pipelines/manage/commands/<topic>.py."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click

from pipelines.errors import PipelinesError
from pipelines.manage.commands import checking, deploy, health, models, projects, running, seeing
from pipelines.manage.errors import CliError
from pipelines.settings import REPO_ROOT, working_root
from pipelines.utils.inventory import Repo
from pipelines.utils.redaction import redacted_output


class ManageGroup(click.Group):
    """The command group: keeps its arguments (for --repo-root), and is the one edge where
    expected failures (PipelinesError: settings, parameters, refused queries; OSError on a
    file) become an error message; only real bugs end in a traceback."""

    def main(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        # Every line printed, whoever prints it (a state message, a driver's error, a
        # traceback), goes through the same masking as log records.
        with redacted_output():
            return super().main(*args, **kwargs)  # type: ignore[arg-type,call-overload]

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["pipelines.argv"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PipelinesError as error:  # expected: its message says what to do
            raise CliError(str(error)) from error
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, as other command-line tools do,
            # with the status a process ended by SIGPIPE has.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # the final flush must not fail again
            raise SystemExit(128 + signal.SIGPIPE) from None
        except OSError as error:
            where = f" ({error.filename})" if error.filename else ""
            raise CliError(
                f"{error.strerror or error}{where}. Check that the path exists and that you "
                "may read and write it; nothing else was changed."
            ) from error


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
    root = repo_root.resolve()
    if not (root / "pipelines" / "__init__.py").is_file():
        raise CliError(
            f"--repo-root {repo_root} is not a checkout of this repository (it has no "
            "pipelines/__init__.py): give the folder that holds manage.py."
        )
    ctx.obj = Repo(root)
    # Every command reads the settings, .env and data folder of the repo it works on.
    ctx.with_resource(working_root(root))


for command in (
    projects.add_project,
    projects.add_org,
    projects.remove_project,
    projects.remove_org,
    projects.list_projects,
    running.run,
    running.query,
    models.materialize,
    seeing.graph,
    seeing.catalog,
    seeing.lineage,
    health.status,
    checking.check,
    checking.settings,
    deploy.dev_flows,
    deploy.image_tag_command,
    deploy.register,
    deploy.pr_comment,
):
    cli.add_command(command)


def main() -> None:
    """Entry point used by manage.py."""
    # `kill` (SIGTERM) unwinds like Ctrl-C does: a change rolls back, temporary files go.
    signal.signal(signal.SIGTERM, _terminated)
    cli(prog_name="manage.py")


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
