"""Choose the Prefect executor from settings: local, local_dask or a Dask scheduler."""

from __future__ import annotations

from collections.abc import Callable

from prefect.executors import DaskExecutor, Executor, LocalDaskExecutor, LocalExecutor

from pipelines.errors import SettingsError
from pipelines.settings import Settings

_BY_KIND: dict[str, Callable[[], Executor]] = {
    "local": LocalExecutor,
    "local_dask": lambda: LocalDaskExecutor(scheduler="threads"),
}
EXECUTORS = tuple(_BY_KIND)


def make_executor(settings: Settings) -> Executor:
    """Build the executor that settings ask for.

    Args:
        settings: Read for PIPELINES_DASK_ADDRESS and PIPELINES_EXECUTOR.

    Returns:
        DaskExecutor on the scheduler when PIPELINES_DASK_ADDRESS is set, else
        LocalDaskExecutor (threads) for "local_dask", else LocalExecutor.

    Raises:
        SettingsError: PIPELINES_EXECUTOR is not a known executor.
    """
    address = settings.get("PIPELINES_DASK_ADDRESS")
    if address:
        return DaskExecutor(address=address)
    kind = settings.require("PIPELINES_EXECUTOR")
    if kind in _BY_KIND:
        return _BY_KIND[kind]()
    raise SettingsError(
        f"PIPELINES_EXECUTOR={kind!r} is not one of {', '.join(EXECUTORS)}; to use a Dask "
        f"cluster set PIPELINES_DASK_ADDRESS=tcp://host:8786 instead."
    )


def describe_executor(executor: Executor) -> str:
    """A short human description, e.g. 'DaskExecutor on tcp://127.0.0.1:8786'."""
    address = getattr(executor, "address", None)
    if isinstance(executor, DaskExecutor) and address:
        return f"DaskExecutor on {address}"
    if isinstance(executor, LocalDaskExecutor):
        return f"LocalDaskExecutor ({executor.scheduler})"
    return type(executor).__name__
