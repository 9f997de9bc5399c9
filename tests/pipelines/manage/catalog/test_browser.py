"""The catalog in a real browser (headless Chromium): search, flow pages and their graphs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.generated_repo import generate

# Screenshots CI attaches to the run (see .github/workflows/ci.yaml).
ARTIFACTS = REPO_ROOT / "build" / "test-artifacts"
GENERATED_PROJECTS = 200


def _browser_paths() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    missing = "Chromium (Debian package chromium, with chromium-driver) is not installed"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{missing}; .ci/run installs it: apt-get install chromium chromium-driver")
    pytest.skip(f"{missing}: apt-get install chromium chromium-driver")


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def big_catalog(tmp_path_factory) -> Path:
    """The example repo plus 200 generated projects, catalogued by its own manage.py."""
    root = tmp_path_factory.mktemp("big") / "repo"
    root.mkdir()
    generate(root, GENERATED_PROJECTS, 10)
    shutil.copytree(
        REPO_ROOT / "queries", root / "queries", ignore=shutil.ignore_patterns("target", "logs")
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "catalog"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"{GENERATED_PROJECTS + 8} flow(s)" in done.stdout
    return root / "build" / "catalog"


def _search(driver, site: Path, words: str) -> list[str]:
    """Type into the search box; the names of the flows left visible."""
    from selenium.webdriver.common.by import By

    driver.get((site / "index.html").as_uri())
    box = driver.find_element(By.ID, "query")
    box.clear()
    box.send_keys(words)
    rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-search]")
    shown = [row.find_element(By.TAG_NAME, "a").text for row in rows if row.is_displayed()]
    assert driver.find_element(By.ID, "shown").text == str(len(shown))
    return shown


def test_search_finds_a_flow_by_owner_and_by_table(browser, big_catalog: Path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    assert _search(browser, big_catalog, "data-office") == ["emd: template_pipeline"]
    browser.save_screenshot(str(ARTIFACTS / "catalog-search.png"))
    assert _search(browser, big_catalog, "rain_per_hour") == ["emd: template_pipeline"]
    assert _search(browser, big_catalog, "template_pipeline.rain_per_hour emd") == [
        "emd: template_pipeline"
    ]
    assert len(_search(browser, big_catalog, "org_3")) == GENERATED_PROJECTS // 10
    assert _search(browser, big_catalog, "no such flow anywhere") == []


def test_every_flow_page_shows_its_graph_and_next_runs(browser, big_catalog: Path):
    from selenium.webdriver.common.by import By

    pages = sorted((big_catalog / "flows").glob("*.html"))
    assert len(pages) == GENERATED_PROJECTS + 8
    for page in pages:
        browser.get(page.as_uri())
        picture = browser.find_element(By.CSS_SELECTOR, ".graph img")
        drawn = browser.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth", picture
        )
        assert drawn and drawn > 100, f"{page.name}: its graph did not load"
    browser.get((big_catalog / "flows" / "emd-template-pipeline.html").as_uri())
    runs = browser.find_elements(By.CSS_SELECTOR, "ol.next-runs li")
    assert len(runs) == 5
    writes = browser.find_element(By.CSS_SELECTOR, "table.writes").text
    assert "template_pipeline.rain_per_hour" in writes
    browser.save_screenshot(str(ARTIFACTS / "catalog-flow.png"))
    browser.get((big_catalog / "day.html").as_uri())
    assert browser.find_elements(By.CSS_SELECTOR, "table.collisions tr")
    browser.save_screenshot(str(ARTIFACTS / "catalog-day.png"))


def test_the_health_page_and_the_flow_badge_show_the_planted_problems(browser, tmp_path):
    import datetime as dt
    import importlib

    from selenium.webdriver.common.by import By

    from pipelines.manage.catalog import build_catalog
    from pipelines.utils.health import expectation_of
    from pipelines.utils.health.assess import FlowSeen, assess
    from pipelines.utils.health.records import Run
    from pipelines.utils.health.tasks import status_json
    from pipelines.utils.inventory import Repo

    now = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
    flow = importlib.import_module("pipelines.emd.template_pipeline.flows").flow
    runs = [Run("Failed", now - dt.timedelta(hours=h)) for h in (1, 2, 3)]
    runs.append(Run("Success", now - dt.timedelta(hours=4)))
    seen = {flow.name: FlowSeen(runs=runs, schedule_active=False)}
    loaded = {
        "template_pipeline.rain_per_hour": now - dt.timedelta(hours=4),
        "template_pipeline.rain_per_station_day": now - dt.timedelta(hours=1),  # its model
    }
    health = status_json(assess([expectation_of(flow)], seen, loaded, now, where="server"), now)
    site = build_catalog(Repo(REPO_ROOT), tmp_path / "catalog", health=health).output

    browser.get((site / "health.html").as_uri())
    problems = [p.text for p in browser.find_elements(By.CSS_SELECTOR, ".problem")]
    assert problems == [
        "Flow 'emd: template_pipeline': its schedule is off on the server, so it does not run.",
        "Flow 'emd: template_pipeline': its last 3 runs failed.",
        "Flow 'emd: template_pipeline': table template_pipeline.rain_per_hour was last loaded "
        "4 hours ago; it should be at most 2 hours old.",
    ]
    row = browser.find_element(By.ID, "emd-template-pipeline")
    marks = [m.get_attribute("class") for m in row.find_elements(By.CSS_SELECTOR, ".mark")]
    assert marks == ["mark ok", "mark failed", "mark failed", "mark failed"]  # oldest first
    assert "stale: 4 hours old, at most 2 hours" in row.text
    browser.save_screenshot(str(ARTIFACTS / "catalog-health.png"))

    browser.get((site / "flows" / "emd-template-pipeline.html").as_uri())
    badge = browser.find_element(By.CSS_SELECTOR, ".health-badge")
    assert badge.text.startswith("3 problem(s)")
    assert "2 hours (cadence + grace)" in browser.find_element(By.CSS_SELECTOR, "table.writes").text
    models = browser.find_element(By.CSS_SELECTOR, "table.models").text
    assert (
        "template_pipeline.rain_per_station_day" in models and "2 hours (cadence + grace)" in models
    )
    badge.find_element(By.TAG_NAME, "a").click()
    assert browser.current_url.endswith("health.html#emd-template-pipeline")


def test_the_lineage_page_shows_the_examples_chain(browser, tmp_path):
    from selenium.webdriver.common.by import By

    from pipelines.manage.catalog import build_catalog
    from pipelines.utils.inventory import Repo

    site = build_catalog(Repo(REPO_ROOT), tmp_path / "catalog").output
    browser.get((site / "index.html").as_uri())
    browser.find_element(By.LINK_TEXT, "Lineage").click()

    assert browser.current_url.endswith("lineage.html")
    picture = browser.find_element(By.CSS_SELECTOR, "p.graph img")
    assert browser.execute_script("return arguments[0].naturalWidth", picture) > 0
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.lineage tr")][1:]
    assert rows == [
        "emd: template_pipeline flow writes template_pipeline.rain_per_hour table",
        "emd: template_pipeline flow materializes template_pipeline.rain_per_station_day model",
        "template_pipeline.rain_per_hour table source of template_pipeline.rain_per_station_day "
        "model",
    ]
    browser.save_screenshot(str(ARTIFACTS / "catalog-lineage.png"))
    browser.find_element(By.LINK_TEXT, "emd: template_pipeline").click()
    assert browser.current_url.endswith("flows/emd-template-pipeline.html")
    neighbours = [p.text for p in browser.find_elements(By.CSS_SELECTOR, "p.lineage")]
    assert neighbours == [
        "Upstream flows (their tables feed this one): none",
        "Downstream flows (they read what this one writes): none",
    ]
