"""docs/ builds in strict mode, a broken link fails the build, and the README's links resolve."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def build(root: Path, out: Path) -> subprocess.CompletedProcess:
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)]
    return subprocess.run(mkdocs, cwd=root, capture_output=True, text=True, timeout=120)


def test_the_docs_build_in_strict_mode_with_every_page_in_nav(tmp_path):
    result = build(REPO_ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    pages = {p.stem for p in (REPO_ROOT / "docs").glob("*.md")}
    assert {p.stem for p in (tmp_path / "site").glob("*.html")} >= pages


@pytest.mark.parametrize(
    ("link", "named"), [("vault.md", "vault.md"), ("cloud.md#no-such-part", "#no-such-part")]
)
def test_a_broken_link_or_anchor_fails_the_build(tmp_path, link, named):
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(REPO_ROOT / "mkdocs.yml", copy)
    shutil.copytree(REPO_ROOT / "docs", copy / "docs")
    page = copy / "docs" / "secrets.md"
    page.write_text(page.read_text() + f"\n\nSee [the vault page]({link}).\n")
    result = build(copy, tmp_path / "site")
    assert result.returncode == 1
    assert "secrets.md" in result.stderr and named in result.stderr


def test_every_link_of_the_readme_to_a_file_names_one_that_exists():
    readme = (REPO_ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#]+)\)", readme)
    local = [t for t in targets if not t.startswith("http")]
    assert local and [t for t in local if not (REPO_ROOT / t).exists()] == []
