"""The lock files: in step with pyproject.toml, the same pins for tests and image, and check
refusing a flow that imports what the image does not install."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from pipelines.manage.lock import lock_problems, read_pins
from tests.conftest import REPO_ROOT


def check_copy(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_the_repo_locks_are_in_step_with_pyproject_and_each_other():
    assert lock_problems(REPO_ROOT) == []
    runtime = read_pins((REPO_ROOT / "requirements.lock").read_text())
    assert runtime["prefect"] == "1.4.1" and "pendulum" in runtime
    assert "pytest" not in runtime and "uv" not in runtime  # tools stay out of the image


def test_the_installed_venv_has_exactly_the_dev_locks_versions():
    from importlib.metadata import distributions

    from pipelines.manage.lock import canonical

    installed = {canonical(d.metadata["Name"]): d.version for d in distributions()}
    dev = read_pins((REPO_ROOT / "requirements-dev.lock").read_text())
    assert {n: (v, installed.get(n)) for n, v in dev.items() if installed.get(n) != v} == {}


def test_a_range_the_lock_does_not_satisfy_is_named_with_the_fix(repo_copy: Path):
    pyproject = repo_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pandas>=2.2,<3"', '"pandas>=99"'))
    pinned = read_pins((repo_copy / "requirements.lock").read_text())["pandas"]

    assert lock_problems(repo_copy) == [
        f"requirements.lock pins pandas=={pinned}, which pyproject.toml's 'pandas>=99' does "
        "not allow: run `make lock` and commit the lock files."
    ]
    result = check_copy(repo_copy)
    assert result.returncode == 1
    assert "'pandas>=99' does not allow: run `make lock`" in result.stdout


def test_tests_running_other_versions_than_the_image_is_a_problem(repo_copy: Path):
    dev = repo_copy / "requirements-dev.lock"
    pinned = read_pins(dev.read_text())["duckdb"]
    dev.write_text(re.sub(r"^duckdb==\S+$", "duckdb==0.0.1", dev.read_text(), flags=re.M))
    assert lock_problems(repo_copy) == [
        "requirements-dev.lock has duckdb==0.0.1 but the image installs "
        f"duckdb=={pinned}: the tests would not run with the image's versions; run `make lock` "
        "and commit the lock files."
    ]


def test_check_refuses_a_task_importing_what_the_image_does_not_install(repo_copy: Path):
    tasks = repo_copy / "pipelines/emd/test_flow/tasks.py"
    tasks.write_text(
        tasks.read_text() + "\n\ndef screenshot() -> None:\n    import selenium  # noqa: F401\n"
    )
    line = tasks.read_text().splitlines().index("    import selenium  # noqa: F401") + 1

    result = check_copy(repo_copy)

    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"problem: pipelines/emd/test_flow/tasks.py:{line}: imports selenium (selenium), which "
        "the flow-run image does not install (requirements.lock): add it to pyproject.toml's "
        "dependencies (or an extra) and run `make lock`."
    ) in result.stdout
