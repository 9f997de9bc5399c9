"""Tasks that download a file from a URL and read it as a table of text columns."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import prefect
from prefect import task
from prefect.triggers import always_run

from pipelines.errors import DumpUrlError
from pipelines.utils.dump_url.links import download_url
from pipelines.utils.retries import with_retries

FORMATS = ("auto", "csv", "excel")
TEMP_PREFIX = "pipelines-url-"
CHUNK = 1 << 20
_XLSX, _XLS = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


@task
def download(url: str, timeout_s: int = 300) -> str:
    """Stream a URL to a local temporary file (bounded memory), following share links.

    Args:
        url: A direct link, a Google Drive share link or a Google Sheets link.
        timeout_s: Seconds to wait for the server between bytes.

    Returns:
        The local file's path.

    Raises:
        DumpUrlError: Not an http(s) URL.
        requests.HTTPError: The server answered with an error status.
    """
    import requests

    direct = download_url(url)
    logger = prefect.context.get("logger")
    return with_retries(lambda: _fetch(requests, direct, timeout_s, logger), logger)


def _fetch(requests, direct: str, timeout_s: int, logger) -> str:
    with requests.get(direct, stream=True, timeout=timeout_s) as response:
        response.raise_for_status()
        if "text/html" in response.headers.get("Content-Type", ""):
            raise DumpUrlError(
                f"{direct} returned an HTML page, not a file: is the link shared publicly?"
            )
        handle, name = tempfile.mkstemp(prefix=TEMP_PREFIX)
        size = 0
        try:
            with open(handle, "wb") as out:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
        except BaseException:  # a broken transfer leaves no partial file behind
            Path(name).unlink(missing_ok=True)
            raise
    logger.info("Downloaded %s bytes from %s", f"{size:,}", direct)
    return name


@task(trigger=always_run)
def remove_download(path: object) -> None:
    """Delete the file download wrote, whatever happened after it (runs even on failure).

    Args:
        path: The downloaded file's path; anything else (download itself failed) is ignored.
    """
    if isinstance(path, str) and Path(path).name.startswith(TEMP_PREFIX):
        Path(path).unlink(missing_ok=True)


def _detect(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    head = path.open("rb").read(4)
    return "excel" if head in (_XLSX, _XLS) else "csv"


@task
def read_table(
    path: str,
    format: str = "auto",
    separator: str = ",",
    encoding: str = "utf-8",
    sheet: str | int = 0,
) -> pd.DataFrame:
    """Read a CSV or Excel file with every column as text, so nothing is guessed or lost.

    Args:
        path: Local file (from download).
        format: "auto" (by the file's first bytes), "csv" or "excel".
        separator: CSV field separator.
        encoding: CSV text encoding.
        sheet: Excel sheet name or index.

    Returns:
        The rows; empty fields are NA, other text (even "NA" or "None") is kept.

    Raises:
        DumpUrlError: Unknown format, or a file with no header row.
    """
    if format not in FORMATS:
        raise DumpUrlError(f"format={format!r} must be one of {', '.join(FORMATS)}.")
    file = Path(path)
    kind = _detect(file, format)
    if kind == "excel":
        frame = pd.read_excel(
            file, sheet_name=sheet, dtype=str, keep_default_na=False, na_values=[""]
        )
    else:
        frame = pd.read_csv(
            file, sep=separator, encoding=encoding, dtype=str, keep_default_na=False, na_values=[""]
        )
    if frame.columns.empty:
        raise DumpUrlError(f"{path} has no header row.")
    prefect.context.get("logger").info("Read %s rows x %s columns (%s)", *frame.shape, kind)
    return frame
