"""A flow's task graph as Graphviz DOT, rendered to SVG or PNG by the graphviz-pure binary."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipelines.errors import CommandError
from pipelines.utils.redaction import MASK, is_credential

FORMATS = ("svg", "png", "dot")


def _quote(text: str) -> str:
    """A DOT string: quotes and backslashes escaped, line breaks as DOT's \\n."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def flow_dot(flow: Any, title: bool = True) -> str:
    """The flow as DOT: parameters (with defaults), tasks, edges named by argument, mapped
    edges dashed, ordering-only edges dotted, and the dbt model a materialize task builds.

    Without the title, flows built alike (one factory, many projects) give the same text,
    so the catalog draws their picture once."""
    from prefect import Parameter

    ids = {
        task: f"t{i}" for i, task in enumerate(sorted(flow.tasks, key=lambda t: t.slug or t.name))
    }
    lines = [
        f"digraph {_quote(flow.name if title else 'flow')} {{",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    if title:
        lines.append(f"  label={_quote(flow.name)}; labelloc=t;")
    for task, node in ids.items():
        if isinstance(task, Parameter):
            shown = MASK if is_credential(task.name, task.default) else task.default
            default = "" if task.required else ("\n= " + repr(shown))[:60]
            label = _quote(f"{task.name}{default}")
            lines.append(
                f'  {node} [label={label}, shape=ellipse, style=filled, fillcolor="#eef"];'
            )
        else:
            lines.append(f"  {node} [label={_quote(task.name)}, shape=box, style=rounded];")
        constants = flow.constants.get(task, {})
        if task.name == "materialize" and {"dataset_id", "table_id"} <= set(constants):
            model = f"queries/models/{constants['dataset_id']}/{constants['table_id']}.sql"
            label = _quote("dbt model\n" + model)
            lines.append(f"  {node}_model [label={label}, shape=note];")
            lines.append(f"  {node} -> {node}_model [style=bold];")
    for edge in sorted(flow.edges, key=lambda e: (ids[e.upstream_task], ids[e.downstream_task])):
        attributes = []
        if edge.key:
            attributes.append(f"label={_quote(edge.key + (' [mapped]' if edge.mapped else ''))}")
        else:
            attributes.append("style=dotted")
        if edge.mapped:
            attributes.append("style=dashed")
        up, down = ids[edge.upstream_task], ids[edge.downstream_task]
        lines.append(f"  {up} -> {down} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def renderer() -> str:
    """The graphviz-pure binary (installed beside this interpreter by make install).

    Raises:
        CommandError: It is not installed.
    """
    found = Path(sys.executable).parent / "graphviz-pure"
    if found.exists():
        return str(found)
    on_path = shutil.which("graphviz-pure")
    if on_path:
        return on_path
    raise CommandError(
        "graph needs graphviz-pure (Graphviz's layout in a wheel): "
        "pip install -r requirements-cli.txt (make install does)."
    )


def render_svgs(dots: list[str]) -> list[str]:
    """Many graphs to SVG documents in one run of the renderer (one process per graph would
    cost more than the layouts).

    Raises:
        CommandError: The renderer failed or returned another number of pictures.
    """
    if not dots:
        return []
    done = subprocess.run(
        [renderer(), "-Tsvg"], input="".join(dots).encode(), capture_output=True, timeout=600
    )
    if done.returncode != 0:
        raise CommandError(f"graphviz-pure failed: {done.stderr.decode(errors='replace').strip()}")
    marker = "<?xml"
    svgs = [marker + part for part in done.stdout.decode().split(marker)[1:]]
    if len(svgs) != len(dots):
        raise CommandError(f"graphviz-pure drew {len(svgs)} picture(s) for {len(dots)} graph(s).")
    return svgs


def check_picture_output(output: Path) -> None:
    """Refuse an -o the picture cannot go to, before anything is computed.

    Raises:
        CommandError: Another extension, a folder, or a file this command did not draw.
    """
    kind = output.suffix.lstrip(".").lower()
    if kind not in FORMATS:
        raise CommandError(
            f"-o {output}: the picture is .svg, .png or .dot, not {output.suffix!r}."
        )
    if output.is_dir():
        raise CommandError(f"-o {output} is a folder: give the picture's file name, e.g. flow.svg.")
    if output.is_file() and not _is_picture(output, kind):
        raise CommandError(
            f"-o {output} exists and is not a {kind} picture this command drew: refusing to "
            "overwrite it. Give another file name."
        )


def render(dot: str, output: Path) -> Path:
    """Write the picture: .svg or .png through graphviz-pure, .dot as is.

    Raises:
        CommandError: An output check_picture_output refuses, or the renderer failed.
    """
    check_picture_output(output)
    kind = output.suffix.lstrip(".").lower()
    output.parent.mkdir(parents=True, exist_ok=True)
    # Drawn beside it, then renamed: a failure never leaves half a picture or an old one cut.
    partial = output.with_name(f".{output.name}.partial")
    try:
        if kind == "dot":
            partial.write_text(dot, encoding="utf-8")
        else:
            done = subprocess.run(
                [renderer(), f"-T{kind}", "-o", str(partial)],
                input=dot.encode(), capture_output=True, timeout=120,
            )  # fmt: skip
            if done.returncode != 0:
                error = done.stderr.decode(errors="replace").strip()
                raise CommandError(f"graphviz-pure failed: {error}")
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return output


def _is_picture(path: Path, kind: str) -> bool:
    """Whether an existing file is a picture of this kind (one `graph` may redraw)."""
    with path.open("rb") as file:
        head = file.read(512)
    if kind == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "svg":
        return b"<svg" in head or head.lstrip().startswith(b"<?xml")
    return head.lstrip().startswith((b"digraph", b"strict digraph", b"graph"))
