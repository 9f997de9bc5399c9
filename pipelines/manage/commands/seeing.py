"""The graph command: a picture of a flow's tasks."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.manage.commands.base import pass_repo
from pipelines.manage.discover import Repo


@click.command("graph")
@click.argument("flow_path", metavar="DOTTED.flow")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Picture to write: .svg (default build/graphs/<flow>.svg), .png or .dot.",
)  # fmt: skip
@pass_repo
def graph(repo: Repo, flow_path: str, output: Path | None) -> None:
    """Draw a flow's task graph: parameters with defaults, tasks, edges named by argument,
    mapped edges dashed, and the dbt model a materialize task builds.

    \b
    Example:
      python manage.py graph pipelines.emd.template_pipeline.flows.flow -o /tmp/t.svg
    """
    from slugify import slugify

    from pipelines.manage.inventory import load_flow
    from pipelines.manage.picture import flow_dot, render

    flow = load_flow(flow_path)
    target = output or repo.root / "build" / "graphs" / f"{slugify(flow.name)}.svg"
    written = render(flow_dot(flow), target)
    click.echo(f"Wrote {written} ({len(flow.tasks)} tasks, {len(flow.edges)} edges).")
