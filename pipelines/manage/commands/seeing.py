"""Seeing the repo: a flow's task graph, the catalog, and lineage across flows and models."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from pipelines.manage.commands.base import in_own_checkout, pass_repo
from pipelines.manage.errors import CliError
from pipelines.utils.inventory import Repo

if TYPE_CHECKING:
    from pipelines.manage.lineage import Direction


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
    from pipelines.manage.picture import check_picture_output, flow_dot, render

    if output:
        check_picture_output(output)  # before the flow is imported
    flow = load_flow(flow_path)
    target = output or repo.root / "build" / "graphs" / f"{slugify(flow.name)}.svg"
    written = render(flow_dot(flow), target)
    click.echo(f"Wrote {written} ({len(flow.tasks)} tasks, {len(flow.edges)} edges).")


@click.command("catalog")
@click.option(
    "-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder to write (default build/catalog); replaced whole once the site is written.",
)  # fmt: skip
@click.option(
    "--health", "health_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="A `status --json` document (or the watchdog's _health/status.json): adds a health "
    "page and a badge on each flow's page.",
)  # fmt: skip
@click.option(
    "--docs", "docs", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="A built docs site (`make docs`, build/docs): copied under docs/ and linked from "
    "every page.",
)  # fmt: skip
@pass_repo
def catalog(repo: Repo, output: Path | None, health_file: Path | None, docs: Path | None) -> None:
    """Write a static site of every org, project and flow: owners, schedules in words and
    their next runs, parameters, the task graph, tables written, dbt models, source files,
    a 24-hour view of every scheduled run, and the problems `check` finds. Open its
    index.html from the file system: no server needed.

    \b
    Example:
      python manage.py catalog && xdg-open build/catalog/index.html
      make docs && python manage.py catalog --docs build/docs
      python manage.py status --json > health.json && python manage.py catalog --health health.json
    """
    import time

    from pipelines.manage.catalog import build_catalog
    from pipelines.manage.catalog.site import read_health

    in_own_checkout(repo)
    started = time.perf_counter()
    health = read_health(health_file) if health_file else None  # before anything is built
    built = build_catalog(repo, output or repo.root / "build" / "catalog", health=health, docs=docs)
    click.echo(
        f"Wrote {built.output / 'index.html'}: {built.flows} flow(s), {built.pictures} "
        f"picture(s), {built.runs} run(s) in the next 24 hours, {built.problems} problem(s) "
        f"from check ({time.perf_counter() - started:.1f} s)."
    )
    click.echo(f"Open {(built.output / 'index.html').as_uri()} in a browser.")


@click.command("lineage")
@click.argument("name", metavar="TABLE")
@click.option("--upstream", "direction", flag_value="upstream", help="Only what feeds it.")
@click.option("--downstream", "direction", flag_value="downstream", help="Only what it feeds.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also draw it: .svg, .png or .dot.",
)  # fmt: skip
@pass_repo
def lineage(repo: Repo, name: str, direction: str | None, output: Path | None) -> None:
    """Show what feeds a table (or model, or flow) and what it feeds, across every org: the
    flows that write it, the dbt models that read it (their source() and ref() in queries/)
    and the flows that materialize them. Both directions unless one is given.

    \b
    Example:
      python manage.py lineage template_pipeline.rain_per_station_day --upstream
      python manage.py lineage template_pipeline.rain_per_hour -o /tmp/lineage.svg
    """
    from pipelines.manage.inventory import load_repo_flows
    from pipelines.manage.lineage import build_lineage, describe, lineage_dot
    from pipelines.manage.picture import check_picture_output, render

    if output:
        check_picture_output(output)  # before the flows are imported
    loaded = load_repo_flows(repo)
    graph = build_lineage(loaded.flows, repo.root / "queries")
    start = graph.find(name)
    way = cast("Direction", direction or "both")
    for line in describe(graph, start, way):
        click.echo(line)
    if output:
        click.echo(f"Wrote {render(lineage_dot(graph, start, way), output)}.")
    if loaded.failed:
        raise CliError(
            f"{len(loaded.failed)} flows module(s) failed to import, so their tables are "
            f"missing above: {', '.join(sorted(loaded.failed))}. `python manage.py check` "
            "shows why."
        )
