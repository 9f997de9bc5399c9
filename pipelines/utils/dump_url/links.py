"""Turn share links into direct download links, public or through the Drive API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from pipelines.errors import DumpUrlError

_DRIVE_FILE = re.compile(r"^/file/d/([\w-]+)")
_SHEET = re.compile(r"^/spreadsheets/d/([\w-]+)")
SHEET_FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class GoogleFile:
    """A file a Google Sheets or Drive link points at."""

    kind: str  # "sheet" or "drive"
    file_id: str
    gid: str | None = None  # the tab a Sheets link shows


def google_file(url: str) -> GoogleFile | None:
    """The Sheets or Drive file a share link names, or None for any other URL."""
    parts = urlsplit(url)
    host = parts.netloc.lower()
    if host == "drive.google.com":
        match = _DRIVE_FILE.match(parts.path)
        file_id = match.group(1) if match else parse_qs(parts.query).get("id", [None])[0]
        return GoogleFile("drive", file_id) if file_id else None
    if host == "docs.google.com":
        match = _SHEET.match(parts.path)
        if match:
            gid = parse_qs(parts.fragment).get("gid") or parse_qs(parts.query).get("gid")
            return GoogleFile("sheet", match.group(1), gid[0] if gid else None)
    return None


def download_url(url: str, sheet_format: str = "csv", endpoint: str | None = None) -> str:
    """The direct download URL of a link, as anyone with the link may fetch it.

    - Google Drive share links (drive.google.com/file/d/ID/view, open?id=ID) become
      drive.google.com/uc?export=download&id=ID.
    - Google Sheets links (docs.google.com/spreadsheets/d/ID/edit#gid=N) become their export
      link in sheet_format ("csv": the link's tab; "xlsx": the whole workbook).
    - Anything else is returned as it is.

    Args:
        url: The link.
        sheet_format: "csv" or "xlsx", for a Sheets link.
        endpoint: Where Google's hosts are reached instead (a local fake in tests).

    Raises:
        DumpUrlError: Not an http(s) URL, or an unknown sheet_format.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DumpUrlError(f"url={url!r} is not an http(s) URL.")
    if sheet_format not in SHEET_FORMATS:
        raise DumpUrlError(f"sheet_format={sheet_format!r} must be csv or xlsx.")
    found = google_file(url)
    if found is None:
        return url
    if found.kind == "drive":
        return f"{endpoint or 'https://drive.google.com'}/uc?export=download&id={found.file_id}"
    if "/export" in parts.path:  # already an export link: keep its own format and tab
        return url if endpoint is None else f"{endpoint}{parts.path}?{parts.query}"
    return _sheet_export(found, sheet_format, endpoint or "https://docs.google.com")


def private_url(found: GoogleFile, sheet_format: str, endpoint: str | None = None) -> str:
    """Where a service account's bearer token reads the file: the Sheets export link (it
    takes OAuth tokens) or the Drive API's media download."""
    if found.kind == "sheet":
        return _sheet_export(found, sheet_format, endpoint or "https://docs.google.com")
    api = endpoint or "https://www.googleapis.com"
    return f"{api}/drive/v3/files/{quote(found.file_id)}?alt=media&supportsAllDrives=true"


def _sheet_export(found: GoogleFile, sheet_format: str, base: str) -> str:
    # The whole workbook as xlsx (a tab is then chosen by name); one tab as csv.
    tab = f"&gid={found.gid}" if found.gid and sheet_format == "csv" else ""
    return f"{base}/spreadsheets/d/{found.file_id}/export?format={sheet_format}{tab}"
