"""Find values computed from the clock (or random ids) while a module is imported.

A flow's module runs once, when the flow is built or registered: a Parameter default or a
task argument computed there from datetime.now() keeps that value in every later run.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

# Calls whose value depends on when (or where) they run: <anything>.<name>() for these names.
_CLOCK = {"now", "today", "utcnow", "yesterday", "tomorrow", "time", "time_ns", "uuid1", "uuid4"}
# ...called on one of these (datetime.now(), dt.date.today(), pendulum.now(), time.time()).
_OWNERS = {"datetime", "date", "dt", "pendulum", "time", "uuid", "Timestamp", "pd", "arrow"}
# A file none of whose bytes look like such a call is not parsed at all.
_MAYBE = re.compile(rb"\b(?:" + b"|".join(n.encode() for n in sorted(_CLOCK)) + rb")\s*\(")


@dataclass(frozen=True)
class Frozen:
    """A call that runs at import time."""

    path: Path
    line: int
    call: str  # e.g. "datetime.now()"
    parameter: str | None  # the Parameter whose default it is, if any


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _is_clock(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in _CLOCK:
        return _dotted(func.value).split(".")[-1] in _OWNERS
    return isinstance(func, ast.Name) and func.id in {"uuid4", "uuid1"}


class _ImportTime(ast.NodeVisitor):
    """Visits what runs when the module is imported: not function or lambda bodies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.found: list[Frozen] = []
        self._parameter: list[str | None] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:  # decorators run at import
            self.visit(decorator)
        for default in node.args.defaults + node.args.kw_defaults:
            if default is not None:  # so do argument defaults
                self.visit(default)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Lambda(self, node: ast.Lambda) -> None:
        return None

    def visit_Call(self, node: ast.Call) -> None:
        if _is_clock(node):
            parameter = self._parameter[-1] if self._parameter else None
            call = f"{_dotted(node.func)}()"
            self.found.append(Frozen(self.path, node.lineno, call, parameter))
            return
        name = None
        if _dotted(node.func).split(".")[-1] == "Parameter" and node.args:
            first = node.args[0]
            name = (
                first.value
                if isinstance(first, ast.Constant) and isinstance(first.value, str)
                else None
            )
        self._parameter.append(name if name is not None else (self._parameter or [None])[-1])
        self.generic_visit(node)
        self._parameter.pop()


def frozen_calls(path: Path) -> list[Frozen]:
    """Clock and random-id calls that run when the file is imported."""
    source = path.read_bytes()
    if not _MAYBE.search(source):
        return []
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError:
        return []  # check reports the import failure itself
    visitor = _ImportTime(path)
    visitor.visit(tree)
    return visitor.found
