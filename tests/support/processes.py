"""Helpers for the servers tests start as processes: free ports, stopping cleanly."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen, timeout_s: float = 10) -> None:
    """Terminate, then kill if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_and_wait(
    command: list[str], env: dict[str, str], log: Path, ready_url: str, timeout_s: float
) -> subprocess.Popen:
    """Start `command` (output to `log`) and wait until `ready_url` answers 2xx.

    Raises:
        RuntimeError: It exited or did not answer within timeout_s (the log's tail is in the
            message); the process is killed.
    """
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(ready_url):
                return process
        except OSError:
            time.sleep(0.1)
    stop_process(process, timeout_s=1)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{Path(command[0]).name} did not start ({ready_url}):\n{tail}")
