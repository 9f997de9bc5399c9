"""get_secret: one read per secret and run, retried when the store is unreachable, masked."""

from __future__ import annotations

import logging
import threading
from typing import Any

import prefect
from prefect import task

from pipelines.errors import SecretNotFoundError
from pipelines.settings import Settings
from pipelines.utils.context import current_settings
from pipelines.utils.redaction import register_secret
from pipelines.utils.retries import with_retries
from pipelines.utils.secrets.stores import SecretStore, SettingsStore, VaultStore, check_path

# A setting whose value is `secret:<path>[#key]` is read from the store at run time.
SECRET_PREFIX = "secret:"
RETRIES, RETRY_BASE_S = 3, 0.5
_cache: dict[tuple[Any, ...], dict[str, str]] = {}
_stores: dict[tuple[Any, ...], SecretStore] = {}
_lock = threading.Lock()


def store_from_settings(settings: Settings) -> SecretStore:
    """The store PIPELINES_SECRETS_BACKEND names (one per configuration and process)."""
    backend = settings.require("PIPELINES_SECRETS_BACKEND")
    if backend == "local":
        return SettingsStore(settings)
    if backend != "vault":
        raise ValueError(f"PIPELINES_SECRETS_BACKEND={backend!r} must be local or vault.")
    key = tuple(
        settings.lookup(name)
        for name in ("PIPELINES_VAULT_ADDR", "PIPELINES_VAULT_AUTH", "PIPELINES_VAULT_TOKEN",
                     "PIPELINES_VAULT_ROLE_ID", "PIPELINES_VAULT_MOUNT", "PIPELINES_VAULT_PREFIX")
    )  # fmt: skip
    with _lock:
        if key not in _stores:
            _stores[key] = VaultStore(settings)
        return _stores[key]


def clear_cache() -> None:
    """Forget every secret read in this process (tests; a new run reads them again anyway)."""
    with _lock:
        _cache.clear()


def get_secret(
    path: str, key: str | None = None, settings: Settings | None = None
) -> str | dict[str, str]:
    """Read a secret from the store of PIPELINES_SECRETS_BACKEND.

    Each path is read once per flow run; every value read is masked in all logs from then on.

    Args:
        path: The secret's path, e.g. 'sme/postgres'.
        key: One key of the secret; None returns every key.
        settings: Settings to read; default: the environment and .env.

    Returns:
        The key's value, or a mapping of every key to its value.

    Raises:
        ValueError: The path is not a path.
        SecretNotFoundError: No such secret, or no such key (named, with the keys there are).
        SecretAccessDeniedError: The store refused the read (policy, expired login).
        SecretStoreUnreachableError: The store did not answer, after retries.
    """
    check_path(path)
    settings = settings or current_settings()
    store = store_from_settings(settings)
    run = prefect.context.get("flow_run_id") or "no-run"
    cache_key = (run, id(store), path)
    with _lock:
        values = _cache.get(cache_key)
    if values is None:
        logger = prefect.context.get("logger") or logging.getLogger("pipelines.secrets")
        values = with_retries(lambda: store.read(path), logger, RETRIES, RETRY_BASE_S)
        register_secret(*values.values())  # before anything can log them
        with _lock:
            _cache[cache_key] = values
    if key is None:
        return dict(values)
    if key not in values:
        raise SecretNotFoundError(
            f"Secret {path!r} has no key {key!r}; its keys: {', '.join(sorted(values))}."
        )
    return values[key]


def resolve(
    value: str | None, settings: Settings | None = None, default_key: str = "url"
) -> str | None:
    """A setting's value, read from the store when it is `secret:<path>[#key]`.

    Without `#key`, a secret with one key gives that key's value; otherwise `default_key`.
    """
    if not value or not value.startswith(SECRET_PREFIX):
        return value
    path, _, key = value[len(SECRET_PREFIX) :].partition("#")
    if key:
        return str(get_secret(path, key, settings))
    values = get_secret(path, None, settings)
    assert isinstance(values, dict)
    if len(values) == 1:
        return next(iter(values.values()))
    return str(get_secret(path, default_key, settings))


@task(checkpoint=False)  # never stored as a task result: results go to the flows bucket
def get_secret_task(path: str, key: str | None = None) -> str | dict[str, str]:
    """Read a secret at run time (see get_secret); its value is never checkpointed.

    Args:
        path: The secret's path.
        key: One key; None returns every key.

    Returns:
        The value, or every key's value.

    Raises:
        SecretNotFoundError, SecretAccessDeniedError, SecretStoreUnreachableError.
    """
    return get_secret(path, key)
