"""The warehouse on BigQuery, through basedosdados (dev and prod).

basedosdados is imported only here, only when a BigQuery warehouse is used: importing it
switches off every Python warning in the process (so the filters are restored after), and
without its configuration it asks questions with input() and hangs (so that is checked first).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.settings import Settings, SettingsError
from pipelines.utils.datalake.base import Datalake
from pipelines.utils.warehouse.base import LoadedTable, Warehouse

if TYPE_CHECKING:
    import pandas as pd

CREDENTIALS = ("BASEDOSDADOS_CREDENTIALS_PROD", "BASEDOSDADOS_CREDENTIALS_STAGING")


def basedosdados_config_problem(settings: Settings) -> str | None:
    """Why basedosdados would stop to ask for its configuration, or None when it is set up."""
    environ = settings.environ
    if environ.get("BASEDOSDADOS_CONFIG"):
        missing = [name for name in CREDENTIALS if not environ.get(name)]
        if missing:
            return f"BASEDOSDADOS_CONFIG is set but {', '.join(missing)} is not (base64 JSON keys)."
        return None
    home = Path(environ.get("HOME") or Path.home())
    if (home / ".basedosdados" / "config.toml").is_file():
        return None
    return (
        "basedosdados is not configured, and would wait for answers at an input() prompt. "
        "Create ~/.basedosdados/config.toml (run `basedosdados config init` once, "
        "interactively), or set BASEDOSDADOS_CONFIG, BASEDOSDADOS_CREDENTIALS_PROD and "
        "BASEDOSDADOS_CREDENTIALS_STAGING (base64, as basedosdados documents)."
    )


def import_basedosdados(settings: Settings) -> Any:
    """Import basedosdados after checking its configuration, keeping our warning filters."""
    problem = basedosdados_config_problem(settings)
    if problem:
        raise SettingsError(problem)
    saved = warnings.filters[:]
    try:
        import basedosdados
    finally:
        warnings.filters[:] = saved  # type: ignore[index]
    return basedosdados


class BigQueryWarehouse(Warehouse):
    """Tables <dataset_id>.<table_id> in BigQuery, created by basedosdados from the datalake's
    staging files (gs://<bucket>/staging/<dataset_id>/<table_id>/...)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.project = settings.require("PIPELINES_BIGQUERY_PROJECT")
        self._bd: Any = None

    @property
    def bd(self) -> Any:
        if self._bd is None:
            self._bd = import_basedosdados(self.settings)
        return self._bd

    @property
    def location(self) -> str:
        return f"bigquery://{self.project}"

    def load_from_datalake(
        self,
        datalake: Datalake,
        dataset_id: str,
        table_id: str,
        columns: dict[str, str] | None = None,
    ) -> LoadedTable:
        keys = datalake.list_keys(f"{dataset_id}/{table_id}")
        source_format = "parquet" if any(k.endswith(".parquet") for k in keys) else "csv"
        # The files are already in the staging folder: create (or replace) the table on them.
        self.bd.Table(dataset_id=dataset_id, table_id=table_id).create(
            path=None,
            source_format=source_format,
            if_table_exists="replace",
            if_storage_data_exists="pass",
        )
        name = f"{dataset_id}.{table_id}"
        rows = self.row_count(dataset_id, table_id)
        return LoadedTable(
            table=name, location=f"BigQuery table {self.project}.{name} ({rows} rows)", rows=rows
        )

    def query(self, sql: str) -> pd.DataFrame:
        return self.bd.read_sql(sql, billing_project_id=self.project)

    def rows(self, sql: str) -> list[tuple]:
        return list(self.query(sql).itertuples(index=False, name=None))

    def row_count(self, dataset_id: str, table_id: str) -> int:
        frame = self.query(f"SELECT count(*) AS n FROM `{self.project}.{dataset_id}.{table_id}`")
        return int(frame["n"].iloc[0])

    def estimate_csv_bytes(self, sql: str) -> int:
        from google.cloud import bigquery

        job = (
            self.bd.Base()
            .client["bigquery_prod"]
            .query(sql, job_config=bigquery.QueryJobConfig(dry_run=True, use_query_cache=False))
        )
        return int(job.total_bytes_processed or 0)

    def export_csv(self, sql: str, path: Path) -> int:
        frame = self.query(sql)
        frame.to_csv(path, index=False)
        return len(frame)
