"""`manage.py run --all` / `--select`: run flows locally in lineage order, then the models
no flow built, skipping what cannot run here and stopping at the first failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pipelines.manage.errors import CliError
from pipelines.manage.lineage import Lineage
from pipelines.settings import Settings

Outcome = Literal["ran", "skipped", "failed", "not run"]


@dataclass
class Step:
    """One flow (or model) of the plan and what became of it."""

    name: str
    kind: Literal["flow", "model"]
    outcome: Outcome = "not run"
    reason: str = ""
    seconds: float = 0.0


def _selected_nodes(lineage: Lineage, selector: str) -> list[str]:
    up, down = selector.startswith("+"), selector.endswith("+")
    node = lineage.find(selector.strip("+"))
    if not (up or down):
        return [node]
    return lineage.closure(node, "both" if up and down else "upstream" if up else "downstream")[0]


def select(lineage: Lineage, selectors: Sequence[str]) -> set[str]:
    """Flow names the selectors choose: `TABLE` its writers, `TABLE+` and what it feeds,
    `+TABLE` and what feeds it, `+TABLE+` both (dbt's graph operators). A table or model
    chosen brings the flows that write or materialize it.

    Raises:
        CliError: A selector names nothing in the lineage.
    """
    nodes = {n for selector in selectors for n in _selected_nodes(lineage, selector)}
    writers = {e.upstream for e in lineage.edges if e.downstream in nodes}
    return {n for n in nodes | writers if lineage.kinds[n] == "flow"}


def skip_reason(flow: Any, settings: Settings) -> str:
    """Why this flow cannot run here with its defaults ("" when it can)."""
    required = sorted(p.name for p in flow.parameters() if p.required)
    if required:
        return f"no default for {', '.join(required)} (run it alone with --param)"
    unset = settings.unset(getattr(flow, "needs", ()))
    if unset:
        return "needs " + "; ".join(f"{n} ({settings.purpose(n).rstrip('.')})" for n in unset)
    return ""


def plan(
    lineage: Lineage, flows: list[tuple[str, Any]], selectors: Sequence[str] | None
) -> tuple[list[tuple[str, Any]], list[str]]:
    """The flows to run, upstream first, and the models none of them builds (all models
    for --all; those in the selection's closure otherwise)."""
    by_name = {flow.name: (module, flow) for module, flow in flows}
    names = set(by_name) if not selectors else select(lineage, selectors)
    ordered = [n for n in lineage.order(list(lineage.kinds)) if n in names and n in by_name]
    ordered += sorted(names - set(ordered))  # flows with no table keep a place, last
    built = {e.downstream for e in lineage.edges if e.relation == "materializes"}
    if selectors:
        around = {n for s in selectors for n in _selected_nodes(lineage, s)}
    else:
        around = set(lineage.kinds)
    models = [
        n
        for n in lineage.order(list(lineage.kinds))
        if lineage.kinds[n] == "model" and n in around and n not in built and n in lineage.where
    ]
    return [by_name[n] for n in ordered], models


def run_all(
    flows: list[tuple[str, Any]],
    models: list[str],
    settings: Settings,
    echo: Callable[[str], None],
    run_model: Callable[[str], None],
) -> list[Step]:
    """Run each flow with its defaults (then each model), stopping at the first failure.

    Raises:
        CliError: A flow or model failed; the summary names what ran, failed and was skipped.
    """
    from pipelines.utils.execution import failed_tasks, run_local

    steps = [Step(flow.name, "flow") for _, flow in flows] + [Step(m, "model") for m in models]
    echo("Order: " + ", ".join(f"{i}. {s.name}" for i, s in enumerate(steps, start=1)))
    failed = False
    items: list[Any] = [flow for _, flow in flows] + list(models)
    for number, (step, item) in enumerate(zip(steps, items, strict=True), start=1):
        if failed:
            break
        prefix = f"[{number}/{len(steps)}] {step.kind} {step.name}"
        started = time.perf_counter()
        if step.kind == "flow":
            flow = item
            step.reason = skip_reason(flow, settings)
            if step.reason:
                step.outcome = "skipped"
                echo(f"{prefix}: skipped: {step.reason}")
                continue
            state = run_local(flow, settings=settings)
            if not state.is_successful():
                tasks = "; ".join(f"{n}: {m}" for n, m in failed_tasks(state))
                step.reason = f"{state.message} {tasks}".strip()
                failed = True
        else:
            try:
                run_model(step.name)
            except Exception as error:  # any failure stops the plan; the summary names it
                step.reason = f"{type(error).__name__}: {error}"
                failed = True
        step.seconds = time.perf_counter() - started
        step.outcome = "failed" if failed else "ran"
        echo(
            f"{prefix}: {step.outcome}"
            + (f": {step.reason}" if failed else f" ({step.seconds:.1f} s)")
        )
    counts = {
        o: sum(s.outcome == o for s in steps) for o in ("ran", "skipped", "failed", "not run")
    }
    summary = ", ".join(f"{o} {n}" for o, n in counts.items() if n or o != "not run")
    if failed:
        raise CliError(f"Stopped at the first failure: {summary}.")
    echo(f"Done: {summary}.")
    return steps
