"""The datalake: one small interface, a local-folder and a GCS implementation, and tasks."""

from pipelines.utils.datalake.base import Datalake, partition_path
from pipelines.utils.datalake.factory import get_datalake
from pipelines.utils.datalake.local import LocalDatalake

__all__ = ["Datalake", "LocalDatalake", "get_datalake", "partition_path"]
