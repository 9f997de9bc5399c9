"""A datalake in a Google Cloud Storage bucket, through google-cloud-storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.utils.datalake.base import Datalake


class GCSDatalake(Datalake):
    """Objects in a bucket. A prefix is replaced by uploading the new files, then deleting
    the old ones, so readers never see the prefix empty.

    Args:
        bucket: The bucket name.
        client: A google.cloud.storage.Client; default: one from the environment's credentials.
    """

    def __init__(self, bucket: str, client: Any = None) -> None:
        if client is None:
            from google.cloud import storage

            client = storage.Client()
        self.client = client
        self.bucket_name = bucket
        self.bucket = client.bucket(bucket)

    @property
    def location(self) -> str:
        return f"gs://{self.bucket_name}"

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket_name}/{key}"

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(b.name for b in self.client.list_blobs(self.bucket_name, prefix=prefix + "/"))

    def read_bytes(self, key: str) -> bytes:
        return self.bucket.blob(key).download_as_bytes()

    def replace_prefix(self, prefix: str, files: dict[str, Path], move: bool = False) -> list[str]:
        before = set(self.list_keys(prefix))
        written = []
        for name, source in files.items():
            key = f"{prefix}/{name}"
            self.bucket.blob(key).upload_from_filename(str(source))
            written.append(key)
        for stale in sorted(before - set(written)):
            self.bucket.blob(stale).delete()
        return written

    def put(self, key: str, source: Path) -> str:
        self.bucket.blob(key).upload_from_filename(str(source))
        return key

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix)
        for key in keys:
            self.bucket.blob(key).delete()
        return len(keys)
