"""Turn share links into direct download links."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from pipelines.errors import DumpUrlError

_DRIVE_FILE = re.compile(r"^/file/d/([\w-]+)")
_SHEET = re.compile(r"^/spreadsheets/d/([\w-]+)")


def download_url(url: str, sheet_format: str = "csv") -> str:
    """The direct download URL of a link.

    - Google Drive share links (drive.google.com/file/d/ID/view, open?id=ID) become
      drive.google.com/uc?export=download&id=ID.
    - Google Sheets links (docs.google.com/spreadsheets/d/ID/edit#gid=N) become their export
      link in sheet_format ("csv" or "xlsx"), keeping the sheet (gid).
    - Anything else is returned as it is.

    Raises:
        DumpUrlError: Not an http(s) URL, or an unknown sheet_format.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DumpUrlError(f"url={url!r} is not an http(s) URL.")
    if sheet_format not in ("csv", "xlsx"):
        raise DumpUrlError(f"sheet_format={sheet_format!r} must be csv or xlsx.")
    host = parts.netloc.lower()
    if host == "drive.google.com":
        match = _DRIVE_FILE.match(parts.path)
        file_id = match.group(1) if match else parse_qs(parts.query).get("id", [None])[0]
        if file_id:
            return f"https://drive.google.com/uc?export=download&id={file_id}"
    if host == "docs.google.com":
        match = _SHEET.match(parts.path)
        if match and "/export" not in parts.path:
            gid = parse_qs(parts.fragment).get("gid") or parse_qs(parts.query).get("gid")
            suffix = f"&gid={gid[0]}" if gid else ""
            return (
                f"https://docs.google.com/spreadsheets/d/{match.group(1)}/export"
                f"?format={sheet_format}{suffix}"
            )
    return url
