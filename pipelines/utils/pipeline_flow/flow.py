"""PipelineFlow: a Prefect Flow that carries its org, code owners and deployment defaults."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from prefect import Flow
from prefect.run_configs import KubernetesRun

from pipelines.constants import SHARED_PACKAGES
from pipelines.errors import HealthError, ResourceError, SettingsError
from pipelines.settings import is_setting
from pipelines.utils.alerts import notify_failure
from pipelines.utils.health.expectations import DEFAULT_FAILING_STREAK, check_freshness
from pipelines.utils.pipeline_flow.pod_size import check_resources
from pipelines.utils.pipeline_flow.skip_if_running import skip_if_running as skip_if_running_handler


def org_label(org: str) -> str:
    """The agent label of an org's flows: its name, so agents are set up per org."""
    return org


class PipelineFlow(Flow):
    """A Flow with the repo's defaults: org label, code owners, failure alerts.

    Image, storage and schedule state are not decided here: they depend on where a version
    goes, and `pipelines.utils.deploy.deployment_copy` sets them from its target.

    Args:
        name: Flow name, unique in the repo ("<org>: <project>" by convention).
        org: The org that owns the flow; its label goes on the run config.
        code_owners: People named in failure alerts.
        skip_if_running: Skip a run while another run of this flow is running.
        cpu: CPU its pod requests, a Kubernetes quantity ("500m" is half a core).
        memory: Memory its pod requests ("2Gi").
        cpu_limit: CPU the pod may use at most (throttled above it).
        memory_limit: Memory the pod may use at most (killed above it: OOMKilled).
        freshness: How old the newest load of each table the flow writes may get before the
            watchdog calls it stale: one timedelta for all, or {"dataset.table": timedelta}.
            Default: the time between the runs that write it, plus an hour.
        failing_streak: Finished runs in a row that fail before the watchdog alerts a
            failing streak (each failure still alerts on its own).
        pause_on_failing_streak: Let the watchdog turn the schedule off after such a
            streak (it says so in the alert; turn it back on in the Prefect UI once fixed).
        needs: Settings (or Prefect's variables) the flow cannot run without beyond what its
            environment needs, e.g. ("PREFECT__SERVER__HOST",) for one that asks Prefect
            Server: `manage.py run --all` skips it, naming them, where one is unset.
        **kwargs: Passed to prefect.Flow (schedule, state_handlers, ...).

    Raises:
        ResourceError: A quantity does not parse, or a request is above its limit.
        SettingsError: `needs` names something that is not a setting.
        HealthError: freshness is not a positive timedelta (or a mapping of them), or
            failing_streak is under 1.
    """

    def __init__(
        self,
        name: str,
        *,
        org: str,
        code_owners: Iterable[str] = (),
        skip_if_running: bool = False,
        cpu: str | None = None,
        memory: str | None = None,
        cpu_limit: str | None = None,
        memory_limit: str | None = None,
        freshness: dt.timedelta | Mapping[str, dt.timedelta] | None = None,
        failing_streak: int = DEFAULT_FAILING_STREAK,
        pause_on_failing_streak: bool = False,
        needs: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        self.org = org
        self.needs = [needs] if isinstance(needs, str) else list(needs)
        unknown = [n for n in self.needs if not is_setting(n)]
        if unknown:
            raise SettingsError(
                f"flow {name!r}: needs={unknown} names no setting; use names from "
                "pipelines/settings.py (.env.example lists them)."
            )
        self.code_owners = list(code_owners)
        if freshness is not None:
            check_freshness(freshness, name)
        if isinstance(failing_streak, bool) or not isinstance(failing_streak, int):
            raise HealthError(f"flow {name!r}: failing_streak={failing_streak!r} is not a number.")
        if failing_streak < 1:
            raise HealthError(f"flow {name!r}: failing_streak={failing_streak} must be 1 or more.")
        self.freshness = dict(freshness) if isinstance(freshness, Mapping) else freshness
        self.failing_streak = failing_streak
        self.pause_on_failing_streak = bool(pause_on_failing_streak)
        try:
            check_resources(cpu, memory, cpu_limit, memory_limit)
        except ResourceError as error:
            raise ResourceError(f"flow {name!r}: {error}") from None
        run_config = kwargs.setdefault("run_config", KubernetesRun(labels=[org_label(org)]))
        if isinstance(run_config, KubernetesRun):  # the deployed copy keeps them
            for attribute, value in (
                ("cpu_request", cpu),
                ("memory_request", memory),
                ("cpu_limit", cpu_limit),
                ("memory_limit", memory_limit),
            ):
                if value is not None:
                    setattr(run_config, attribute, str(value))
        handlers = [notify_failure, *(kwargs.pop("state_handlers", None) or [])]
        if skip_if_running:
            handlers.insert(0, skip_if_running_handler)
        super().__init__(name, state_handlers=handlers, **kwargs)
        # Where registration finds the flow's code (see pipelines.utils.deploy).
        self.defined_in = _calling_module()


def _calling_module() -> str | None:
    """The innermost org module on the stack, else the innermost pipelines module.

    A shared factory (pipelines.utils.*) builds flows for the project module that calls it.
    """
    fallback = None
    frame = sys._getframe(2)
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        parts = name.split(".")
        if len(parts) > 1 and parts[0] == "pipelines":
            if parts[1] not in SHARED_PACKAGES:
                return name
            fallback = fallback or name
        frame = frame.f_back  # type: ignore[assignment]
    return fallback
