"""Where secrets are read: settings (local) or Vault's KV v2 engine through hvac."""

from __future__ import annotations

import json
import logging
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from pipelines.errors import (
    MissingLocalSecretError,
    SecretAccessDeniedError,
    SecretNotFoundError,
    SecretStoreUnreachableError,
)
from pipelines.settings import CHOICES, Settings
from pipelines.utils.redaction import redact

_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")


def check_path(path: str) -> str:
    """A secret path: letters, digits and _ . / -, e.g. 'sme/postgres'.

    Raises:
        ValueError: Anything else (an empty path, '..', a URL pasted by mistake).
    """
    if not isinstance(path, str) or not _PATH.match(path) or ".." in path.split("/"):
        raise ValueError(
            f"secret path {redact(str(path))!r} is not a path: use letters, digits and "
            "_ . / -, e.g. 'sme/postgres' (a secret's value never goes in a parameter)."
        )
    return path


def setting_for(path: str) -> str:
    """The setting that holds a secret locally: PIPELINES_SECRET_<PATH>, e.g.
    sme/postgres -> PIPELINES_SECRET_SME_POSTGRES."""
    return "PIPELINES_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", path).upper()


class SecretStore(ABC):
    """Secrets by path; each a mapping of keys to string values."""

    @abstractmethod
    def read(self, path: str) -> dict[str, str]:
        """Every key of the secret at path.

        Raises:
            SecretNotFoundError, SecretAccessDeniedError, SecretStoreUnreachableError.
        """


class SettingsStore(SecretStore):
    """Local: PIPELINES_SECRET_<PATH> in the environment or .env, a JSON object of keys
    ('{"user": "u", "password": "p"}') or one plain value (read as key 'value')."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def read(self, path: str) -> dict[str, str]:
        name = setting_for(path)
        raw = self.settings.lookup(name)
        if not raw:
            raise MissingLocalSecretError(
                f"No secret {path!r}: set {name} in .env (a JSON object of keys, or one "
                "value), or set PIPELINES_SECRETS_BACKEND=vault.",
                name,
            )
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return {str(k): str(v) for k, v in parsed.items()}
        return {"value": raw}


class VaultStore(SecretStore):
    """Vault (or OpenBao) KV v2 at PIPELINES_VAULT_MOUNT/PIPELINES_VAULT_PREFIX<path>.

    Logs in with a token, AppRole or the Kubernetes auth method (a pod's service-account
    JWT and a role). When the store refuses a read because the login expired mid-run, it
    logs in again once and retries (AppRole, Kubernetes); a token given as is cannot be
    renewed once expired, so that read fails saying so.
    """

    def __init__(self, settings: Settings, logger: logging.Logger | None = None) -> None:
        try:
            import hvac
        except ImportError as error:
            raise ImportError(
                "PIPELINES_SECRETS_BACKEND=vault needs hvac: pip install -e '.[vault]'."
            ) from error
        self.address = settings.require("PIPELINES_VAULT_ADDR")
        self.method = settings.require("PIPELINES_VAULT_AUTH")
        if self.method not in CHOICES["PIPELINES_VAULT_AUTH"]:
            raise ValueError(
                f"PIPELINES_VAULT_AUTH={self.method!r} must be one of "
                f"{', '.join(CHOICES['PIPELINES_VAULT_AUTH'])}."
            )
        self.settings = settings
        self.mount = settings.require("PIPELINES_VAULT_MOUNT")
        self.prefix = settings.get("PIPELINES_VAULT_PREFIX") or ""
        self.logger = logger or logging.getLogger("pipelines.secrets")
        self.client: Any = hvac.Client(url=self.address, timeout=10)
        self._logged_in = False

    def login(self) -> None:
        """Authenticate with the configured method.

        Raises:
            SecretAccessDeniedError: The store refused the credentials.
            SecretStoreUnreachableError: The store did not answer.
        """
        import hvac.exceptions
        import requests

        try:
            if self.method == "token":
                self.client.token = self.settings.require("PIPELINES_VAULT_TOKEN")
            elif self.method == "approle":
                self.client.auth.approle.login(
                    role_id=self.settings.require("PIPELINES_VAULT_ROLE_ID"),
                    secret_id=self.settings.require("PIPELINES_VAULT_SECRET_ID"),
                )
            else:
                jwt = Path(self.settings.require("PIPELINES_VAULT_K8S_JWT_PATH")).read_text()
                self.client.auth.kubernetes.login(
                    role=self.settings.require("PIPELINES_VAULT_K8S_ROLE"),
                    jwt=jwt.strip(),
                    mount_point=self.settings.require("PIPELINES_VAULT_K8S_MOUNT"),
                )
        except (hvac.exceptions.Forbidden, hvac.exceptions.InvalidRequest) as error:
            raise SecretAccessDeniedError(
                f"Vault at {self.address} refused the {self.method} login: {error.errors}"
            ) from None
        except requests.RequestException as error:
            raise SecretStoreUnreachableError(
                f"Vault at {self.address} did not answer the {self.method} login "
                f"({type(error).__name__})."
            ) from None
        self._logged_in = True

    def _read_once(self, path: str) -> dict[str, str]:
        if not self._logged_in:
            self.login()
        answer = self.client.secrets.kv.v2.read_secret_version(
            path=f"{self.prefix}{path}", mount_point=self.mount, raise_on_deleted_version=True
        )
        return {str(k): str(v) for k, v in answer["data"]["data"].items()}

    def read(self, path: str) -> dict[str, str]:
        import hvac.exceptions
        import requests

        where = f"{self.mount}/{self.prefix}{path} at {self.address}"
        try:
            try:
                return self._read_once(path)
            except hvac.exceptions.Forbidden:
                if self.method == "token" or not self._token_expired():
                    raise
                self.logger.info("Vault login expired; logging in again (%s)", self.method)
                self.login()
                return self._read_once(path)
        except hvac.exceptions.InvalidPath:
            raise SecretNotFoundError(f"No secret {path!r} ({where}).") from None
        except hvac.exceptions.Forbidden:
            reason = (
                "the token has expired (a token given as PIPELINES_VAULT_TOKEN cannot be "
                "renewed; use approle or kubernetes for long runs)"
                if self._token_expired()
                else "no policy of this login allows reading it"
            )
            raise SecretAccessDeniedError(
                f"Reading secret {path!r} ({where}) was denied: {reason}."
            ) from None
        except requests.RequestException as error:
            raise SecretStoreUnreachableError(
                f"Could not read secret {path!r}: {where} did not answer ({type(error).__name__})."
            ) from None

    def _token_expired(self) -> bool:
        """Whether the current token is no longer valid (its own lookup is refused)."""
        import hvac.exceptions

        try:
            self.client.auth.token.lookup_self()
        except hvac.exceptions.Forbidden:
            return True
        except Exception:  # unreachable or other: not evidence of expiry
            return False
        return False
