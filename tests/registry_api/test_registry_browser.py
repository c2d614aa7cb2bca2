"""The web catalog in a real headless Chromium (Debian's chromium and chromium-driver, driven by
selenium): search the catalog, open a template, change a parameter and see the live preview and the
pipeline graph follow; an invalid value is marked on its field. Without Chromium the test skips, except
when PIPEFORGE_REQUIRE_BROWSER is set (CI sets it), where it fails instead."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RegistryServer, private_catalog, template_variant

pytestmark = pytest.mark.browser

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1800")
WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    # no pull-request workers: the roll-out page's jobs stay where the test puts them
    with RegistryServer(f"sqlite:///{Path(tmp_path_factory.mktemp('web')) / 'catalog.db'}", pr_workers=0) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()) and not shutil.which("chromium"):
        message = f"{CHROMIUM} and {CHROMEDRIVER} are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("PIPEFORGE_REQUIRE_BROWSER"):
            pytest.fail(message + " (PIPEFORGE_REQUIRE_BROWSER is set, so this cannot skip)")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, condition: Any, what: str) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # The preview replaces the graph while the condition reads it: an element gone mid-read means "not yet".
    return WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)).until(
        condition, message=f"waited for {what}")


def _steps_in_graph(driver: Any) -> list[str]:
    """The graph's step names, read in one script call: the preview may replace the graph between two reads."""
    steps: list[str] = driver.execute_script(
        "return Array.from(document.querySelectorAll('#dag svg g.node'), g => g.getAttribute('data-step'))")
    return steps


