"""Keep secrets out of logs, errors and alerts: every registered value is replaced by ***."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
import sys
from collections.abc import Iterator
from typing import TextIO
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


def userinfo_views(url: str) -> dict[str, str | None]:
    """Where each parser a connection URL meets ends its user info (user[:password]), as
    written, or None when that parser finds none: urlsplit and the WHATWG rules of the Rust
    `url` crate (connectorx, the MySQL drivers) end the authority at the first '/', '?' or '#'
    and split it at its last '@'; libpq stops at the first '@' or '/'; SQLAlchemy's make_url
    takes a user without ':' or '/' and a password running to the first '@'."""
    rest = _after_scheme(url)
    ends = [i for i in (rest.find(c) for c in "/?#") if i >= 0]
    authority = rest[: min(ends, default=len(rest))]
    split = authority.rpartition("@")[0] if "@" in authority else None
    libpq_end = next((i for i, c in enumerate(rest) if c in "@/"), len(rest))
    libpq = rest[:libpq_end] if rest[libpq_end : libpq_end + 1] == "@" else None
    sqlalchemy = re.match(r"([^:/]*(?::[^@]*)?)@", rest)
    return {
        "urlsplit": split,
        "WHATWG (connectorx, MySQL)": split,
        "libpq": libpq,
        "SQLAlchemy": sqlalchemy.group(1) if sqlalchemy else None,
    }


def ambiguous_userinfo(url: str) -> str | None:
    """The unencoded characters on which the parsers of userinfo_views disagree about where
    a URL's user info (and so its password) ends, e.g. "'/'"; None when they all agree.

    The disputed text runs from the shortest reading's end to the longest's; the '@' that
    ends the longest reading is a separator, named only when nothing else is disputed."""
    views = userinfo_views(url)
    if len(set(views.values())) == 1:
        return None
    lengths = [len(v) if v is not None else 0 for v in views.values()]
    disputed = _after_scheme(url)[min(lengths) : max(lengths)]
    chars = [c for c in "@/?#" if c in disputed] or ["@"]
    return ", ".join(repr(c) for c in chars)


def _after_scheme(url: str) -> str:
    return url.split("://", 1)[1] if "://" in url else url


def userinfo_fragments(url: str) -> set[str]:
    """Every piece a parser could take for the password of an ambiguous URL: all of what
    lies between the scheme and the last '@', and its parts around '@', '/', '?', '#', ':'."""
    userinfo = _after_scheme(url).rpartition("@")[0]
    password = userinfo.split(":", 1)[1] if ":" in userinfo else userinfo
    pieces = {password, *re.split(r"[@/?#:]", password)}
    return {p for piece in pieces for p in (piece, unquote(piece)) if piece}


# Parameter names whose value is a credential (a name like `token_url` is not).
_CREDENTIAL_NAME = re.compile(
    r"(^|_)(password|passwd|pwd|secret|token|api_?key|access_?key|private_?key|credentials?)$",
    re.I,
)


def is_credential(name: str, value: object) -> bool:
    """Whether a parameter's value is a credential: a non-empty value of a parameter named
    like one (`password`, `api_key`, `token`), or text holding a URL with a password or a
    credential query parameter, at any depth of a list or mapping."""
    if isinstance(value, dict):
        return any(is_credential(str(k), v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(is_credential(name, v) for v in value)
    if value in (None, "") or isinstance(value, bool):
        return False
    if _CREDENTIAL_NAME.search(name):
        return True
    text = str(value)
    return "://" in text and (
        mask_credentials(text) != text
        or any(secrets_in_url(word) for word in text.split() if "://" in word)
    )


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


def mask_credentials(url: str) -> str:
    """A URL fit to print: its password (or a user alone, often a token) and credential query
    parameters replaced by ***; when parsers disagree on where the user info ends, all but the
    scheme."""
    if "://" not in url:
        return url
    if ambiguous_userinfo(url):
        return f"{url.split('://', 1)[0]}://{MASK}"
    masked = mask_url(url)
    userinfo, at, host = urlsplit(masked).netloc.rpartition("@")
    if at and ":" not in userinfo:
        masked = masked.replace(f"{userinfo}@{host}", f"{MASK}@{host}", 1)
    return masked


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
    _mask_state_messages()


def _mask_state_messages() -> None:
    """Redact every Prefect state's message as the state is made: the runners report it to
    the server (a failed task's message holds its exception's text) and print it locally."""
    from prefect.engine.state import State

    init = State.__init__
    if getattr(init, "_redacting", False):
        return

    @functools.wraps(init)
    def redacting_init(self: State, message: str | None = None, *args, **kwargs) -> None:
        init(self, redact(message) if isinstance(message, str) else message, *args, **kwargs)  # type: ignore[arg-type]

    redacting_init._redacting = True  # type: ignore[attr-defined]
    State.__init__ = redacting_init  # type: ignore[method-assign]


class RedactingStream(io.TextIOBase):
    """A text stream that writes each whole line to `stream` with every secret masked (a
    secret split over two writes is still whole when its line is)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click probes text streams with bytes
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if lines:
            self._stream.write("\n".join(redact(line) for line in lines) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(redact(self._pending))
            self._pending = ""
        self._stream.flush()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._stream.errors

    def isatty(self) -> bool:
        return self._stream.isatty()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._stream.fileno()


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """Within it, everything written to sys.stdout and sys.stderr has its secrets masked."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(out), RedactingStream(err)  # type: ignore[assignment]
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = out, err
