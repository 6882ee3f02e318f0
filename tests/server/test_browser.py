"""The results page in a real browser: headless Chromium from Debian, driven over WebDriver.

A zip is uploaded through the page's file picker; the page must draw the payload tree with
each member, the findings and errors sections, and show a hostile member name as text (an
``<img onerror>`` in a name must not become an element, nor run). A screenshot is saved as a
test artifact (``$STOQ_ARTIFACTS`` or the test's temporary folder).
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Iterator

import pytest
from conftest import Server
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from stoq.testing import windows_pe

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
HOSTILE_NAME = "<img src=x onerror=alert(1)>.txt"


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            raise AssertionError(f"{path} is missing: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_upload_a_zip_and_see_its_tree(
    server: Server, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    archive = tmp_path / "delivery.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("readme.txt", "Invoice attached.\n")
        zipped.writestr(HOSTILE_NAME, "hostile name\n")
        zipped.writestr("inner/notes.txt", "nested\n")
        zipped.writestr("invoice.exe", windows_pe())  # a real PE: the summary's high finding
    archive.write_bytes(buffer.getvalue())

    browser.get(f"{server.url}/")
    browser.find_element(By.ID, "token").send_keys(server.token)
    browser.find_element(By.ID, "file").send_keys(str(archive))
    WebDriverWait(browser, 120).until(
        expected_conditions.visibility_of_element_located((By.ID, "result"))
    )

    titles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".node-title")]
    assert titles[0] == "delivery.zip"
    assert {"readme.txt", HOSTILE_NAME, "notes.txt"} <= set(titles)
    # The members hang under the zip in the tree.
    nested = browser.find_elements(By.CSS_SELECTOR, "#tree > li > ul > li .node-title")
    assert {e.text for e in nested} >= {"readme.txt", HOSTILE_NAME}
    # The hostile name is text: no element was made from it and nothing ran.
    assert browser.find_elements(By.CSS_SELECTOR, "#tree img") == []
    assert browser.execute_script("return document.querySelectorAll('img[src=x]').length") == 0
    # The summary's findings come first, worst first, each linking to its payload.
    findings = browser.find_elements(By.CSS_SELECTOR, "#findings .finding")
    assert findings and "high" in findings[0].text.lower()
    assert any("invoice.exe" in f.text for f in findings)
    target = findings[0].find_element(By.TAG_NAME, "a").get_attribute("href").split("#")[1]
    assert browser.find_element(By.ID, target).find_element(By.CLASS_NAME, "node-title").text
    # The zip's plugins and why they ran are shown.
    assert "decompress" in browser.find_element(By.CSS_SELECTOR, "#payload-0").text
    assert "status" not in browser.find_element(By.ID, "status").get_attribute("class")

    artifacts = Path(os.environ.get("STOQ_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "serve-results.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_a_refused_upload_is_reported_on_the_page(
    server: Server, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    sample = tmp_path / "sample.txt"
    sample.write_text("no token given\n")
    browser.get(f"{server.url}/")
    browser.find_element(By.ID, "file").send_keys(str(sample))
    status = browser.find_element(By.ID, "status")
    WebDriverWait(browser, 60).until(lambda _: "Unauthorised" in status.text)
    assert "error" in status.get_attribute("class")
