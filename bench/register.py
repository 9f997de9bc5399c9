"""Affected-flow detection and idempotent `register --all` on a generated 500-project repo.

Detection is timed against the naive baseline measured in the same run: importing every flow
(what finding flows by import needs). Then `register --all` runs twice against fake-gcs-server
and the test suite's PrefectTestServer; the second run must upload nothing and create no
version.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generated_repo import REPO, generate


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=b@b", "-c", "user.name=bench", *args],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, result.stdout


def median(command: list[str], cwd: Path, runs: int) -> tuple[float, str]:
    results = [timed(command, cwd) for _ in range(runs)]
    return statistics.median(r[0] for r in results), results[-1][1]


def register_twice(root: Path) -> dict[str, int]:
    sys.path.insert(0, str(REPO))
    from google.cloud import storage

    from tests.support.gcs_emulator import start_gcs_emulator
    from tests.support.prefect_server import PrefectTestServer

    gcs = start_gcs_emulator()
    with PrefectTestServer() as server:
        server.add_project("main")
        storage.Client(project="bench").create_bucket("bench-flows")
        key = root / "sa.json"
        key.write_text("{}")
        env = {
            **os.environ,
            "GOOGLE_APPLICATION_CREDENTIALS": str(key),
            "PREFECT__BACKEND": "server",
            "PREFECT__SERVER__HOST": "http://127.0.0.1",
            "PREFECT__SERVER__PORT": str(server.port),
            "PIPELINES_FLOWS_BUCKET": "bench-flows",
            "PIPELINES_IMAGE_REPOSITORY": "bench/pipelines",
            "STORAGE_EMULATOR_HOST": gcs.url,
        }
        command = [sys.executable, "manage.py", "register", "--all", "--json"]
        first_s, first = timed(command, root, env)
        versions = len(server.flows)
        creates = len(server.calls("create_flow_from_compressed_string"))
        second_s, second = timed(command, root, env)
        outcomes = json.loads(second)
        stats = {
            "flows": len(outcomes),
            "first_run_s": round(first_s, 1),
            "first_run_uploads": sum(o.get("uploaded", False) for o in json.loads(first)),
            "second_run_s": round(second_s, 1),
            "second_run_uploads": sum(o.get("uploaded", False) for o in outcomes),
            "second_run_new_versions": len(server.flows) - versions,
            "second_run_create_calls": len(server.calls("create_flow_from_compressed_string"))
            - creates,
            "second_run_skipped": sum(o["status"] == "skipped" for o in outcomes),
        }
    gcs.stop()
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-register", action="store_true", help="detection only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-register-") as tmp:
        root = Path(tmp)
        generate(root, args.projects, args.orgs)
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "base")
        tasks = root / "pipelines/org_3/project_3/tasks.py"
        tasks.write_text(tasks.read_text().replace('"param = %s"', '"param is %s"'))
        git(root, "commit", "-qam", "one-file change")

        naive_s, _ = median([sys.executable, "-c", "import pipelines.flows"], root, args.runs)
        detect = [
            sys.executable, "manage.py", "register", "--since", "HEAD~1", "--dry-run", "--json",
        ]  # fmt: skip
        ours_s, out = median(detect, root, args.runs)
        affected = [entry["flow"] for entry in json.loads(out)]
        print(f"naive: import every flow ({args.projects} projects): {naive_s:.2f} s")
        print(f"ours: register --since HEAD~1 --dry-run: {ours_s:.2f} s -> {affected}")
        result: dict[str, object] = {
            "projects": args.projects,
            "detection_s": round(ours_s, 3),
            "naive_import_all_s": round(naive_s, 3),
            "ratio_naive_over_ours": round(naive_s / ours_s, 2),
            "affected": affected,
            "target_detection_s": 3.0,
            "meets_detection_target": ours_s <= 3.0 and affected == ["org_3: project_3"],
        }
        if not args.skip_register:
            result["register_all_twice"] = register_twice(root)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
