"""Time `manage.py list-projects` on a generated 500-project repo against bare `import click`."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generated_repo import generate

TARGET_OVERHEAD_S = 0.45


def median_seconds(command: list[str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-list-") as tmp:
        root = Path(tmp)
        generate(root, args.projects, args.orgs)
        listed = subprocess.run(
            [sys.executable, "manage.py", "list-projects", "--json"],
            cwd=root, check=True, capture_output=True, text=True,
        )  # fmt: skip
        count = sum(len(p) for p in json.loads(listed.stdout)["orgs"].values())
        baseline = median_seconds([sys.executable, "-c", "import click"], root, args.runs)
        ours = median_seconds([sys.executable, "manage.py", "list-projects"], root, args.runs)
    overhead = ours - baseline
    print(f"projects listed: {count}")
    print(f"python -c 'import click': {baseline:.3f} s (median of {args.runs})")
    print(f"manage.py list-projects:  {ours:.3f} s (median of {args.runs})")
    print(
        json.dumps(
            {
                "projects": count,
                "baseline_s": round(baseline, 4),
                "list_projects_s": round(ours, 4),
                "overhead_s": round(overhead, 4),
                "ratio_vs_baseline": round(ours / baseline, 2),
                "target_overhead_s": TARGET_OVERHEAD_S,
                "meets_target": overhead <= TARGET_OVERHEAD_S,
            }
        )
    )


if __name__ == "__main__":
    main()
