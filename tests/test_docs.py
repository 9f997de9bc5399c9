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
    shutil.copytree(REPO_ROOT / "docs_theme", copy / "docs_theme")
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


def test_the_site_loads_nothing_from_elsewhere_and_ships_its_search_index(tmp_path):
    site = tmp_path / "site"
    assert build(REPO_ROOT, site).returncode == 0
    loads = re.compile(r"<(?:script|link|img)[^>]*(?:src|href)=\"(?:https?:)?//", re.I)
    offenders = [p.name for p in site.rglob("*.html") if loads.search(p.read_text())]
    assert offenders == []
    index = (site / "search" / "search_index.js").read_text()
    assert index.startswith("window.pipelinesSearchIndex = {") and "watchdog" in index
    assert 'class="codehilite"' in (site / "running.html").read_text()  # highlighted at build


def test_search_and_highlighting_work_with_the_site_opened_from_disk(tmp_path):
    """Headless Chromium on file://: no Worker, no fetch, no CDN may be needed."""
    from tests.pipelines.manage.catalog.test_browser import _browser_paths

    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    site = tmp_path / "site"
    assert build(REPO_ROOT, site).returncode == 0
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-background-networking"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.get((site / "index.html").as_uri())
        WebDriverWait(driver, 20).until(
            lambda d: d.execute_script("return typeof lunr !== 'undefined'")
        )
        driver.execute_script(
            "var box = document.getElementById('mkdocs-search-query');"
            "box.value = 'watchdog'; box.dispatchEvent(new Event('input'));"
        )
        WebDriverWait(driver, 20).until(
            lambda d: d.execute_script(
                "return document.querySelectorAll('#mkdocs-search-results article').length"
            )
        )
        titles = driver.execute_script(
            "return [...document.querySelectorAll('#mkdocs-search-results h3')]"
            ".map(h => h.textContent)"
        )
        assert "Data health" in titles, titles
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
    finally:
        driver.quit()


def _python_blocks(page: str) -> list[str]:
    return re.findall(r"```py\n(.*?)```", (REPO_ROOT / "docs" / page).read_text(), re.S)


@pytest.mark.parametrize("index", [1, 2])
def test_the_porting_guides_worked_ports_build_flows_whose_clocks_check_clean(index):
    """The 'after' of the dump and the sheets port run as written, and every clock they make
    is one the server could start."""
    from pipelines.manage.clocks import clock_problems

    code = _python_blocks("porting.md")[index]
    scope: dict = {}
    exec(compile(code, f"porting.md block {index}", "exec"), scope)
    flow = scope["flow"]
    assert flow.name.startswith(("SME: ", "SMFP: ")) and len(flow.schedule.clocks) == 2
    assert clock_problems(flow) == []
