"""A Python interpreter with the project's dependencies and none of its code.

The flow-run image installs the dependencies only; `pipelines` comes from each flow's bundle.
The test venv has the project installed editable, which makes `pipelines` importable from
anywhere and hid that no stored flow could load in the image. PRELUDE takes that away before
the code under test runs: the editable finder and path hook, and every path into a checkout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PRELUDE = """\
import importlib, importlib.util, sys
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in repr(f)]
sys.path_hooks[:] = [h for h in sys.path_hooks if "__editable__" not in repr(h)]
sys.path[:] = [p for p in sys.path if p and "site-packages" in p or p.endswith(".zip")
               or p.startswith(sys.base_prefix)]
sys.path_importer_cache.clear()
importlib.invalidate_caches()
for name in [n for n in sys.modules if n == "pipelines" or n.startswith("pipelines.")]:
    del sys.modules[name]
if importlib.util.find_spec("pipelines") is not None:
    raise SystemExit("isolation failed: pipelines is importable from " + str(
        importlib.util.find_spec("pipelines").submodule_search_locations))
"""


def run_without_repo(
    code: str, *, cwd: Path, env: dict[str, str], stdin: str = "", timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter (-I: no PYTHONPATH, no script folder on the path)
    that can import the dependencies and not `pipelines`."""
    return subprocess.run(
        [sys.executable, "-I", "-c", PRELUDE + code],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
