"""flow_factory: one signature for every shared flow (dump_db, dump_url, dump_to_gcs, ...)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from prefect import Flow

from pipelines.utils.pipeline_flow.flow import PipelineFlow


class FlowFactory(Protocol):
    """create_<x>_flow(name, org, code_owners=(), **flow_kwargs) -> Flow.

    Args:
        name: Flow name, unique in the repo, e.g. "sme: dump_db".
        org: The org that owns it (its agent label and alerts).
        code_owners: People named in failure alerts.
        **flow_kwargs: Passed to PipelineFlow (schedule with one clock per table, ...).

    Returns:
        A new flow; each call builds its own, configured by its parameters.
    """

    def __call__(
        self, name: str, org: str, code_owners: Iterable[str] = (), **flow_kwargs: Any
    ) -> Flow: ...


def flow_factory(build: Callable[[], None]) -> FlowFactory:
    """Make `build` (which adds the tasks, inside a flow's `with` block) a flow factory.

    The factory's docstring is build's: what the flow does and its parameters. Its
    arguments are FlowFactory's, the same for every shared flow.
    """

    # build's name and docstring, not its annotations: help() and editors show the call.
    @functools.wraps(build, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
    def create(name: str, org: str, code_owners: Iterable[str] = (), **flow_kwargs: Any) -> Flow:
        with PipelineFlow(name, org=org, code_owners=code_owners, **flow_kwargs) as flow:
            build()
        return flow

    del create.__wrapped__  # type: ignore[attr-defined]  # else signature() shows build's
    return create
