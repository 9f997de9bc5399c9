"""An environment's stores, described for people and for dbt: local is a folder and a DuckDB
file; dev and prod are a GCS bucket and BigQuery (`pipelines.utils.context.ENVIRONMENTS`)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipelines.constants import DUCKDB_CONFIG, WAREHOUSE_BLOCK_SIZE
from pipelines.settings import Settings
from pipelines.utils.context import current_settings, datalake_folder, environment
from pipelines.utils.context import warehouse_file as local_warehouse_file

if TYPE_CHECKING:
    from pipelines.utils.datalake.base import Datalake
    from pipelines.utils.warehouse.base import Warehouse


@dataclass(frozen=True)
class Resources:
    """What one environment's runs use; built from settings, nothing opened until asked."""

    settings: Settings
    dialect: Literal["duckdb", "bigquery"] = "duckdb"

    def datalake(self) -> Datalake:
        """Where tables' files go."""
        from pipelines.utils.datalake.factory import get_datalake

        return get_datalake(self.settings)

    def warehouse(self) -> Warehouse:
        """Where tables are loaded and queried."""
        from pipelines.utils.warehouse.factory import get_warehouse

        return get_warehouse(self.settings)

    def dbt_output(self) -> dict[str, Any]:
        """dbt's target for this warehouse (profiles.yml's `outputs` entry)."""
        raise NotImplementedError

    def describe(self) -> list[tuple[str, str]]:
        """(what, where) for people: read from settings, nothing opened or required."""
        raise NotImplementedError

    @property
    def staging_dir(self) -> Path:
        """Where a dump stages its files before publishing them."""
        return Path(tempfile.gettempdir())

    @property
    def warehouse_file(self) -> Path | None:
        """The warehouse's one file, which a single process may write at a time (DuckDB);
        None for a server."""
        return None

    @property
    def runs_file(self) -> Path | None:
        """Where run_local records the runs it made (what `manage.py status` reads offline);
        None where the server keeps the runs."""
        return None


@dataclass(frozen=True)
class LocalResources(Resources):
    """A folder (PIPELINES_DATA_DIR) holding the datalake and a DuckDB warehouse file."""

    @property
    def warehouse_file(self) -> Path:
        return local_warehouse_file(self.settings)

    @property
    def runs_file(self) -> Path:
        return self.settings.data_dir / "runs.jsonl"

    @property
    def staging_dir(self) -> Path:
        # Beside the datalake, so publishing a dump is a rename.
        return self.settings.data_dir / ".staging"

    def dbt_output(self) -> dict[str, Any]:
        return {
            "type": "duckdb",
            "path": str(self.warehouse_file),
            "schema": "main",
            "threads": 4,
            # When dbt makes the file, it has the warehouse's own block size.
            "config_options": {**DUCKDB_CONFIG, "default_block_size": WAREHOUSE_BLOCK_SIZE},
        }

    def describe(self) -> list[tuple[str, str]]:
        return [
            ("datalake", f"the folder {datalake_folder(self.settings)}"),
            ("warehouse", f"DuckDB, the file {self.warehouse_file}"),
            ("dbt", "dbt-duckdb on that file"),
            ("runs", f"recorded in {self.runs_file}"),
        ]


@dataclass(frozen=True)
class CloudResources(Resources):
    """A GCS bucket (PIPELINES_DATALAKE_BUCKET) and BigQuery (PIPELINES_BIGQUERY_PROJECT)."""

    dialect: Literal["duckdb", "bigquery"] = "bigquery"

    def dbt_output(self) -> dict[str, Any]:
        output: dict[str, Any] = {
            "type": "bigquery",
            "project": self.settings.require("PIPELINES_BIGQUERY_PROJECT"),
            "dataset": "dbt",
            "location": self.settings.require("PIPELINES_BIGQUERY_LOCATION"),
            "threads": 4,
            "method": "oauth",
            "job_retries": 1,
        }
        endpoint = self.settings.get("PIPELINES_BIGQUERY_API_ENDPOINT")
        if endpoint:  # an emulator checks no token
            output.update(method="oauth-secrets", token="emulator", api_endpoint=endpoint)
        return output

    def describe(self) -> list[tuple[str, str]]:
        def shown(name: str) -> str:
            return self.settings.lookup(name) or f"<{name} unset>"

        prefix = (self.settings.get("PIPELINES_DATALAKE_PREFIX") or "").strip("/")
        lake = f"gs://{shown('PIPELINES_DATALAKE_BUCKET')}" + (f"/{prefix}" if prefix else "")
        project = shown("PIPELINES_BIGQUERY_PROJECT")
        location = shown("PIPELINES_BIGQUERY_LOCATION")
        return [
            ("datalake", f"the bucket {lake}"),
            ("warehouse", f"BigQuery, project {project} ({location})"),
            ("dbt", f"dbt-bigquery on project {project}"),
            ("runs", "on Prefect Server"),
        ]


# The description of each kind of warehouse's environment (which environment uses which is
# pipelines.utils.context.ENVIRONMENTS).
_BY_WAREHOUSE: dict[str, type[Resources]] = {
    "duckdb": LocalResources,
    "bigquery": CloudResources,
}


def resources(settings: Settings | None = None) -> Resources:
    """The resources of an environment.

    Args:
        settings: Settings to read; default: the run's (current_settings).

    Raises:
        SettingsError: PIPELINES_ENV is not one of local, dev, prod.
    """
    settings = settings or current_settings()
    return _BY_WAREHOUSE[environment(settings).warehouse](settings)
