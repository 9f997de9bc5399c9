"""`manage.py run --all` / `--select`: run flows locally in lineage order, then the models
no flow built, skipping what cannot run here and stopping at the first failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pipelines.errors import CommandError
from pipelines.manage.lineage import Lineage
from pipelines.settings import Settings

Outcome = Literal["ran", "skipped", "failed", "not run"]


@dataclass
class Step:
    """One run of a flow (or one model) of the plan and what became of it."""

    name: str
    kind: Literal["flow", "model"]
    outcome: Outcome = "not run"
    reason: str = ""
    seconds: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)  # a clock's, over the defaults
    clock: str = ""  # "clock 2" when the flow runs once per clock

    @property
    def label(self) -> str:
        return f"{self.name} ({self.clock})" if self.clock else self.name


def runs_of(flow: Any, touching: set[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The runs `run --all` makes of a flow, as its schedule would: (clock, parameters) for
    each clock whose parameters (over the defaults) are complete and not an earlier clock's;
    with none, the flow's own defaults ("", {}). Parameters nobody gives leave a set out.

    With `touching` (the tables and models a --select chose), only the clocks that write or
    build one of them, if any does: `+one_table` runs one clock of a dump of fifty."""
    from pipelines.utils.inventory.tables import UNSET, parameter_sets, table_uses

    seen: list[dict[str, Any]] = []
    runs: list[tuple[str, dict[str, Any]]] = []
    chosen: list[tuple[str, dict[str, Any]]] = []
    for found in parameter_sets(flow)[1:]:  # [0] is a run by hand
        if any(v is UNSET for v in found.values.values()) or found.values in seen:
            continue
        seen.append(found.values)
        runs.append((found.label, found.values))
        if touching and {u.name for u in table_uses(flow, [found])} & touching:
            chosen.append(runs[-1])
    return chosen or runs or [("", {})]


def missing_setting(state: Any) -> str:
    """The message of a setting the run found unset (its first task to fail on one), or "".

    Tasks raise MissingSettingError (or a subclass) naming the setting; a run that failed
    only because one is unset (the other failures its downstream tasks not triggered) is
    skipped by `run --all`, not failed."""
    from prefect.engine.state import TriggerFailed

    task_states = state.result if isinstance(state.result, dict) else {}
    found = ""
    for task_state in task_states.values():
        if not task_state.is_failed() or isinstance(task_state, TriggerFailed):
            continue
        error = task_state.result
        if not (isinstance(error, BaseException) and getattr(error, "setting", None)):
            return ""  # a failure of its own: the run failed
        found = found or str(error)
    return found


def selected_nodes(lineage: Lineage, selectors: Sequence[str]) -> set[str]:
    """Every table, model and flow the selectors name, with their closures."""
    return {n for selector in selectors for n in _selected_nodes(lineage, selector)}


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
        CommandError: A selector names nothing in the lineage.
    """
    nodes = selected_nodes(lineage, selectors)
    writers = {e.upstream for e in lineage.edges if e.downstream in nodes}
    return {n for n in nodes | writers if lineage.kinds[n] == "flow"}


def skip_reason(flow: Any, settings: Settings, clock_given: bool = False) -> str:
    """Why this flow cannot run here with its defaults, or with a clock's parameters when
    `clock_given` ("" when it can)."""
    from pipelines.manage.clocks import clock_problems, default_refusals

    broken = clock_problems(flow)
    if broken:  # its clocks' parameters are the ones a run here would take
        return f"{broken[0].rstrip('.')}; `python manage.py check` lists every such clock"
    required = [] if clock_given else sorted(p.name for p in flow.parameters() if p.required)
    if required:
        return f"no default for {', '.join(required)} (run it alone with --param)"
    refused = [] if clock_given else default_refusals(flow)
    if refused:
        return f"{refused[0].rstrip('.')} (run it alone with --param)"
    return needs_reason(flow, settings)


def needs_reason(flow: Any, settings: Settings) -> str:
    """'needs X (what X is for)' for the settings PipelineFlow(needs=...) names that are unset
    here ("" when none): the one line both `run` and `run --all` give."""
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
    around = selected_nodes(lineage, selectors) if selectors else set(lineage.kinds)
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
    run_model: Callable[[str], str],
    touching: set[str] | None = None,
) -> list[Step]:
    """Run each flow as its schedule would (then each model), stopping at the first failure;
    `touching`: what a --select chose, so that only the clocks that write it run;
    `run_model` builds one model, or returns why it cannot here (the model is skipped).

    Raises:
        CommandError: A flow or model failed; the summary names what ran, failed and was skipped.
    """
    from pipelines.utils.execution import failed_tasks, run_local

    steps: list[Step] = []
    items: list[Any] = []
    for _, flow in flows:
        runs = runs_of(flow, touching)
        for clock, parameters in runs:
            shown = clock if len(runs) > 1 else ""  # one run needs no clock named
            steps.append(Step(flow.name, "flow", parameters=parameters, clock=shown))
            items.append(flow)
    steps += [Step(m, "model") for m in models]
    items += list(models)
    echo("Order: " + ", ".join(f"{i}. {s.label}" for i, s in enumerate(steps, start=1)))
    failed = False
    for number, (step, item) in enumerate(zip(steps, items, strict=True), start=1):
        if failed:
            break
        prefix = f"[{number}/{len(steps)}] {step.kind} {step.label}"
        started = time.perf_counter()
        if step.kind == "flow":
            flow = item
            step.reason = skip_reason(flow, settings, clock_given=bool(step.parameters))
            if step.reason:
                step.outcome = "skipped"
                echo(f"{prefix}: skipped: {step.reason}")
                continue
            state = run_local(flow, step.parameters, settings=settings)
            if not state.is_successful():
                step.reason = missing_setting(state)
                if step.reason:
                    step.outcome = "skipped"
                    echo(f"{prefix}: skipped: {step.reason}")
                    continue
                tasks = "; ".join(f"{n}: {m}" for n, m in failed_tasks(state))
                step.reason = f"{state.message} {tasks}".strip()
                failed = True
        else:
            try:
                step.reason = run_model(step.name)
            except Exception as error:  # any failure stops the plan; the summary names it
                step.reason = f"{type(error).__name__}: {error}"
                failed = True
            if step.reason and not failed:
                step.outcome = "skipped"
                echo(f"{prefix}: skipped: {step.reason}")
                continue
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
        raise CommandError(f"Stopped at the first failure: {summary}.")
    echo(f"Done: {summary}.")
    return steps
