"""dump_to_gcs: a warehouse table or query as a zipped CSV at a predictable path in the bucket."""

from pipelines.utils.dump_to_gcs.export import export_key, export_zipped_csv
from pipelines.utils.dump_to_gcs.flows import create_dump_to_gcs_flow
from pipelines.utils.dump_to_gcs.tasks import dump_to_gcs

__all__ = ["create_dump_to_gcs_flow", "dump_to_gcs", "export_key", "export_zipped_csv"]
