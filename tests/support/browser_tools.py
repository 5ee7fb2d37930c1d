"""Driving Debian's headless Chromium with Selenium, for the browser tests.

Selenium is pointed at the system's chromedriver and Chromium explicitly, so
Selenium Manager never runs and nothing is downloaded. Screenshots go to
``test-artifacts/screenshots/`` for a human to look at.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from tests.support.live_app import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
#: The sizes pages are checked at: a laptop, and a phone held upright (emulated as a mobile device).
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}


def start_chromium(profile: Path, window_size: str = "1100,900") -> webdriver.Chrome:
    """A fresh headless Chromium with its own profile (so its own cookies)."""
    os.environ["SE_OFFLINE"] = "true"  # belt and braces: Selenium Manager must never reach the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={window_size}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    return driver


@contextmanager
def chromium(profile: Path, viewport: str | None = None) -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium, quit on the way out; its viewport exactly ``VIEWPORTS[viewport]`` if one is named.

    A window alone would not do for a phone: Chromium keeps a minimum window
    width and calls itself a desktop. So the viewport is set by the DevTools
    protocol's device metrics (a mobile device's for the phone), in a window
    taller than the viewport so the browser's own bars never eat into it.
    """
    if viewport is None:
        driver = start_chromium(profile)
    else:
        width, height = VIEWPORTS[viewport]
        driver = start_chromium(profile, f"{width},{height + 200}")
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": viewport == "phone"}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        yield driver
    finally:
        driver.quit()


def severe_console_entries(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """Console errors (and failed resource loads) since the last call."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]  # Selenium's is
    return [entry for entry in entries if entry["level"] == "SEVERE"]


def attribute(element: WebElement, name: str) -> str:
    """The element's attribute or property ``name``; the test fails here if the element has none."""
    value = element.get_attribute(name)
    assert value is not None, f"no {name} on {element.tag_name}"
    return value


def held_cookie(driver: webdriver.Chrome, name: str) -> dict[str, Any]:
    """The browser's cookie ``name`` (value and flags); the test fails here if the browser holds none."""
    cookie = driver.get_cookie(name)
    assert cookie is not None, f"the browser holds no {name} cookie"
    return cookie


def save_screenshot(driver: webdriver.Chrome, name: str) -> None:
    """Save the whole page, not only the window, as ``test-artifacts/screenshots/<name>.png``."""
    width, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}},
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def save_viewport_screenshot(driver: webdriver.Chrome, name: str) -> None:
    """Save what the learner sees without scrolling as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{name}.png").write_bytes(driver.get_screenshot_as_png())


def inspector(driver: webdriver.Chrome, field: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'[data-inspector="{field}"]').text


def submit(driver: webdriver.Chrome, button_id: str) -> None:
    """Click a form's button and wait until the page the redirect leads to has loaded.

    The old page is marked with a window property, which a new page does not
    have. (Waiting for the old ``<html>`` element to go stale was flaky:
    chromedriver sometimes answers "node does not belong to the document"
    mid-navigation, which Selenium's staleness check does not expect.)
    """
    driver.execute_script("window.beforeSubmit = true")
    driver.find_element(By.ID, button_id).click()
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return window.beforeSubmit === undefined && document.readyState === 'complete'")
    )
