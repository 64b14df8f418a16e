"""The dashboard in a real browser: Debian's chromium and chromium-driver, driven by selenium.

Skips, saying why, where no browser is installed (``.ci/run`` installs them when it
runs as root). The last test writes docs/dashboard.png, the README's screenshot.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakecmon.testing import FakeCmon

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                "(pip install -e '.[test]')")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "dashboard.png"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1500,950",
         # fakecmon's certificate is signed by its own local CA
         "--ignore-certificate-errors")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no browser: install Debian's chromium and chromium-driver "
           "(.ci/run does when it runs as root)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="fakecmon-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(DRIVER), options=options)
    except WebDriverException as exc:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"chromium does not start here: {exc.msg}")
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def open_page(browser: Any, cmon: FakeCmon) -> None:
    browser.get(cmon.base_url + "/_fakecmon/ui/")
    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.ID, "controller-id").text == cmon.controller_id)
    browser.get_log("browser")  # start from an empty console


def errors(browser: Any) -> list[dict[str, Any]]:
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def rows(browser: Any) -> list[Any]:
    return browser.find_elements(By.CSS_SELECTOR, "#journal tbody tr")


def click(browser: Any, css: str, text: str | None = None) -> None:
    """Click the (first) element matching ``css`` (and containing ``text``); the page
    redraws live data, so an element found a moment ago may be replaced: try again."""
    def attempt(d: Any) -> bool:
        try:
            for found in d.find_elements(By.CSS_SELECTOR, css):
                if text is None or text in found.text:
                    found.click()
                    return True
        except StaleElementReferenceException:
            pass
        return False
    WebDriverWait(browser, 5).until(attempt)


def texts(browser: Any, css: str, attr: str | None = None) -> list[str]:
    try:
        return [e.get_attribute(attr) if attr else e.text
                for e in browser.find_elements(By.CSS_SELECTOR, css)]
    except StaleElementReferenceException:
        return []


def curl(cmon: FakeCmon, path: str, body: str) -> None:
    """A request as a person makes it by hand: curl when there is one."""
    if shutil.which("curl"):
        subprocess.run(["curl", "-sk", "--max-time", "10", cmon.base_url + path,
                        "-H", "Content-Type: application/json", "-d", body],
                       check=True, capture_output=True)
    else:
        cmon.client().post(path, body.encode())


def test_loads_without_console_errors(browser, cmon):
    open_page(browser, cmon)
    time.sleep(1.5)   # a few refresh rounds
    for tab in ("clusters", "jobs", "users", "tree", "faults", "requests"):
        browser.find_element(By.CSS_SELECTOR, f".tab[data-tab={tab}]").click()
        WebDriverWait(browser, 5).until(
            lambda d: d.find_element(By.ID, f"pane-{tab}").is_displayed())
    assert browser.find_elements(By.CSS_SELECTOR, "#cluster-cards .card")
    assert errors(browser) == []


def test_a_curl_request_appears_and_shows_its_bodies_and_reset_empties(browser, cmon):
    open_page(browser, cmon)
    curl(cmon, "/v2/auth", '{"operation": "authenticateWithPassword", '
                           '"user_name": "system", "password": "secret"}')
    sent = time.monotonic()
    WebDriverWait(browser, 2).until(lambda d: any(
        "authenticateWithPassword" in t for t in texts(d, "#journal tbody tr")))
    assert time.monotonic() - sent < 2.5   # appeared without a reload
    click(browser, "#journal tbody tr", "authenticateWithPassword")
    WebDriverWait(browser, 5).until(
        lambda d: "authenticateWithPassword" in d.find_element(By.ID, "detail-request").text)
    request = browser.find_element(By.ID, "detail-request").text
    assert '"password": "********"' in request and "secret" not in request
    WebDriverWait(browser, 5).until(
        lambda d: '"request_status": "Ok"' in d.find_element(By.ID, "detail-reply").text)
    browser.find_element(By.ID, "btn-reset").click()
    WebDriverWait(browser, 5).until(lambda d: not rows(d))
    assert cmon.requests() == []
    assert errors(browser) == []


def test_job_timeline_running_then_finished_after_a_clock_advance(browser, cmon, system):
    cmon.freeze()
    reply = system.call("/v2/jobs", "createJobInstance", job={
        "class_name": "CmonJobInstance", "title": "Slow one",
        "job_spec": {"command": "success", "job_data": {"timeout": 45}}})
    job_id = reply["job"]["job_id"]
    open_page(browser, cmon)
    browser.find_element(By.CSS_SELECTOR, ".tab[data-tab=jobs]").click()
    click(browser, f"#jobs-table tr[data-job='{job_id}']")

    def states(d: Any) -> list[str]:
        return texts(d, "#job-timeline li", "data-state")

    WebDriverWait(browser, 5).until(lambda d: states(d) == ["DEFINED", "RUNNING"])
    click(browser, ".adv[data-seconds='60']")
    WebDriverWait(browser, 5).until(lambda d: states(d) == ["DEFINED", "RUNNING", "FINISHED"])
    assert "FINISHED" in browser.find_element(By.ID, "job-meta").text
    assert errors(browser) == []


def test_screenshot_for_the_readme(browser, cmon, system):
    """A busy moment with a frozen clock, so the README's picture is current and calm."""
    cmon.freeze()
    system.call("/v2/jobs", "createJobInstance", job={
        "class_name": "CmonJobInstance", "job_spec": {"command": "create_cluster", "job_data": {
            "cluster_type": "galera", "vendor": "percona", "version": "8.0",
            "cluster_name": "shop-db", "nodes": [{"hostname": f"10.1.0.{i}"} for i in (1, 2, 3)]}}})
    cmon.advance(30)
    system.call("/v2/clusters", "getAllClusterInfo", with_hosts=True)
    system.call("/v2/jobs", "getJobInstances", limit=10)
    system.call("/v2/users", "createUser", new_password="pw", user={
        "class_name": "CmonUser", "user_name": "nina", "groups": [{"group_name": "users"}]})
    cmon.client().call("/v2/clusters", "getAllClusterInfo")          # AuthRequired
    system.call("/v2/alarm", "getAlarms", cluster_id=4)
    system.call("/v2/backup", "getBackups", cluster_id=1)
    system.post("/v2/tree", {"operation": "getTree", "path": "/"})
    open_page(browser, cmon)
    WebDriverWait(browser, 5).until(lambda d: len(rows(d)) >= 8)
    click(browser, "#journal tbody tr", "createJobInstance")
    WebDriverWait(browser, 5).until(
        lambda d: "create_cluster" in d.find_element(By.ID, "detail-request").text)
    time.sleep(0.5)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
    assert errors(browser) == []
