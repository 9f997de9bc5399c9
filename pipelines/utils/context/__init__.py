"""The run's settings and what its environment is made of, with nothing behind them.

`current_settings()` answers for the run in progress: run_local hands its settings to every
task through the run's context (`using`); elsewhere (a pod, a notebook) they are the process's
environment and .env. `ENVIRONMENTS` is the one table of which datalake and warehouse each
environment uses; the datalake and warehouse packages build theirs from it, so a flow that
only writes files never carries a warehouse's code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import prefect

from pipelines.settings import Settings, load_settings

# Where run_local puts its settings in the run's context (copied to every task, and to Dask
# workers with it).
CONTEXT_KEY = "pipelines_settings"
# Where run_local puts itself: a child run started locally runs through it, in this process
# (the packages that start children sit below the one that runs flows).
LOCAL_RUNNER_KEY = "pipelines_local_runner"


def current_settings() -> Settings:
    """The settings of the run in progress: run_local's, else the environment's and .env's."""
    given = prefect.context.get(CONTEXT_KEY)
    return given if isinstance(given, Settings) else load_settings()


@contextlib.contextmanager
def using(settings: Settings) -> Iterator[None]:
    """Make `settings` what every task of a run started inside the block reads."""
    with prefect.context(**{CONTEXT_KEY: settings}):
        yield


@dataclass(frozen=True)
class Environment:
    """What one environment's runs use."""

    datalake: Literal["folder", "gcs"]
    warehouse: Literal["duckdb", "bigquery"]


ENVIRONMENTS: dict[str, Environment] = {
    "local": Environment(datalake="folder", warehouse="duckdb"),
    "dev": Environment(datalake="gcs", warehouse="bigquery"),
    "prod": Environment(datalake="gcs", warehouse="bigquery"),
}


def environment(settings: Settings | None = None) -> Environment:
    """The environment of these settings (default: the run's)."""
    return ENVIRONMENTS[(settings or current_settings()).env]


def datalake_folder(settings: Settings) -> Path:
    """The local datalake: PIPELINES_DATA_DIR/datalake."""
    return settings.data_dir / "datalake"


def warehouse_file(settings: Settings) -> Path:
    """The local warehouse's one file: PIPELINES_DATA_DIR/warehouse.duckdb."""
    return settings.data_dir / "warehouse.duckdb"
