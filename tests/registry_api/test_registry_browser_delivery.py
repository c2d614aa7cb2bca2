"""The template page delivers, in a real headless Chromium: the folder downloaded as .tar.gz and .zip, the
`pipeforge new` command to copy, the failure-mode table inside the page at 1280 px with each step's full
`when`, and "Open a pull request" followed to its result against the loopback git server and the fake
GitHub, with the token typed into the page and never stored by it."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RegistryServer
from tests.fake_forge import DIALECTS, FakeForge
from tests.fake_forge import serving as serving_forge
from tests.gitserver import GitServer
from tests.registry_api.test_registry_browser import _wait, browser  # noqa: F401 - the shared Chromium fixture

pytestmark = pytest.mark.browser

TEMPLATE = "provision-process-publish"


@pytest.fixture
def forge(git_server: GitServer, git_token: str) -> Iterator[FakeForge]:
    with serving_forge(FakeForge(DIALECTS["github"], git_token, git_server.bare)) as fake:
        yield fake
    assert fake.violations == []


@pytest.fixture
def server(tmp_path: Path, git_server: GitServer, forge: FakeForge) -> Iterator[RegistryServer]:
    with RegistryServer(f"sqlite:///{tmp_path / 'catalog.db'}", pr_allowed_repos=[git_server.repo_url],
                        pr_api_urls={git_server.repo_url: forge.url}) as running:
        yield running


def _downloaded(folder: Path, suffix: str) -> Path:
    """The finished download. Chromium writes a .crdownload and renames it when done, and may create the
    final name empty before that: done is a non-empty file with no .crdownload beside it."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        names = list(folder.iterdir())
        found = [p for p in names if p.name.endswith(suffix) and p.stat().st_size > 0]
        if found and not any(p.name.endswith(".crdownload") for p in names):
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} in {sorted(p.name for p in folder.iterdir())}")


def _open(browser: Any, server: RegistryServer) -> None:  # noqa: F811 - the fixture's value
    from selenium.webdriver.common.by import By

    browser.set_window_size(1280, 1800)
    browser.get(f"{server.base_url}/templates/{TEMPLATE}")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#dag svg"), "the pipeline graph")


def test_download_both_archives_and_copy_the_command(server: RegistryServer, browser: Any,  # noqa: F811
                                                     tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    _open(browser, server)
    name = browser.find_element(By.ID, "p-pipeline_name")
    name.clear()
    name.send_keys("orders-report")
    command = browser.find_element(By.ID, "new-command")
    _wait(browser, lambda _d: "orders-report" in command.get_attribute("value"), "the command to follow the form")
    assert command.get_attribute("value") == (f"pipeforge new {TEMPLATE}@1.0.0 --from-catalog --no-input "
                                              "-o orders-report --set pipeline_name=orders-report")
    browser.find_element(By.ID, "copy-command").click()
    _wait(browser, lambda d: d.find_element(By.ID, "copy-status").text == "copied", "the copy confirmation")

    browser.find_element(By.ID, "download-tgz").click()
    with tarfile.open(_downloaded(downloads, ".tar.gz"), "r:gz") as tar:
        names = sorted(m.name for m in tar.getmembers())
    assert "orders-report/workflowtemplate.yaml" in names and "orders-report/.pipeforge-answers.yaml" in names
    browser.find_element(By.ID, "download-zip").click()
    with zipfile.ZipFile(io.BytesIO(_downloaded(downloads, ".zip").read_bytes())) as bundle:
        manifest = bundle.read("orders-report/workflowtemplate.yaml").decode()
    assert "orders-report" in manifest


def test_the_failure_mode_table_fits_1280px_and_labels_read_well(server: RegistryServer,
                                                                 browser: Any) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    _open(browser, server)
    table = browser.find_element(By.ID, "failure-modes")
    box = table.find_element(By.XPATH, "..")
    assert browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", box), \
        "the table's last columns are hidden behind a scroll bar"
    headings = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert headings[-1] == "If it fails" and "Runs when" in headings
    label = browser.find_element(By.CSS_SELECTOR, "label[for='p-input_uri']").text
    assert label.startswith("Input URI")


def test_open_a_pull_request_from_the_page_and_follow_it(server: RegistryServer, browser: Any,  # noqa: F811
                                                          forge: FakeForge, git_server: GitServer) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.conftest import tokens_for

    token = tokens_for(server)["pr"]
    _open(browser, server)
    Select(browser.find_element(By.ID, "pr-repo")).select_by_visible_text(git_server.repo_url)
    path = browser.find_element(By.ID, "pr-path")
    path.clear()
    path.send_keys("apps/orders/pipeline")
    Select(browser.find_element(By.ID, "pr-provider")).select_by_visible_text("github")
    browser.find_element(By.ID, "pr-token").send_keys(token)
    browser.find_element(By.ID, "pr-submit").click()
    status = browser.find_element(By.ID, "pr-status")
    _wait(browser, lambda _d: status.text.startswith(("Done", "Failed")), "the job's result")
    assert status.text.startswith("Done"), status.text
    link = browser.find_element(By.ID, "pr-link")
    assert link.get_attribute("href") == forge.open_records()[0]["url"]
    assert forge.open_records()[0]["base"] == "main"
    stored = browser.execute_script("return [window.localStorage.length, window.sessionStorage.length, "
                                    "document.cookie]")
    assert stored == [0, 0, ""], "the token is never stored by the page"
    assert token not in browser.current_url


def test_a_wrong_token_is_refused_on_the_page_with_how_to_get_one(server: RegistryServer,
                                                                  browser: Any) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    _open(browser, server)
    browser.find_element(By.ID, "pr-token").send_keys("pft_not-a-token")
    browser.find_element(By.ID, "pr-submit").click()
    status = browser.find_element(By.ID, "pr-status")
    _wait(browser, lambda _d: "token" in status.text, "the refusal")
    assert "pipeforge token create" in status.text
