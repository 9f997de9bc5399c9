"""Affected-flow detection and idempotent `register --all` on a generated 500-project repo.

Detection is timed against the naive baseline measured in the same run: importing every flow
(what finding flows by import needs). Then, in each round, on a new PrefectTestServer (every
document checked against the real server's schema) and a new fake-gcs-server bucket:
`register --all` twice (the second must upload nothing and create no version), then Prefect's
own `prefect register` twice on the same modules, the baseline (its flows get Prefect's
default Local storage, a file per flow on this disk). The CPU seconds of each first
registration are reported apart: the client's, and the test server's (it runs in this
process, so its threads share one core at most).
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
        cwd=root,
        check=True,
        capture_output=True,
    )


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, result.stdout


def served(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str, float, float]:
    """timed, plus the CPU seconds of the command itself and of this process meanwhile: the
    test server runs here (its threads share one GIL, so it is one core at most)."""
    server_cpu, children = time.process_time(), os.times()
    seconds, out = timed(command, cwd, env)
    after = os.times()
    client_cpu = (after.children_user - children.children_user) + (
        after.children_system - children.children_system
    )
    return seconds, out, client_cpu, time.process_time() - server_cpu


def median(command: list[str], cwd: Path, runs: int) -> tuple[float, str]:
    results = [timed(command, cwd) for _ in range(runs)]
    return statistics.median(r[0] for r in results), results[-1][1]


def _env(root: Path, port: int, bucket: str, gcs_url: str) -> dict[str, str]:
    key = root / "sa.json"
    key.write_text("{}")
    return {
        **os.environ,
        "GOOGLE_APPLICATION_CREDENTIALS": str(key),
        "PREFECT__BACKEND": "server",
        "PREFECT__SERVER__HOST": "http://127.0.0.1",
        "PREFECT__SERVER__PORT": str(port),
        "PIPELINES_FLOWS_BUCKET": bucket,
        "PIPELINES_IMAGE_REPOSITORY": "bench/pipelines",
        "STORAGE_EMULATOR_HOST": gcs_url,
        "PYTHONPATH": str(root),  # what `prefect register -m` needs to import the modules
    }


def prefect_register_command(root: Path) -> list[str]:
    """Prefect's own CLI on every flows module (`--path pipelines/` finds no flow in a
    package that uses relative imports; one -m per module does)."""
    sys.path.insert(0, str(REPO))
    from pipelines.utils.inventory import Repo, flow_modules

    command = [str(Path(sys.executable).parent / "prefect"), "register", "--project", "main"]
    for module in flow_modules(Repo(root)):
        command += ["-m", module.module]
    return command


def spread(values: list[float]) -> list[float]:
    return [round(min(values), 2), round(statistics.median(values), 2), round(max(values), 2)]


def register_rounds(root: Path, rounds: int) -> dict[str, object]:
    """Each round, on a new server and bucket: ours twice (first, unchanged), then
    `prefect register` twice; alternated so drift on a shared machine hits both alike."""
    sys.path.insert(0, str(REPO))
    from google.cloud import storage

    from tests.support.gcs_emulator import start_gcs_emulator
    from tests.support.prefect_server import PrefectTestServer

    ours_command = [sys.executable, "manage.py", "register", "--all", "--json"]
    theirs_command = prefect_register_command(root)
    times: dict[str, list[float]] = {
        "ours_first": [],
        "ours_unchanged": [],
        "prefect_first": [],
        "prefect_unchanged": [],
    }
    # CPU seconds of the first registrations: the client's and the test server's.
    cpu: dict[str, list[float]] = {
        "ours_first_client": [],
        "ours_first_server": [],
        "prefect_first_client": [],
        "prefect_first_server": [],
    }
    stats: dict[str, object] = {}
    gcs = start_gcs_emulator()

    def first_run(
        server: PrefectTestServer, command: list[str], bucket: str, who: str
    ) -> tuple[dict[str, str], float, str]:
        """A first registration on a new server: its environment, seconds and output; the
        client's and the server's CPU seconds go to cpu[who + "_first_..."]."""
        server.add_project("main")
        env = _env(root, server.port, bucket, gcs.url)
        seconds, out, client_cpu, server_cpu = served(command, root, env)
        cpu[f"{who}_first_client"].append(client_cpu)
        cpu[f"{who}_first_server"].append(server_cpu)
        return env, seconds, out

    try:
        for number in range(rounds):
            bucket = f"bench-flows-{number}"
            storage.Client(project="bench").create_bucket(bucket)
            with PrefectTestServer() as server:
                env, first_s, first = first_run(server, ours_command, bucket, "ours")
                versions, requests = len(server.flows), len(server.requests)
                creates = len(server.calls("create_flow_from_compressed_string"))
                second_s, second = timed(ours_command, root, env)
                outcomes = json.loads(second)
                times["ours_first"].append(first_s)
                times["ours_unchanged"].append(second_s)
                stats = {
                    "flows": len(outcomes),
                    "first_run_uploads": sum(o.get("uploaded", False) for o in json.loads(first)),
                    "first_run_requests": requests,
                    "second_run_requests": len(server.requests) - requests,
                    "second_run_uploads": sum(o.get("uploaded", False) for o in outcomes),
                    "second_run_new_versions": len(server.flows) - versions,
                    "second_run_create_calls": len(
                        server.calls("create_flow_from_compressed_string")
                    )
                    - creates,
                    "second_run_skipped": sum(o["status"] == "skipped" for o in outcomes),
                }
            with PrefectTestServer() as server:
                env, first_s, _ = first_run(server, theirs_command, bucket, "prefect")
                requests = len(server.requests)
                stats["prefect_flows"] = len(server.flows)
                stats["prefect_first_run_requests"] = requests
                second_s, _ = timed(theirs_command, root, env)
                stats["prefect_second_run_requests"] = len(server.requests) - requests
                stats["prefect_second_run_new_versions"] = (
                    len(server.flows) - stats["prefect_flows"]
                )
                times["prefect_first"].append(first_s)
                times["prefect_unchanged"].append(second_s)
    finally:
        gcs.stop()
    medians = {name: statistics.median(values) for name, values in times.items()}
    first_ratio = medians["prefect_first"] / medians["ours_first"]
    unchanged_ratio = medians["prefect_unchanged"] / medians["ours_unchanged"]
    return {
        **stats,
        **{f"{name}_s_min_median_max": spread(values) for name, values in times.items()},
        **{f"{name}_cpu_s_min_median_max": spread(values) for name, values in cpu.items()},
        "first_faster_than_prefect": round(first_ratio, 2),
        "unchanged_faster_than_prefect": round(unchanged_ratio, 2),
        "meets_first_target": first_ratio >= 2.0,
        "meets_unchanged_target": unchanged_ratio >= 10.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-register", action="store_true", help="detection only")
    parser.add_argument("--rounds", type=int, default=3, help="registration rounds (each alike)")
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
            sys.executable,
            "manage.py",
            "register",
            "--since",
            "HEAD~1",
            "--dry-run",
            "--json",
        ]
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
            result["register"] = register_rounds(root, args.rounds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
