"""A datalake in a Google Cloud Storage bucket, through google-cloud-storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.utils.datalake.base import Datalake


class GCSDatalake(Datalake):
    """Objects in a bucket, under an optional root folder (basedosdados reads "staging").

    A prefix is replaced by uploading the new files, then deleting the old ones, so readers
    never see it empty.

    Args:
        bucket: The bucket name.
        client: A google.cloud.storage.Client; default: one from the environment's credentials.
        root: Folder in the bucket that keys are relative to ("" for the bucket's top).
    """

    def __init__(self, bucket: str, client: Any = None, root: str = "") -> None:
        if client is None:
            from google.cloud import storage  # type: ignore[attr-defined]

            client = storage.Client()
        self.client = client
        self.bucket_name = bucket
        self.bucket = client.bucket(bucket)
        self.root = root.strip("/")

    def _name(self, key: str) -> str:
        return f"{self.root}/{key}" if self.root else key

    @property
    def location(self) -> str:
        return f"gs://{self.bucket_name}/{self.root}".rstrip("/")

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket_name}/{self._name(key)}"

    def list_keys(self, prefix: str) -> list[str]:
        start = len(self.root) + 1 if self.root else 0
        blobs = self.client.list_blobs(self.bucket_name, prefix=self._name(prefix) + "/")
        return sorted(b.name[start:] for b in blobs)

    def read_bytes(self, key: str) -> bytes:
        from google.api_core.exceptions import NotFound

        try:
            return self.bucket.blob(self._name(key)).download_as_bytes()
        except NotFound:  # as the local datalake says it, so callers handle one error
            raise FileNotFoundError(f"No object {self.uri(key)}.") from None

    def size(self, key: str) -> int:
        blob = self.bucket.get_blob(self._name(key))  # metadata only
        if blob is None:
            raise FileNotFoundError(f"No object {self.uri(key)}.")
        return int(blob.size)

    def replace_prefix(self, prefix: str, files: dict[str, Path], move: bool = False) -> list[str]:
        before = set(self.list_keys(prefix))
        written = [self.put(f"{prefix}/{name}", source) for name, source in files.items()]
        for stale in sorted(before - set(written)):
            self.bucket.blob(self._name(stale)).delete()
        return written

    def local_file(self, key: str, folder: Path) -> Path:
        target = folder / key.replace("/", "__")
        self.bucket.blob(self._name(key)).download_to_filename(str(target))
        return target

    def put(self, key: str, source: Path) -> str:
        self.bucket.blob(self._name(key)).upload_from_filename(str(source))
        return key

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix)
        for key in keys:
            self.bucket.blob(self._name(key)).delete()
        return len(keys)
