"""Database connections by name: URLs live in settings, never in parameters or logs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from pipelines.errors import DumpError, MissingSettingError, SettingsError
from pipelines.settings import Settings
from pipelines.utils.context import current_settings
from pipelines.utils.redaction import (
    ambiguous_userinfo,
    mask_url,
    redact,
    register_secret,
    register_url,
    userinfo_fragments,
)
from pipelines.utils.secrets import SECRET_PREFIX, get_secret

DIALECTS = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "mssql",
    "oracle": "oracle",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Connection:
    """A named database connection; str() never shows the password."""

    name: str
    url: str
    dialect: str

    def __str__(self) -> str:
        return f"{self.name} ({mask_url(self.url)})"

    __repr__ = __str__


def mask(text: str) -> str:
    """text with every registered secret, and the password of any URL in it, masked."""
    return redact(text)


def setting_name(name: str) -> str:
    """The setting that holds a connection's URL: PIPELINES_DB_<NAME>."""
    return f"PIPELINES_DB_{name.upper()}"


# The keys of a structured database secret (when it holds no `url`).
SECRET_KEYS = ("dialect", "host", "port", "user", "password", "database")


def url_from_secret(reference: str, setting: str, settings: Settings) -> str:
    """The URL a secret holds: its `url` key (or the key after '#'), else one built from
    dialect, host, port, user, password and database.

    Raises:
        SettingsError: The secret has neither a url nor every key of a structured one.
    """
    path, _, key = reference.partition("#")
    if key:
        return str(get_secret(path, key, settings))
    values = get_secret(path, None, settings)
    assert isinstance(values, dict)
    if "url" in values:
        return values["url"]
    missing = [k for k in SECRET_KEYS if not values.get(k)]
    if missing:
        raise SettingsError(
            f"{setting} names secret {path!r}, which has no 'url' and lacks "
            f"{', '.join(missing)} (a database secret holds url, or {', '.join(SECRET_KEYS)})."
        )
    credentials = f"{quote(values['user'], safe='')}:{quote(values['password'], safe='')}"
    address = f"{values['host']}:{values['port']}"
    return f"{values['dialect']}://{credentials}@{address}/{quote(values['database'], safe='')}"


def get_connection(name: str, settings: Settings | None = None) -> Connection:
    """Resolve a connection name to its URL from settings.

    Args:
        name: Lowercase name, e.g. "sme_postgres"; its URL is in PIPELINES_DB_SME_POSTGRES.
        settings: Settings to read; default: the environment and .env.

    Returns:
        The connection.

    Raises:
        DumpError: The name is not snake_case (it may be a URL with a password in it).
        SettingsError: The setting is missing or its scheme is not a supported database.
    """
    if not _NAME.match(name or ""):
        raise DumpError(
            f"connection must be the snake_case name of a setting, not {mask(name)!r}; "
            f"put the URL in {setting_name('my_db')} and pass connection='my_db'."
        )
    settings = settings or current_settings()
    key = setting_name(name)
    url = settings.lookup(key)
    if not url:
        raise MissingSettingError(
            f"Missing setting {key}: the URL of database connection {name!r}, "
            f"e.g. postgresql://user:password@host:5432/db or mysql://user:password@host:3306/db, "
            "or secret:<path> to read it from the secrets store at run time.",
            key,
        )
    if url.startswith(SECRET_PREFIX):
        url = url_from_secret(url[len(SECRET_PREFIX) :], key, settings)
    # The whole value first: a parser's mistake about where the password ends cannot leak it.
    register_secret(url)
    unencoded = ambiguous_userinfo(url)
    if unencoded:  # refused before any driver reads it, and no piece of it may reach a log
        register_secret(*userinfo_fragments(url))
        raise SettingsError(
            f"{key}: this URL holds an unencoded {unencoded} where its user and password are "
            "read, so database drivers and this code disagree on where the password ends (and "
            "would show part of it as a host name). Percent-encode such characters in the "
            "user, password and query: '@' as %40, '/' as %2F, '?' as %3F, '#' as %23, e.g. "
            "postgresql://user:my%40Pw0rd@host:5432/db."
        )
    register_url(url)  # from here on, no log record can carry its password
    scheme = urlsplit(url).scheme.split("+")[0]
    if scheme not in DIALECTS:
        raise SettingsError(
            f"{key} has scheme {scheme!r}; supported: {', '.join(sorted(DIALECTS))}."
        )
    return Connection(name=name, url=url, dialect=DIALECTS[scheme])
