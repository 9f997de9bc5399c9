"""Time `manage.py check` and `manage.py catalog` on a generated 500-project repo against
importing every flows module once (the work neither can avoid)."""

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

from generated_repo import REPO, generate

CATALOG_LIMIT_S = 10.0
CHECK_RATIO_TARGET = 1.5
IMPORT_ALL = (
    "from pathlib import Path\n"
    "from pipelines.manage.inventory import load_modules\n"
    "from pipelines.utils.inventory import Repo, flow_modules\n"
    "found = load_modules([m.module for m in flow_modules(Repo(Path('.').resolve()))])\n"
    "assert not found.problems, found.problems\n"
)


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def spread(times: list[float]) -> str:
    return f"min {min(times):.2f} / median {statistics.median(times):.2f} / max {max(times):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--orgs", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    commands = {
        "import every flows module": [sys.executable, "-c", IMPORT_ALL],
        "manage.py check": [sys.executable, "manage.py", "check"],
        # After a change under queries/: dbt parse runs again, in a second process.
        "manage.py check, dbt parse": [
            "sh",
            "-c",
            f"rm -f data/dbt/parsed-cleanly && {sys.executable} manage.py check",
        ],
        "manage.py catalog": [sys.executable, "manage.py", "catalog", "-o", "build/catalog"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        root = Path(tmp)
        generate(root, args.projects, args.orgs)
        shutil.copytree(
            REPO / "queries", root / "queries", ignore=shutil.ignore_patterns("target", "logs")
        )
        timed(commands["manage.py check"], root)  # warm the file cache and dbt's parse
        for _ in range(args.runs):  # alternated, so drift on a shared machine hits all alike
            for name, command in commands.items():
                times[name].append(timed(command, root))
        pages = len(list((root / "build" / "catalog" / "flows").glob("*.html")))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:28} {spread(values)}")
    check_ratio = medians["manage.py check"] / medians["import every flows module"]
    catalog_ratio = medians["manage.py catalog"] / medians["manage.py check"]
    parse_ratio = medians["manage.py check, dbt parse"] / medians["import every flows module"]
    print(
        f"check / import:  {check_ratio:.2f}x (target <= {CHECK_RATIO_TARGET}x); "
        f"{parse_ratio:.2f}x when queries/ changed and dbt parses again"
    )
    print(
        f"catalog / check: {catalog_ratio:.2f}x; catalog {medians['manage.py catalog']:.2f} s "
        f"for {pages} flow pages (target < {CATALOG_LIMIT_S:.0f} s)"
    )
    print(
        json.dumps(
            {
                "projects": args.projects,
                "flow_pages": pages,
                **{name.replace(" ", "_") + "_s": round(m, 3) for name, m in medians.items()},
                "check_vs_import": round(check_ratio, 2),
                "check_with_dbt_parse_vs_import": round(parse_ratio, 2),
                "catalog_vs_check": round(catalog_ratio, 2),
                "meets_check_target": check_ratio <= CHECK_RATIO_TARGET,
                "meets_catalog_target": medians["manage.py catalog"] < CATALOG_LIMIT_S,
            }
        )
    )


if __name__ == "__main__":
    main()
