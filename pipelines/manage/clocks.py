"""Whether each clock of a flow's schedule can start a run: its parameters against the flow's,
and against what the flow's tasks would refuse once running."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from pipelines.errors import PipelinesError


def clock_problems(flow: Any, models: Path | None = None) -> list[str]:
    """One line per problem a clock's parameter_defaults would cause on the server, each
    naming the clock (its place in the schedule and when it fires) and the parameter:

    - a parameter the flow does not have, or a required one left out;
    - a value of another kind than the flow takes (its tasks' annotations say, else its
      default: a string where it is a number);
    - values a task refuses before doing anything (its `preflight`, such as dump_db's
      `mode` with `since`);
    - materialize_after_dump=True where no model under `models` builds the table.
    """
    from pipelines.manage.catalog.when import clock_words
    from pipelines.utils.inventory.tables import parameter_sets

    clocks = getattr(flow.schedule, "clocks", None) or []
    parameters = {p.name: p for p in flow.parameters()}
    sets = parameter_sets(flow)[1:]  # one per clock, the flow's defaults filled in
    problems = []
    for number, (clock, values) in enumerate(zip(clocks, sets, strict=True), start=1):
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
        kinds = [
            f"{which} sets parameter {name!r} to {given[name]!r}: {wrong}."
            for name in sorted(set(given) & set(parameters))
            if (wrong := _kind_problem(given[name], parameters[name], flow))
        ]
        problems += kinds
        if not kinds:  # a value of the wrong kind would be refused again, less clearly
            problems += [f"{which}: {line}" for line in _refusals(flow, values.values)]
        if models is not None:
            problems += [f"{which} {line}" for line in _missing_models(flow, values.values, models)]
    return problems


# Kinds a value may have, in words, by the Python type a task's annotation or a default shows.
_WORDS = {bool: "True or False", int: "a whole number", float: "a number", str: "a string",
          list: "a list", tuple: "a list", dict: "a mapping"}  # fmt: skip


def default_refusals(flow: Any) -> list[str]:
    """What the flow's tasks would refuse in a run started with its defaults alone (a
    materialize flow with no selection, say)."""
    from pipelines.utils.inventory.tables import parameter_sets

    return _refusals(flow, parameter_sets(flow)[0].values)


def _kind_problem(value: Any, parameter: Any, flow: Any) -> str | None:
    """Why a value does not fit the parameter, or None: the kinds the annotations of the task
    arguments it feeds accept (`sheet: str | int`), else the kind of its default."""
    if value is None:
        return None
    accepted = _annotated_kinds(parameter, flow)
    if accepted is None:
        default = parameter.default
        if default is None or type(default) not in _WORDS:
            return None
        accepted = {type(default)}
        reason = f"the flow's default is {default!r}, so it must be"
    else:
        reason = "the flow takes"
    if float in accepted:
        accepted.add(int)
    if list in accepted or tuple in accepted:
        accepted |= {list, tuple}
    kind = type(value)
    if kind in accepted or (kind is not bool and any(isinstance(value, k) for k in accepted)):
        return None
    words = sorted({_WORDS[k] for k in accepted if k in _WORDS and k is not tuple})
    return f"{reason} {' or '.join(words)}" if words else None


def _annotated_kinds(parameter: Any, flow: Any) -> set[type] | None:
    """The plain types the task arguments fed by this parameter are annotated with (None when
    any argument takes anything, or no annotation says)."""
    import types
    import typing

    kinds: set[type] = set()
    for edge in flow.edges:
        if edge.upstream_task is not parameter or edge.key is None:
            continue
        try:
            hint = typing.get_type_hints(edge.downstream_task.run).get(edge.key)
        except Exception:  # an annotation that does not resolve says nothing
            return None
        if hint is None or hint is Any:
            return None
        parts = (
            typing.get_args(hint)
            if isinstance(hint, types.UnionType) or (typing.get_origin(hint) is typing.Union)
            else (hint,)
        )
        for part in parts:
            plain = typing.get_origin(part) or part
            if plain is type(None):
                continue
            if not isinstance(plain, type) or plain not in _WORDS:
                return None
            kinds.add(plain)
    return kinds or None


def _refusals(flow: Any, values: dict[str, Any]) -> list[str]:
    """What each task with a `preflight` (the checks it makes before doing anything, given
    its arguments by name) says about the arguments these parameter values give it."""
    from pipelines.utils.inventory.tables import UNSET, argument_source, resolve_argument

    problems = []
    for task in sorted(flow.tasks, key=lambda t: t.name):
        check = getattr(task, "preflight", None)
        if check is None:
            continue
        keys = {edge.key for edge in flow.edges_to(task)}
        arguments: dict[str, Any] = {}
        for name, declared in inspect.signature(task.run).parameters.items():
            how = argument_source(flow, task, name)
            if how is None and name in keys:
                break  # an upstream task's result: known only when the flow runs
            value = resolve_argument(how, values)
            if value is UNSET:
                if declared.default is inspect.Parameter.empty:
                    break  # a required value no clock gives: reported above
                value = declared.default
            arguments[name] = value
        else:
            try:
                check(arguments)
            except PipelinesError as error:
                problems.append(f"{task.name} would refuse its arguments: {error}")
    return problems


def _missing_models(flow: Any, values: dict[str, Any], models: Path) -> list[str]:
    """materialize_after_dump=True where the table has no model of its own (and no
    dbt_select says which to build): the run would fail after its dump."""
    from pipelines.utils.inventory.tables import (
        MATERIALIZERS,
        UNSET,
        argument_source,
        resolve_argument,
    )

    problems = []
    for task in sorted(flow.tasks, key=lambda t: t.name):
        if task.name not in MATERIALIZERS:
            continue
        enabled = resolve_argument(argument_source(flow, task, "enabled"), values)
        select = resolve_argument(argument_source(flow, task, "select"), values)
        dataset = resolve_argument(argument_source(flow, task, "dataset_id"), values)
        table = resolve_argument(argument_source(flow, task, "table_id"), values)
        if enabled not in (True, UNSET) or select not in (None, UNSET):
            continue
        if not (isinstance(dataset, str) and isinstance(table, str)):
            continue
        model = models / dataset / f"{table}.sql"
        if not model.is_file():
            shown = model.relative_to(models.parent.parent).as_posix()
            problems.append(
                f"sets materialize_after_dump=True, but no model builds {dataset}.{table} "
                f"({shown} does not exist): add that model, set dbt_select, or turn "
                "materialize_after_dump off."
            )
    return problems
