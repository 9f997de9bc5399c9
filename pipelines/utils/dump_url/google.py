"""The office's service account, for Google Sheets and Drive files not shared publicly."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.errors import DumpUrlError

# Read-only access to the files shared with the account, and nothing else.
READ_SCOPE = "https://www.googleapis.com/auth/drive.readonly"


@dataclass(frozen=True)
class Account:
    """A service account's e-mail and a fresh OAuth access token."""

    email: str
    token: str

    def __repr__(self) -> str:  # the token never reaches a log or a traceback
        return f"Account(email={self.email!r})"


def service_account(key_path: str) -> Account:
    """Read a service-account key and exchange it for an access token.

    Args:
        key_path: The JSON key (GOOGLE_APPLICATION_CREDENTIALS).

    Raises:
        DumpUrlError: The file is missing or not a service-account key, or Google refused
            the key (named by the account's e-mail, never by its contents).
    """
    try:
        from google.auth.exceptions import RefreshError
        from google.auth.transport.requests import Request
        from google.oauth2 import service_account as accounts
    except ImportError as error:  # pragma: no cover - google-auth comes with google-cloud
        raise DumpUrlError(
            f"reading a private Google file needs google-auth ({error}): pip install google-auth"
        ) from None
    try:
        credentials = accounts.Credentials.from_service_account_file(key_path, scopes=[READ_SCOPE])
    except FileNotFoundError:
        raise DumpUrlError(
            f"GOOGLE_APPLICATION_CREDENTIALS={key_path}: no such file; point it at the "
            "service account's JSON key."
        ) from None
    except (OSError, ValueError, KeyError):
        raise DumpUrlError(
            f"GOOGLE_APPLICATION_CREDENTIALS={key_path} is not a service account's JSON key "
            "(a key made under IAM > Service accounts > Keys has type 'service_account')."
        ) from None
    try:
        credentials.refresh(Request())
    except RefreshError as error:
        reason = str(error.args[0] if error.args else "no reason given").rstrip(".")
        raise DumpUrlError(
            f"Google refused the key of the service account {credentials.service_account_email} "
            f"(GOOGLE_APPLICATION_CREDENTIALS={key_path}): {reason}. A deleted or disabled "
            "key needs a new one."
        ) from None
    return Account(credentials.service_account_email, credentials.token)
