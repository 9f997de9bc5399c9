"""Start bqemulator (an emulated BigQuery API) on free ports, reading gs:// from fake-gcs-server."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import free_port, start_and_wait, stop_process

REPO_ROOT = Path(__file__).resolve().parents[3]

# Its own virtualenv (make install): bqemulator needs newer web and gRPC libraries than the
# project's pins, and talks to us only over HTTP.
VENV = REPO_ROOT / ".venv-bqemulator"
PATCHED_SERVER = Path(__file__).with_name("patched_server.py")
# DuckDB loads these at start; without the files in $HOME it would download them.
EXTENSIONS = ("spatial", "avro")


def _site_packages() -> Path:
    (found,) = (VENV / "lib").glob("python3*/site-packages")
    return found


def _home_with_extensions(home: Path) -> None:
    """Copy the DuckDB extensions the emulator loads from their PyPI wheels into $HOME."""
    import re

    site = _site_packages()
    for name in EXTENSIONS:
        (shipped,) = (site / f"duckdb_extension_{name}").glob(
            f"extensions/*/{name}.duckdb_extension"
        )
        version = re.search(r"v\d+\.\d+\.\d+", str(shipped))
        assert version, shipped
        target = home / ".duckdb" / "extensions" / version.group(0) / "linux_amd64"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shipped, target / shipped.name)


@dataclass
class BigQueryEmulator:
    """A running emulator: its REST endpoint and the project requests default to."""

    endpoint: str
    project: str
    process: subprocess.Popen
    log: Path
    workdir: tempfile.TemporaryDirectory = field(repr=False)

    def client(self):
        """A google-cloud-bigquery client for it (anonymous, short retries)."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.endpoint),
        )

    def stop(self) -> None:
        stop_process(self.process)
        self.workdir.cleanup()


def available() -> str | None:
    """Why the emulator cannot start here, or None."""
    if not (VENV / "bin" / "python").exists():
        return f"the BigQuery emulator is not installed ({VENV.name}): run `make install`"
    return None


def start_bigquery_emulator(
    gcs_root: Path, project: str = "test", patched: bool = True
) -> BigQueryEmulator:
    """Start the emulator; gs://bucket/key resolves to gcs_root/bucket/key.

    Args:
        gcs_root: fake-gcs-server's filesystem root.
        project: The project requests default to.
        patched: With the fixes of patched_server.py (the canary tests also start one without).

    Raises:
        RuntimeError: It did not answer within 60 s (its log is in the message).
    """
    workdir = tempfile.TemporaryDirectory(prefix="bqemulator-")
    home = Path(workdir.name) / "home"
    _home_with_extensions(home)
    rest, grpc = free_port(), free_port()
    log = Path(workdir.name) / "emulator.log"
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "BQEMU_GCS_LOCAL_ROOT": str(gcs_root),
    }
    server = [str(PATCHED_SERVER)] if patched else ["-m", "bqemulator"]
    command = [
        str(VENV / "bin" / "python"), *server, "start",
        "--rest-port", str(rest), "--grpc-port", str(grpc),
        "--project", project, "--log-level", "warning",
    ]  # fmt: skip
    endpoint = f"http://127.0.0.1:{rest}"
    ready = f"{endpoint}/bigquery/v2/projects/{project}/datasets"
    try:
        process = start_and_wait(command, env, log, ready, 60)
    except RuntimeError:
        workdir.cleanup()
        raise
    return BigQueryEmulator(endpoint, project, process, log, workdir)
