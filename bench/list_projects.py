"""Time `manage.py list-projects` on a generated 500-project repo against bare `import click`."""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_OVERHEAD_S = 0.45


def generate(root: Path, projects: int, orgs: int) -> None:
    """Copy the repo and add `projects` copies of test_flow spread over `orgs` orgs."""
    for name in ("pipelines", "templates", "manage.py", "pyproject.toml"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    example = root / "pipelines" / "emd" / "test_flow"
    for o in range(orgs):
        org = root / "pipelines" / f"org_{o}"
        shutil.copytree(root / "pipelines" / "emd", org, ignore=shutil.ignore_patterns("*_*"))
        lines = []
        for p in range(o, projects, orgs):
            shutil.copytree(example, org / f"project_{p}")
            lines.append(f"import pipelines.org_{o}.project_{p}.flows  # noqa: F401")
        (org / "__init__.py").write_text('"""Generated org."""\n\n' + "\n".join(lines) + "\n")


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
