"""Tasks that download a file from a URL and read it as a table of text columns."""

from __future__ import annotations

import errno
import re
import time
from dataclasses import dataclass
from pathlib import Path

import prefect
from prefect import task
from prefect.triggers import always_run

from pipelines.errors import DumpUrlError
from pipelines.utils.context import current_settings
from pipelines.utils.dataframe.separators import SAMPLE_BYTES, shown, sniff_separator
from pipelines.utils.dump_url.convert import Converted, csv_to_parquet, excel_to_parquet
from pipelines.utils.dump_url.google import Account, service_account
from pipelines.utils.dump_url.links import download_url, google_file, private_url
from pipelines.utils.retries import with_retries
from pipelines.utils.scratch import release, scratch_file

FORMATS = ("auto", "csv", "excel")
TEMP_PREFIX = "pipelines-url-"
CHUNK = 1 << 20
_XLSX, _XLS = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


@task
def download(
    url: str,
    timeout_s: int = 3600,
    max_mb: int | None = None,
    stall_s: int = 60,
    sheet: str | int = 0,
    range: str | None = None,
    header_row: int | None = None,
) -> str:
    """Stream a URL to a local temporary file (bounded memory and disk), following share
    links. A Google Sheets or Drive link not shared publicly is read as the service account
    of GOOGLE_APPLICATION_CREDENTIALS.

    Args:
        url: A direct link, a Google Drive share link or a Google Sheets link.
        timeout_s: Seconds the whole download may take, retries included.
        max_mb: Largest file, in MB after decompression; default PIPELINES_DOWNLOAD_MAX_MB.
        stall_s: Seconds the server may send nothing before the attempt fails (and is
            retried, within timeout_s).
        sheet: For a Google Sheets link, a tab other than the link's own (a name or a
            position) downloads the whole workbook, for to_parquet to pick the tab from.
        range: For a Google Sheets link, downloads the whole workbook (to_parquet reads it).
        header_row: For a Google Sheets link, downloads the whole workbook (as range does).

    Returns:
        The local file's path.

    Raises:
        DumpUrlError: Not an http(s) URL, a bad limit, a file past max_mb, a download past
            timeout_s, a disk that filled, or a Google file neither public nor readable by
            the service account (each named with what to change).
        requests.HTTPError: The server answered with an error status.
    """
    import requests

    for name, value in (("timeout_s", timeout_s), ("stall_s", stall_s), ("max_mb", max_mb)):
        if value is not None and (not isinstance(value, int | float) or value <= 0):
            raise DumpUrlError(f"{name}={value!r} must be a positive number.")
    settings = current_settings()
    endpoint = settings.get("PIPELINES_GOOGLE_API_ENDPOINT")
    # The link's own tab exports as CSV; any sheet option needs the workbook.
    workbook = sheet not in (0, None) or bool(range) or header_row is not None
    sheet_format = "xlsx" if workbook else "csv"
    direct = download_url(url, sheet_format, endpoint)
    logger = prefect.context.get("logger")
    limit_mb = max_mb or settings.number("PIPELINES_DOWNLOAD_MAX_MB")
    limits = _Limits(time.monotonic() + timeout_s, timeout_s, int(limit_mb * 2**20), stall_s)
    found = google_file(url)
    try:
        return with_retries(lambda: _fetch(requests, direct, limits, logger), logger)
    except _NotPublic:
        if found is None:
            raise
    key = settings.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not key:
        raise DumpUrlError(
            f"{url} is not shared publicly and GOOGLE_APPLICATION_CREDENTIALS is unset: share "
            "it as 'Anyone with the link', or set GOOGLE_APPLICATION_CREDENTIALS to the key of "
            "a service account the file is shared with."
        )
    account = service_account(key)
    logger.info("%s is not public: reading it as the service account %s", url, account.email)
    private = private_url(found, sheet_format, endpoint)
    return with_retries(lambda: _fetch(requests, private, limits, logger, account), logger)


class _NotPublic(DumpUrlError):
    """The server answered with a login page or a refusal instead of the file."""


@dataclass(frozen=True)
class _Limits:
    deadline: float  # time.monotonic() by which the download must be done
    timeout_s: float
    max_bytes: int
    stall_s: float


def _fetch(requests, direct: str, limits: _Limits, logger, account: Account | None = None) -> str:
    if time.monotonic() >= limits.deadline:
        raise _too_slow(direct, limits)
    headers = {"Authorization": f"Bearer {account.token}"} if account else {}
    # connect, then at most stall_s between bytes; the deadline bounds a server that trickles.
    with requests.get(
        direct, stream=True, timeout=(30, limits.stall_s), headers=headers
    ) as response:
        if account and response.status_code in (401, 403, 404):
            raise DumpUrlError(
                f"the service account {account.email} cannot read {direct} (HTTP "
                f"{response.status_code}): share the file with {account.email} (Viewer is "
                "enough), then run again."
            )
        if not account and response.status_code in (401, 403):
            raise _NotPublic(
                f"{direct} refused an anonymous download (HTTP {response.status_code})."
            )
        response.raise_for_status()
        if "text/html" in response.headers.get("Content-Type", ""):
            raise _NotPublic(
                f"{direct} returned an HTML page, not a file: is the link shared publicly?"
            )
        # Named after this process: the next run removes what a killed one left (GBs, maybe).
        name = str(scratch_file(TEMP_PREFIX))
        size = 0
        try:
            with open(name, "wb") as out:
                # What has arrived, up to CHUNK (waiting for a full CHUNK would let a trickling
                # server outlast the deadline), decompressed: the cap counts what lands.
                while chunk := response.raw.read1(CHUNK, decode_content=True):
                    size += len(chunk)
                    if size > limits.max_bytes:
                        raise DumpUrlError(
                            f"{direct} is larger than the download limit of "
                            f"{limits.max_bytes / 2**20:,.0f} MB (after decompression); "
                            "nothing was published. Raise max_mb= (or the setting "
                            "PIPELINES_DOWNLOAD_MAX_MB) if the file is really that large."
                        )
                    if time.monotonic() >= limits.deadline:
                        raise _too_slow(direct, limits, size)
                    out.write(chunk)
        except OSError as error:
            release(name)
            if error.errno != errno.ENOSPC:
                raise
            where = Path(name).parent
            raise DumpUrlError(
                f"the disk holding {where} filled after {size:,} bytes of {direct}"
                f"{_expected(response)}; free space there (or point TMPDIR elsewhere), then "
                "run again. Nothing was published."
            ) from None
        except BaseException:  # a broken transfer leaves no partial file behind
            release(name)
            raise
        served = response.headers.get("Content-Type") or "no Content-Type"
    if is_markup(Path(name)):  # a login or error page, whatever it was served as
        release(name)
        raise (DumpUrlError if account else _NotPublic)(
            f"{direct} sent an HTML page (served as {served}), not the data: a login or error "
            "page? Nothing was published; the table is as it was."
        )
    logger.info("Downloaded %s bytes from %s", f"{size:,}", direct)
    return name


