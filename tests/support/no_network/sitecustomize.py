"""Loaded at start-up by every interpreter whose path holds this folder (PYTHONPATH): each
host name looked up is appended to $TEST_HOST_LOOKUPS, and any host but this machine's
loopback fails as it would with no network, so a test sees every service a command reaches for.
"""

import os
import socket

_LOG = os.environ.get("TEST_HOST_LOOKUPS")
_LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "::"}
_getaddrinfo = socket.getaddrinfo


def _recording_getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{name}\n")
    if name is not None and name not in _LOOPBACK:
        raise socket.gaierror(socket.EAI_NONAME, f"no network in this test (looked up {name})")
    return _getaddrinfo(host, *args, **kwargs)


if _LOG:
    socket.getaddrinfo = _recording_getaddrinfo

if os.environ.get("TEST_NO_BACKOFF"):  # Prefect's client waits a minute on a refused port

    def _no_sleep(self, response=None):
        return None

    from urllib3.util.retry import Retry

    Retry.sleep = _no_sleep
