"""The Makefile's recipes run their steps in an order that cannot strand the user."""

from __future__ import annotations

import subprocess

from tests.conftest import REPO_ROOT


def test_make_format_formats_before_a_lint_fix_that_may_stop_it():
    # `ruff check --fix` exits 1 on a rule it cannot fix (a long line): formatting must be done.
    planned = subprocess.run(
        ["make", "-n", "-W", ".venv/.installed", "format"], cwd=REPO_ROOT,
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    ruff = [line.split("/")[-1] for line in planned if "ruff" in line and "pip" not in line]
    assert ruff == ["ruff format .", "ruff check --fix ."]
