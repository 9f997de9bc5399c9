"""dump_url: a CSV or Excel file at a URL (direct, Google Drive, Google Sheets) into the
datalake and the warehouse."""

from pipelines.utils.dump_url.flows import create_dump_url_flow
from pipelines.utils.dump_url.links import download_url
from pipelines.utils.dump_url.tasks import download, to_parquet

__all__ = ["create_dump_url_flow", "download", "download_url", "to_parquet"]