def test_search_open_a_template_and_watch_the_preview_follow_the_form(web_server: RegistryServer,
                                                                     browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(web_server.base_url + "/")
    cards = browser.find_elements(By.CSS_SELECTOR, "#templates .card h2 a")
    assert sorted(c.text for c in cards) == ["approval-gated-delete", "provision-process-publish", "saga-compensation"]

    search = browser.find_element(By.ID, "q")
    search.send_keys("saga", Keys.ENTER)
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#templates .card")) == 1, "the search result")
    browser.find_element(By.LINK_TEXT, "saga-compensation").click()

    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#dag svg"), "the pipeline graph")
    assert browser.find_element(By.TAG_NAME, "h1").text == "saga-compensation"
    assert "reserve-inventory" in _steps_in_graph(browser)
    assert "1.0.0" in browser.find_element(By.CSS_SELECTOR, ".versions").text
    modes = browser.find_elements(By.CSS_SELECTOR, "#failure-modes tbody tr")
    assert len(modes) >= 3

    step = browser.find_element(By.ID, "p-step_1")
    step.clear()
    step.send_keys("hold-stock")
    _wait(browser, lambda d: "hold-stock" in _steps_in_graph(d), "the graph to show the renamed step")
    assert "reserve-inventory" not in _steps_in_graph(browser)
    assert "hold-stock" in browser.find_element(By.ID, "manifest").text
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#failure-modes tbody th")]
    assert "hold-stock" in rows
    assert browser.find_element(By.ID, "matrix-summary").text.startswith("PASSED")
    scenarios = browser.find_elements(By.CSS_SELECTOR, "#fault-matrix tbody th")
    assert any("hold-stock" in s.get_attribute("textContent") for s in scenarios)

    namespace = browser.find_element(By.ID, "p-namespace")
    namespace.clear()
    namespace.send_keys("Not Valid")
    error = browser.find_element(By.ID, "e-namespace")
    _wait(browser, lambda _d: "DNS-1123" in error.text, "the field's error")
    assert namespace.get_attribute("aria-invalid") == "true"
    assert "hold-stock" in _steps_in_graph(browser)  # the last good preview stays
    namespace.clear()
    namespace.send_keys("orders")
    _wait(browser, lambda _d: error.text == "", "the field's error to clear")


def test_approval_gate_exit_handler_and_yanked_versions_are_shown(web_server: RegistryServer, browser: Any,
                                                                  tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from catalog.publication import prepare_folder
    from catalog.service import publish, set_yanked

    with private_catalog(web_server.database_url) as catalog:
        for version in ("1.0.0", "1.1.0"):
            with catalog.session() as session:
                publish(session, publication=prepare_folder(template_variant(tmp_path, name="web-demo",
                                                                             version=version)), publisher="t")
        with catalog.session() as session:
            set_yanked(session, reference="web-demo@1.1.0", yanked=True, reason="cleanup skipped on failure")
    browser.get(web_server.base_url + "/templates/web-demo")
    yanked = browser.find_element(By.CSS_SELECTOR, ".versions li.yanked")
    assert "1.1.0" in yanked.text and "yanked" in yanked.text and "cleanup skipped on failure" in yanked.text
    assert "latest" in browser.find_element(By.XPATH, "//li[a[text()='1.0.0']]").text

    browser.get(web_server.base_url + "/templates/approval-gated-delete")
    gates = browser.find_elements(By.CSS_SELECTOR, "#dag svg g.node.gate")
    assert [g.get_attribute("data-step") for g in gates] == ["approval"]
    browser.get(web_server.base_url + "/templates/provision-process-publish")
    lanes = browser.find_element(By.CSS_SELECTOR, "#dag svg").text
    assert "exit handler" in lanes
    browser.get(web_server.base_url + "/templates/no-such-template")
    assert "no template named 'no-such-template'" in browser.find_element(By.CSS_SELECTOR, ".problem").text


def test_a_rollout_page_shows_each_target_and_refreshes_itself_until_done(web_server: RegistryServer,
                                                                          browser: Any) -> None:
    from selenium.webdriver.common.by import By

    from catalog import rollouts
    from catalog.models import PullRequestJob

    repos = [f"https://git.example.com/team{n}/deploy.git" for n in range(3)]
    with private_catalog(web_server.database_url) as catalog:
        with catalog.session() as session, session.begin():
            for repo in repos:
                rollouts.record_delivery(session, repo=repo, path="apps/orders", template="web-fleet",
                                         version="1.0.0", digest=None, base="main", provider="github")
        with catalog.session() as session:
            made, _ = rollouts.create(session, template="web-fleet", to_spec="^1.1", to_version="1.1.0",
                                      requested_by="t", idempotency_key=None, refuse=lambda _d: None)
        with catalog.session() as session, session.begin():
            opened, failed, pending = session.query(PullRequestJob).filter_by(rollout_id=made.id).order_by("id")
            opened.status, opened.result = "succeeded", {
                "branch": "pipeforge/apps-orders", "pull_request": {"number": 7, "url": "https://forge.example/pr/7",
                                                                    "action": "created"},
                "upgrade": {"status": "opened", "from": "1.0.0", "to": "1.1.0", "conflicts": []}}
            failed.status, failed.error = "failed", f"{repos[1]}: git fetch failed: connection refused"
    browser.get(f"{web_server.base_url}/rollouts/{made.id}")
    statuses = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#targets tbody td[data-status]")]
    assert statuses == ["opened", "failed", "pending"]
    assert browser.find_element(By.LINK_TEXT, "#7").get_attribute("href") == "https://forge.example/pr/7"
    assert "connection refused" in browser.find_element(By.CSS_SELECTOR, "#targets tbody .problem").text
    assert "In progress" in browser.find_element(By.ID, "rollout-state").text
    with private_catalog(web_server.database_url) as catalog, catalog.session() as session, session.begin():
        session.get(PullRequestJob, pending.id).status = "failed"  # type: ignore[union-attr]
    _wait(browser, lambda d: d.find_element(By.ID, "rollout-state").text.startswith("Done"), "the page to refresh")
    statuses = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#targets tbody td[data-status]")]
    assert statuses == ["opened", "failed", "failed"]
    browser.get(f"{web_server.base_url}/rollouts")
    assert browser.find_element(By.LINK_TEXT, str(made.id))
