"""Lineage: which flows write which tables, which dbt models read them, across every org.

Nodes are flows (by name), tables a flow writes or reads (`dataset_id.table_id`) and dbt
models (`dataset_id.table_id`, from `queries/models/<dataset_id>/<table_id>.sql`). Edges go
from upstream to downstream: a flow to the tables it writes and the models it materializes,
a table to the flows that read it and the models whose `source()` it is, a model to the
models that `ref()` it.
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipelines.errors import CommandError
from pipelines.utils.naming import raw_table_of

Kind = Literal["flow", "table", "model"]
Direction = Literal["upstream", "downstream", "both"]

_JINJA_ARGS = r"\(\s*((?:'[^']*'|\"[^\"]*\")(?:\s*,\s*(?:'[^']*'|\"[^\"]*\"))*)\s*[,)]"
_SOURCE = re.compile(r"\{\{-?\s*source\s*" + _JINJA_ARGS)
_REF = re.compile(r"\{\{-?\s*ref\s*" + _JINJA_ARGS)
_STRING = re.compile(r"'([^']*)'|\"([^\"]*)\"")


@dataclass(frozen=True)
class Edge:
    """upstream -> downstream, and what joins them (writes, reads, materializes, ...)."""

    upstream: str
    downstream: str
    relation: str


@dataclass
class Lineage:
    """The whole graph: each node's kind and where it is defined, and the edges."""

    kinds: dict[str, Kind] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)  # node -> module or model file
    # model -> the raw tables its source() calls read, its own name included (a model over
    # the raw table of its name is one node, so no edge can say it).
    sources: dict[str, list[str]] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    _edge_set: set[Edge] = field(default_factory=set, repr=False, compare=False)
    _by_node: dict[tuple[str, int], dict[str, list[Edge]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def add(self, name: str, kind: Kind, where: str = "") -> None:
        if self.kinds.get(name) != "model":  # a model's table is the model
            self.kinds[name] = kind
        if where:
            self.where[name] = where

    def link(self, upstream: str, downstream: str, relation: str) -> None:
        if upstream == downstream:  # a model over the raw table of its own name: one node
            return
        edge = Edge(upstream, downstream, relation)
        if edge not in self._edge_set:
            self._edge_set.add(edge)
            self.edges.append(edge)

    def find(self, name: str) -> str:
        """The node called `name` (a source's `_staging` dataset names its raw table).

        Raises:
            CommandError: No node has that name; the nearest names are suggested.
        """
        dataset, _, table = name.partition(".")
        for candidate in (name, raw_table_of(dataset, table) if table else name):
            if candidate in self.kinds:
                return candidate
        near = difflib.get_close_matches(name, sorted(self.kinds), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(near)}?" if near else ""
        raise CommandError(
            f"{name!r} is no table, model or flow in the lineage (tables are "
            f"dataset_id.table_id, flows their full name, e.g. 'emd: template_pipeline').{hint}"
        )

    def _adjacent(self, way: str) -> dict[str, list[Edge]]:
        """Edges by the node they leave from, walking `way` (kept until the next link)."""
        key = (way, len(self.edges))
        if key not in self._by_node:
            index: dict[str, list[Edge]] = {}
            for edge in self.edges:
                near = edge.downstream if way == "upstream" else edge.upstream
                index.setdefault(near, []).append(edge)
            self._by_node[key] = index
        return self._by_node[key]

    def closure(self, start: str, direction: Direction) -> tuple[list[str], list[Edge]]:
        """Nodes reachable from `start` (nearest first) and the edges between them."""
        reached = [start]
        seen = {start}
        kept: dict[Edge, None] = {}
        for way in ["upstream", "downstream"] if direction == "both" else [direction]:
            queue = deque([start])
            visited = {start}
            while queue:
                for edge in self._adjacent(way).get(queue.popleft(), []):
                    kept[edge] = None
                    far = edge.upstream if way == "upstream" else edge.downstream
                    if far not in visited:
                        visited.add(far)
                        queue.append(far)
                        if far not in seen:
                            seen.add(far)
                            reached.append(far)
        return reached, list(kept)

    def touches(self, node: str) -> bool:
        """Whether any edge has this node at one end (flows with no table have none)."""
        return bool(self._adjacent("upstream").get(node) or self._adjacent("downstream").get(node))

    def flows_around(self, flow: str) -> tuple[list[str], list[str]]:
        """The other flows upstream of `flow` (their tables feed it) and downstream of it."""
        up, _ = self.closure(flow, "upstream")
        down, _ = self.closure(flow, "downstream")
        return (
            sorted(n for n in up[1:] if self.kinds[n] == "flow"),
            sorted(n for n in down[1:] if self.kinds[n] == "flow"),
        )

    def order(self, nodes: list[str]) -> list[str]:
        """`nodes` upstream first (Kahn's order, stable; a cycle's nodes keep their order)."""
        chosen = set(nodes)
        waiting = {n: 0 for n in nodes}
        after: dict[str, list[str]] = {n: [] for n in nodes}
        for edge in self.edges:
            if edge.upstream in chosen and edge.downstream in chosen:
                waiting[edge.downstream] += 1
                after[edge.upstream].append(edge.downstream)
        done: list[str] = []
        placed: set[str] = set()
        while len(done) < len(nodes):
            ready = [n for n in nodes if n not in placed and waiting[n] == 0]
            for node in ready or [next(n for n in nodes if n not in placed)]:
                done.append(node)
                placed.add(node)
                for later in after[node]:
                    waiting[later] -= 1
        return done


def _strings(arguments: str) -> list[str]:
    return [a or b for a, b in _STRING.findall(arguments)]


def model_links(queries: Path) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Each dbt model under `queries/models` (name -> file) and its inputs
    (input, model, "source of" | "ref'd by"), read from its `source()` and `ref()` calls."""
    models_folder = queries / "models"
    files = sorted(models_folder.glob("*/*.sql")) if models_folder.is_dir() else []
    models = {f"{p.parent.name}.{p.stem}": p for p in files}
    by_stem: dict[str, list[str]] = {}
    for name, path in models.items():
        by_stem.setdefault(path.stem, []).append(name)
    inputs: list[tuple[str, str, str]] = []
    for name, path in models.items():
        sql = path.read_text(encoding="utf-8")
        for match in _SOURCE.finditer(sql):
            args = _strings(match.group(1))
            if len(args) >= 2:
                inputs.append((raw_table_of(args[0], args[1]), name, "source of"))
        for match in _REF.finditer(sql):
            args = _strings(match.group(1))
            for upstream in by_stem.get(args[-1], []) if args else []:
                inputs.append((upstream, name, "ref'd by"))
    root = queries.parent
    unique = list(dict.fromkeys(inputs))  # a model may name one input many times
    return {n: p.relative_to(root).as_posix() for n, p in models.items()}, unique


def build_lineage(flows: list[tuple[str, Any]], queries: Path) -> Lineage:
    """The lineage of these (module, flow) pairs and the dbt project in `queries`."""
    from pipelines.manage.catalog.facts import tables

    lineage = Lineage()
    models, inputs = model_links(queries)
    for name, path in models.items():
        lineage.add(name, "model", path)
    for module, flow in flows:
        lineage.add(flow.name, "flow", module)
        writes, reads, built = tables(flow)
        for table in writes:
            lineage.add(table.warehouse_table, "table")
            lineage.link(flow.name, table.warehouse_table, "writes")
        for table in reads:
            lineage.add(table.warehouse_table, "table")
            lineage.link(table.warehouse_table, flow.name, "read by")
        for dataset_id, table_id, _ in built:
            if f"{dataset_id}.{table_id}" not in models:
                continue  # no such model file (check says so): nothing to draw
            lineage.link(flow.name, f"{dataset_id}.{table_id}", "materializes")
    for upstream, model, relation in inputs:
        if relation == "source of":
            lineage.sources.setdefault(model, []).append(upstream)
        lineage.add(upstream, "table")
        lineage.link(upstream, model, relation)
    return lineage


def describe(lineage: Lineage, start: str, direction: Direction) -> list[str]:
    """The lines `manage.py lineage` prints: the node, then each edge of its closure."""
    nodes, edges = lineage.closure(start, direction)
    where = lineage.where.get(start)
    lines = [f"{lineage.kinds[start]} {start}" + (f" ({where})" if where else "")]
    word = {"upstream": "Upstream", "downstream": "Downstream", "both": "Up- and downstream"}
    if not edges:
        lines.append(f"{word[direction]}: nothing.")
        return lines
    lines.append(
        f"{word[direction]}: {len(nodes) - 1} node(s), {len(edges)} edge(s), upstream first:"
    )
    rank = {n: i for i, n in enumerate(lineage.order(nodes))}
    for edge in sorted(edges, key=lambda e: (rank[e.upstream], rank[e.downstream])):
        lines.append(
            f"  {lineage.kinds[edge.upstream]} {edge.upstream}  --{edge.relation}-->  "
            f"{lineage.kinds[edge.downstream]} {edge.downstream}"
        )
    return lines


def lineage_dot(lineage: Lineage, start: str | None = None, direction: Direction = "both") -> str:
    """The closure of `start` (or the whole graph) as DOT: flows as boxes, tables as
    cylinders, models as notes; `start` drawn bold."""
    from pipelines.manage.picture import _quote

    if start is None:
        nodes, edges = [n for n in lineage.kinds if lineage.touches(n)], lineage.edges
    else:
        nodes, edges = lineage.closure(start, direction)
    shapes = {"flow": "box", "table": "cylinder", "model": "note"}
    title = "lineage" if start is None else f"lineage of {start}"
    lines = [f"digraph {_quote(title)} {{", "  rankdir=LR;"]
    for node in lineage.order(nodes):
        bold = ", penwidth=2" if node == start else ""
        lines.append(f"  {_quote(node)} [shape={shapes[lineage.kinds[node]]}{bold}];")
    for edge in edges:
        ends = f"{_quote(edge.upstream)} -> {_quote(edge.downstream)}"
        lines.append(f"  {ends} [label={_quote(edge.relation)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
