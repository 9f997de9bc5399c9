"""manage.py graph: every task and edge of a flow in the picture, offline."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pipelines.manage.cli import cli
from tests.conftest import REPO_ROOT

TEMPLATE = "pipelines.emd.template_pipeline.flows.flow"


def graph(*args: str):
    return CliRunner().invoke(cli, ["--repo-root", str(REPO_ROOT), "graph", *args])


def test_the_svg_has_every_task_and_edge(tmp_path: Path):
    from pipelines.emd.template_pipeline.flows import flow

    target = tmp_path / "t.svg"
    result = graph(TEMPLATE, "-o", str(target))

    assert result.exit_code == 0, result.output
    assert result.output == f"Wrote {target} ({len(flow.tasks)} tasks, {len(flow.edges)} edges).\n"
    svg = target.read_text()
    assert all(f">{task.name}<" in svg for task in flow.tasks)
    # The flow's edges, plus one from materialize to the dbt model it builds.
    assert svg.count('class="edge"') == len(flow.edges) + 1
    assert "queries/models/template_pipeline/rain_per_station_day.sql" in svg
    assert all(f">{edge.key}<" in svg for edge in flow.edges if edge.key)


def test_png_and_dot_outputs_and_a_wrong_extension(tmp_path: Path):
    assert graph(TEMPLATE, "-o", str(tmp_path / "t.png")).exit_code == 0
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert graph(TEMPLATE, "-o", str(tmp_path / "t.dot")).exit_code == 0
    assert (tmp_path / "t.dot").read_text().startswith('digraph "emd: template_pipeline" {')
    wrong = graph(TEMPLATE, "-o", str(tmp_path / "t.jpg"))
    assert wrong.exit_code == 1
    assert wrong.output == (
        f"Error: -o {tmp_path / 't.jpg'}: the picture is .svg, .png or .dot, not '.jpg'.\n"
    )


def test_a_file_of_the_users_is_never_overwritten_and_a_picture_is_redrawn(tmp_path: Path):
    for name, content in [("notes.svg", b"my notes"), ("plan.dot", b"# my plan"), ("a.png", b"x")]:
        theirs = tmp_path / name
        theirs.write_bytes(content)
        result = graph(TEMPLATE, "-o", str(theirs))
        assert result.exit_code == 1
        assert result.output == (
            f"Error: -o {theirs} exists and is not a {theirs.suffix[1:]} picture this command "
            "drew: refusing to overwrite it. Give another file name.\n"
        )
        assert theirs.read_bytes() == content
    folder = tmp_path / "pictures.svg"
    folder.mkdir()
    refused = graph(TEMPLATE, "-o", str(folder))
    assert refused.exit_code == 2 and "is a directory" in refused.output
    for name in ("again.svg", "again.png", "again.dot"):
        assert graph(TEMPLATE, "-o", str(tmp_path / name)).exit_code == 0
        assert graph(TEMPLATE, "-o", str(tmp_path / name)).exit_code == 0  # its own: redrawn
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["notes.svg", "plan.dot", "a.png", "pictures.svg", "again.svg", "again.png", "again.dot"]
    )  # no partial file left
