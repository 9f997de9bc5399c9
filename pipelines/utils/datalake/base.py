"""The Datalake interface and the layout of tables in it."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

# Hive-style partitions with basedosdados' names, so BigQuery external tables read them as is.
PARTITION_KEYS = ("ano", "mes", "data")
# append: replace the partitions the rows touch, keep the others; overwrite: exactly these rows.
MODES = ("overwrite", "append")


@dataclass(frozen=True)
class DatalakeWrite:
    """What a write put in the datalake."""

    dataset_id: str
    table_id: str
    location: str
    rows: int
    partitions: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def table_prefix(dataset_id: str, table_id: str) -> str:
    """Where a table's files live: <dataset_id>/<table_id>."""
    for label, value in (("dataset_id", dataset_id), ("table_id", table_id)):
        if not value or "/" in value or value.startswith("."):
            raise ValueError(f"{label}={value!r} must be a non-empty name without '/'.")
    return f"{dataset_id}/{table_id}"


def partition_path(day: dt.date) -> str:
    """The partition folder of a day: ano=2024/mes=01/data=2024-01-31."""
    return f"ano={day.year}/mes={day.month:02d}/data={day.isoformat()}"


class Datalake(ABC):
    """Files addressed by slash-separated keys. Writes of a prefix replace it as a whole."""

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the datalake is, for humans: a folder or gs://bucket."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """The address of one key (a local path or gs://bucket/key)."""

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """Keys under prefix, sorted."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The content of one key."""

    @abstractmethod
    def replace_prefix(self, prefix: str, files: dict[str, Path], move: bool = False) -> list[str]:
        """Make prefix hold exactly `files` (name -> local file), dropping what was there.

        Args:
            prefix: The folder to replace, e.g. a partition.
            files: File name under prefix -> local file to upload.
            move: The local files may be moved instead of copied (they are staging files).

        Returns:
            The keys written.
        """

    @abstractmethod
    def put(self, key: str, source: Path) -> str:
        """Upload one local file to key; returns the key."""

    def partitions(self, prefix: str) -> list[str]:
        """Partition folders (ano=/mes=/data=) holding files under a table prefix, sorted."""
        found = set()
        for key in self.list_keys(prefix):
            relative = key[len(prefix) + 1 :]
            if relative.startswith("ano="):
                found.add("/".join(relative.split("/")[:3]))
        return sorted(found)

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every key under prefix; returns how many."""