def _too_slow(direct: str, limits: _Limits, size: int = 0) -> DumpUrlError:
    return DumpUrlError(
        f"{direct} did not finish downloading within timeout_s={limits.timeout_s:g} "
        f"({size:,} bytes arrived); nothing was published. Raise timeout_s if the server is "
        "that slow."
    )


def _expected(response: object) -> str:
    length = getattr(response, "headers", {}).get("Content-Length")
    return f" (the server announced {int(length):,} bytes)" if length else ""


# How an HTML or XML document starts (after a BOM and blank space), in any letter case.
_MARKUP = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html|head|body|\?xml|!--)", re.I)


def is_markup(path: Path) -> bool:
    """Whether a downloaded file is an HTML (or XML) page rather than data."""
    with path.open("rb") as file:
        head = file.read(1024)
    return (
        bool(_MARKUP.match(head)) or b"<html" in head.lower()[:2048] and head.lstrip()[:1] == b"<"
    )


@task(trigger=always_run)
def remove_download(path: object) -> None:
    """Delete a file download or to_parquet wrote, whatever happened after it (runs even
    on failure).

    Args:
        path: The file's path (or a Converted file); anything else (the task that makes it
            failed) is ignored.
    """
    path = path.get("path") if isinstance(path, dict) else path
    if isinstance(path, str) and Path(path).name.startswith(TEMP_PREFIX):
        release(path)


def _detect(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    head = path.open("rb").read(4)
    return "excel" if head in (_XLSX, _XLS) else "csv"


def _sniffed(file: Path, encoding: str) -> str:
    """The separator a CSV's first lines show (',' when they show none), logged."""
    import codecs

    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    except LookupError:
        raise DumpUrlError(f"encoding={encoding!r} is not an encoding Python knows.") from None
    with file.open("rb") as start:
        sample = decoder.decode(start.read(SAMPLE_BYTES))
    separator = sniff_separator(sample) or ","
    prefect.context.get("logger").info(
        "Separator: %s (read from the file; pass separator= to set it)", shown(separator)
    )
    return separator


@task
def to_parquet(
    path: str,
    format: str = "auto",
    separator: str | None = None,
    encoding: str = "utf-8",
    sheet: str | int = 0,
    source: str | None = None,
    range: str | None = None,
    header_row: int | None = None,
) -> Converted:
    """Convert a downloaded CSV or Excel file to one Parquet file, every column as text and
    named in snake_case. A CSV streams through (memory stays bounded, whatever its size).

    Args:
        path: Local file (from download).
        format: "auto" (by the file's first bytes), "csv" or "excel".
        separator: CSV field separator (one character); by default read from the file
            (, ; tab or |) and logged.
        encoding: CSV text encoding (any Python knows).
        sheet: Excel sheet name or index.
        range: Excel cells to read, e.g. "A2:I1000" (its first row is the header).
        header_row: The Excel header's row number (from 1), when title rows sit above it.
        source: The URL the file came from: errors name it, not the temporary file.

    Returns:
        The Parquet file (a temporary file: remove_download deletes it), its rows and columns.

    Raises:
        DumpUrlError: Unknown format or encoding, a file with no header row, a CSV that does
            not parse with these settings, or column names that collide in snake_case.
    """
    if format not in FORMATS:
        raise DumpUrlError(f"format={format!r} must be one of {', '.join(FORMATS)}.")
    file = Path(path)
    kind = _detect(file, format)
    name = str(scratch_file(TEMP_PREFIX, ".parquet"))
    try:
        if kind == "excel":
            converted = excel_to_parquet(file, Path(name), sheet, range, header_row)
        else:
            if range or header_row is not None:
                raise DumpUrlError(
                    f"range= and header_row= read Excel sheets and Google Sheets; {file} is "
                    "a CSV (format='csv' or read as one): remove them."
                )
            if separator is None:
                separator = _sniffed(file, encoding)
            converted = csv_to_parquet(file, Path(name), separator, encoding)
    except DumpUrlError as error:
        release(name)
        if source is None:
            raise
        # The download's temporary name means nothing to the user; the URL does.
        text = str(error).replace(str(file), source).replace(file.name, source)
        raise DumpUrlError(text) from None
    except BaseException:
        release(name)
        raise
    prefect.context.get("logger").info(
        "Read %s rows x %s columns (%s) into %s",
        converted["rows"],
        len(converted["columns"]),
        kind,
        name,
    )
    return converted
