"""Keep secrets out of logs, errors and alerts: every registered value is replaced by ***."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"
# Query parameters that carry credentials in database and webhook URLs.
_CREDENTIAL = re.compile(r"pass|pwd|secret|token|key|credential|auth|signature", re.I)
# user:password@ in any URL-looking text, when the URL was never registered.
_USERINFO = re.compile(r"(//[^/\s:@]*:)([^\s/]*)@")
# Replaced whole, never mutated: readers take a snapshot without a lock, and no lock object sits
# in module state (register pickles flow code by value, and a lock does not pickle).
_secrets: frozenset[str] = frozenset()
_installed = False


def secrets_in_url(url: str) -> set[str]:
    """The secret parts of a URL: the password (with or without a user, '@' inside allowed)
    and every query parameter named like a credential, both as written and decoded."""
    parts = urlsplit(url)
    found = set()
    userinfo, at, _host = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        found.add(userinfo.split(":", 1)[1])
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if _CREDENTIAL.search(name):
            found.add(value)
    for raw in [p for p in parts.query.split("&") if "=" in p]:
        name, value = raw.split("=", 1)
        if _CREDENTIAL.search(unquote(name)):
            found.add(value)
    return {s for v in found for s in (v, unquote(v)) if s}


def ambiguous_userinfo(url: str) -> str | None:
    """The character that makes a URL's user info end in different places for different
    parsers, if any: a second '@' (drivers stop at the first, urlsplit at the last), or a '/',
    '?' or '#' inside the password (urlsplit ends the host there). None when unambiguous."""
    rest = _after_scheme(url)
    ends = [i for i in (rest.find(c) for c in "/?#") if i >= 0]
    end = min(ends, default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if authority.count("@") > 1:
        return "@"
    # "user:pa" then "/ss@host": what follows the ':' is no port, and the '@' comes later.
    after_colon = authority.rpartition(":")[2] if ":" in authority else ""
    if "@" not in authority and after_colon and not after_colon.isdigit() and "@" in tail:
        return rest[end]
    return None


def _after_scheme(url: str) -> str:
    return url.split("://", 1)[1] if "://" in url else url


def userinfo_fragments(url: str) -> set[str]:
    """Every piece a parser could take for the password of an ambiguous URL: all of what
    lies between the scheme and the last '@', and its parts around '@', '/', '?', '#', ':'."""
    userinfo = _after_scheme(url).rpartition("@")[0]
    password = userinfo.split(":", 1)[1] if ":" in userinfo else userinfo
    pieces = {password, *re.split(r"[@/?#:]", password)}
    return {p for piece in pieces for p in (piece, unquote(piece)) if piece}


def register_secret(*values: str | None) -> None:
    """Mask these values wherever they appear in any log record from now on, in this process."""
    global _secrets
    new = {v for v in values if v and len(v) >= 3}  # shorter strings would mask ordinary text
    if not new:
        return
    _secrets = _secrets | new
    _install()


def register_url(url: str) -> None:
    """Register the secret parts of a URL (see secrets_in_url)."""
    register_secret(*secrets_in_url(url))


def redact(text: str) -> str:
    """text with every registered secret, and any URL's password, replaced by ***."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _USERINFO.sub(rf"\g<1>{MASK}@", text)


def mask_url(url: str) -> str:
    """A URL with its password and credential query parameters replaced by ***."""
    for secret in sorted(secrets_in_url(url), key=len, reverse=True):
        url = url.replace(secret, MASK)
    return _USERINFO.sub(rf"\g<1>{MASK}@", url)


def origin(url: str) -> str:
    """Only scheme and host of a URL: what may be logged of a webhook whose path is a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}"


def _install() -> None:
    """Redact at record creation, so every logger and handler (Prefect's, pytest's, one added
    later) only ever sees masked text, tracebacks included."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def redacting(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the logging module's error to report
            return record
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(formatter.formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(redacting)
