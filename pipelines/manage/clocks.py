"""Whether each clock of a flow's schedule can start a run: its parameters against the flow's."""

from __future__ import annotations

from typing import Any


def clock_problems(flow: Any) -> list[str]:
    """One line per clock whose parameter_defaults name a parameter the flow does not have,
    or leave out one the flow requires: the server would start runs that fail at once.
    Each names the clock (its place in the schedule and when it fires) and the parameter."""
    from pipelines.manage.catalog.when import clock_words

    clocks = getattr(flow.schedule, "clocks", None) or []
    parameters = {p.name: p for p in flow.parameters()}
    problems = []
    for number, clock in enumerate(clocks, start=1):
        given = dict(getattr(clock, "parameter_defaults", None) or {})
        which = f"clock {number} ({clock_words(clock)})"
        for name in sorted(set(given) - set(parameters)):
            known = ", ".join(sorted(parameters)) or "none"
            problems.append(
                f"{which} sets parameter {name!r}, which the flow does not have (its "
                f"parameters: {known}): rename or remove it in the clock's parameter_defaults."
            )
        for name in sorted(n for n, p in parameters.items() if p.required and n not in given):
            problems.append(
                f"{which} does not set parameter {name!r}, which the flow requires: add it to "
                "the clock's parameter_defaults (or give the parameter a default)."
            )
    return problems
