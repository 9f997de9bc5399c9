"""A local fake of Google's token endpoint and of the Sheets and Drive export endpoints.

It holds the contracts dump_url relies on: the token endpoint takes a JWT signed by the
service account's key (verified with its public key, as Google does) and answers with an
access token; a file not shared publicly sends an anonymous download to a login page (200,
HTML); with a bearer token, the file is served only when shared with that token's account
(the Sheets export answers 403 otherwise, the Drive API 404), and an unknown token gets 401.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ACCOUNT = "pipelines-reader@city-data.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/drive.readonly"
# The audience google-auth signs into the JWT, wherever the key's token_uri points.
AUDIENCE = "https://oauth2.googleapis.com/token"


@dataclass
class StoredFile:
    """One file: its tabs as CSV (by gid) and the workbook as xlsx, or a Drive file's bytes."""

    public: bool = False
    shared_with: set[str] = field(default_factory=set)
    tabs: dict[str, bytes] = field(default_factory=dict)  # gid -> CSV
    workbook: bytes = b""
    media: bytes = b""


@dataclass
class FakeGoogle:
    url: str
    files: dict[str, StoredFile]
    tokens: dict[str, str]  # access token -> account e-mail
    requests: list[tuple[str, str]]  # (path, the account of its bearer token or "")


def service_account_key(path: Path, token_uri: str, email: str = ACCOUNT) -> str:
    """Write a service account's JSON key (a fresh RSA key) to path; return its public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "city-data",
                "private_key_id": secrets.token_hex(8),
                "private_key": private,
                "client_email": email,
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def start(public_keys: dict[str, str]) -> tuple[ThreadingHTTPServer, FakeGoogle]:
    """Serve on a free loopback port; public_keys maps each known account to its public key
    (fill it after start: a key names the token endpoint's address)."""
    fake = FakeGoogle("", {}, {}, [])

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            form = parse_qs(self.rfile.read(length).decode())
            if self.path != "/token" or form.get("grant_type") != [
                "urn:ietf:params:oauth:grant-type:jwt-bearer"
            ]:
                return self._send(400, b'{"error": "unsupported_grant_type"}', "application/json")
            from google.auth import jwt

            assertion = form["assertion"][0]
            email = jwt.decode(assertion, verify=False).get("iss", "")
            try:
                claims = jwt.decode(assertion, certs=public_keys.get(email, ""), audience=AUDIENCE)
            except Exception:  # any bad signature, audience or expiry: Google's answer
                body = b'{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}'
                return self._send(400, body, "application/json")
            if SCOPE not in claims.get("scope", "").split():
                return self._send(400, b'{"error": "invalid_scope"}', "application/json")
            token = secrets.token_urlsafe(24)
            fake.tokens[token] = email
            answer = {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
            return self._send(200, json.dumps(answer).encode(), "application/json")

        def do_GET(self):
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            bearer = self.headers.get("Authorization", "")
            token = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None
            account = fake.tokens.get(token or "", "")
            fake.requests.append((parts.path, account))
            if token is not None and not account:
                return self._send(401, b'{"error": "invalid_token"}', "application/json")
            if parts.path == "/ServiceLogin":
                return self._send(200, b"<!DOCTYPE html><html>Sign in</html>", "text/html")
            pieces = parts.path.strip("/").split("/")
            if pieces[:2] == ["spreadsheets", "d"] and pieces[3:] == ["export"]:
                stored = fake.files.get(pieces[2])
                fmt = query.get("format", ["csv"])[0]
                if fmt == "xlsx":
                    body, kind = (stored.workbook if stored else b""), "application/vnd.ms-excel"
                else:
                    gid = query.get("gid", ["0"])[0]
                    body, kind = (stored.tabs.get(gid, b"") if stored else b""), "text/csv"
                return self._serve(stored, account, body, kind, refused=403)
            if parts.path == "/uc":
                stored = fake.files.get(query.get("id", [""])[0])
                return self._serve(stored, "", stored.media if stored else b"", "text/csv", 404)
            if pieces[:3] == ["drive", "v3", "files"] and query.get("alt") == ["media"]:
                if not account:
                    return self._send(401, b'{"error": "login required"}', "application/json")
                stored = fake.files.get(pieces[3])
                return self._serve(stored, account, stored.media if stored else b"", "x", 404)
            return self._send(404, b"not found", "text/plain")

        def _serve(self, stored, account, body, kind, refused) -> None:
            if stored is None:
                return self._send(404, b"<html>not found</html>", "text/html")
            if stored.public or account in stored.shared_with:
                return self._send(200, body, kind)
            if not account:  # Google sends an anonymous download to its sign-in page
                self.send_response(302)
                self.send_header("Location", f"{fake.url}/ServiceLogin")
                self.end_headers()
                return None
            return self._send(refused, b'{"error": "forbidden"}', "application/json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, fake
