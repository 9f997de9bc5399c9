"""Export a query as a zipped CSV into the datalake, refusing results above a size cap."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

from pipelines.errors import ExportError
from pipelines.utils.datalake.base import EXPORTS_FOLDER, Datalake, table_prefix
from pipelines.utils.scratch import temporary_folder
from pipelines.utils.warehouse.base import Warehouse

DEFAULT_MAX_MB = 1024


@dataclass(frozen=True)
class Export:
    """Where an export went and what it holds."""

    location: str
    rows: int
    csv_bytes: int
    zip_bytes: int


def export_key(dataset_id: str, table_id: str) -> str:
    """The predictable path of an export: exports/<dataset_id>/<table_id>/<table_id>.csv.zip."""
    return f"{EXPORTS_FOLDER}/{table_prefix(dataset_id, table_id)}/{table_id}.csv.zip"


def export_zipped_csv(
    warehouse: Warehouse,
    datalake: Datalake,
    sql: str,
    dataset_id: str,
    table_id: str,
    max_mb: float = DEFAULT_MAX_MB,
) -> Export:
    """Write the query's result as <table_id>.csv inside a zip at export_key().

    Raises:
        ExportError: The estimated CSV size is above max_mb (checked before exporting).
    """
    estimate = warehouse.estimate_csv_bytes(sql)
    if estimate > max_mb * 1024 * 1024:
        raise ExportError(
            f"The export of {dataset_id}.{table_id} would be about {estimate / 2**20:,.0f} MB "
            f"of CSV, above the cap of {max_mb:,.0f} MB: filter the query, or raise max_mb "
            f"(PIPELINES_DUMP_TO_GCS_MAX_MB)."
        )
    key = export_key(dataset_id, table_id)
    with temporary_folder("pipelines-export-") as tmp:
        csv_path = tmp / f"{table_id}.csv"
        rows = warehouse.export_csv(sql, csv_path)
        zip_path = tmp / f"{table_id}.csv.zip"
        with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(csv_path, arcname=csv_path.name)
        datalake.replace_prefix(key.rsplit("/", 1)[0], {zip_path.name: zip_path}, move=True)
        return Export(
            location=datalake.uri(key),
            rows=rows,
            csv_bytes=csv_path.stat().st_size,
            zip_bytes=datalake.size(key),
        )
