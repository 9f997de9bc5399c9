"""Check run parameters against a flow's Parameters before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prefect import Flow

from pipelines.errors import FlowParameterError

__all__ = ["FlowParameterError", "check_parameters", "describe_parameters"]


def describe_parameters(flow: Flow) -> str:
    """One line per Parameter: name, required or its default."""
    lines = []
    for parameter in sorted(flow.parameters(), key=lambda p: p.name):
        if parameter.required:
            lines.append(f"  {parameter.name} (required)")
        else:
            lines.append(f"  {parameter.name} (default: {parameter.default!r})")
    return "\n".join(lines) or "  (this flow takes no parameters)"


def check_parameters(flow: Flow, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate parameter names: no unknown ones, every required one present.

    Args:
        flow: The flow to run.
        parameters: Names and values to pass.

    Returns:
        A copy of the parameters.

    Raises:
        FlowParameterError: Unknown or missing names, with the flow's parameters listed.
    """
    given = dict(parameters or {})
    known = {p.name for p in flow.parameters()}
    required = {p.name for p in flow.parameters() if p.required}
    problems = []
    unknown = sorted(set(given) - known)
    if unknown:
        problems.append(f"unknown parameter(s): {', '.join(unknown)}")
    missing = sorted(required - set(given))
    if missing:
        problems.append(f"missing required parameter(s): {', '.join(missing)}")
    if problems:
        raise FlowParameterError(
            f"Flow '{flow.name}': {'; '.join(problems)}.\n"
            f"Its parameters are:\n{describe_parameters(flow)}"
        )
    return given
