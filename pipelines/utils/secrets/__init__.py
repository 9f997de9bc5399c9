"""Secrets read at run time: settings locally, Vault (KV v2, hvac) in dev/prod."""

from pipelines.utils.secrets.reading import (
    SECRET_PREFIX,
    clear_cache,
    get_secret,
    get_secret_task,
    resolve,
    store_from_settings,
)
from pipelines.utils.secrets.stores import SecretStore, SettingsStore, VaultStore, setting_for

__all__ = [
    "SECRET_PREFIX",
    "SecretStore",
    "SettingsStore",
    "VaultStore",
    "clear_cache",
    "get_secret",
    "get_secret_task",
    "resolve",
    "setting_for",
    "store_from_settings",
]
