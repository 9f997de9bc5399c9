"""The import layers ARCHITECTURE.md declares hold: every import of the runtime code, at module
level or inside a function, goes to its own unit or down to a lower layer, never up or sideways.
An import under `if TYPE_CHECKING:` never runs and is not counted."""

from __future__ import annotations

import re

from pipelines.utils.deploy.graph import ModuleGraph
from tests.conftest import REPO_ROOT


def declared_layers() -> list[list[str]]:
    """The units of each layer, bottom first, from ARCHITECTURE.md's ```layers block."""
    text = (REPO_ROOT / "ARCHITECTURE.md").read_text()
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, "ARCHITECTURE.md has no ```layers block"
    layers = []
    for line in block.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            layers.append([f"pipelines.{unit}" for unit in line.split()])
    return layers


def placed(module: str, units: dict[str, int]) -> tuple[str, int] | None:
    """The unit a module belongs to (the longest declared prefix) and its layer."""
    found = [u for u in units if module == u or module.startswith(u + ".")]
    if not found:
        return None
    unit = max(found, key=len)
    return unit, units[unit]


def crossings(graph: ModuleGraph, layers: list[list[str]]) -> list[str]:
    """Every import of a runtime module that goes up or sideways across a layer boundary."""
    units = {unit: depth for depth, line in enumerate(layers) for unit in line}
    found = []
    for module in sorted(graph.files):
        here = placed(module, units)
        if here is None:
            continue
        for target in sorted(graph.imports.get(module, set())):
            there = placed(target, units)
            if there is None or there[0] == here[0]:
                continue
            if there[1] >= here[1]:
                way = "up" if there[1] > here[1] else "sideways"
                found.append(f"{module} -> {target} ({way})")
    return found


def test_every_runtime_module_has_a_layer():
    units = {u: d for d, line in enumerate(declared_layers()) for u in line}
    graph = ModuleGraph.build(REPO_ROOT, cache=False)
    core = {f"pipelines.{name}" for name in ("constants", "errors", "settings")}
    runtime = [m for m in graph.files if m.startswith("pipelines.utils.") or m in core]
    assert [m for m in runtime if placed(m, units) is None] == []


def test_imports_only_go_down_the_layers():
    graph = ModuleGraph.build(REPO_ROOT, cache=False)
    assert crossings(graph, declared_layers()) == []
