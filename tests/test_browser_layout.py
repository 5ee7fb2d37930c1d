"""Buttons, the click report and the inspector in one view, and the code a click ran, in headless Chromium.

After every click of every step page, at 1280x900 the step's buttons, the report
and the top of the inspector are inside the first viewport (two columns); at
390x844 the report is compact (its explanations folded away) and, after "Flash
it", the flash banner is on the first screen. The report names the handler
method that ran and links to that handler's source on the page, which is the
module's own source.

``UPDATE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/test_browser_layout.py``
also writes the README's screenshots to ``docs/images/``.
"""

from __future__ import annotations

import inspect
import os

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from handlers import database, flash, overview, standalone
from tests.support.browser_tools import VIEWPORTS, save_viewport_screenshot, severe_console_entries, submit
from tests.support.live_app import ROOT

DOC_IMAGES = ROOT / "docs" / "images"
#: The screenshots the README shows: (step, viewport).
README_SCREENSHOTS = {("overview", "desktop"), ("flash", "phone")}

#: Each step page, its buttons (ids) and the step handler each button runs.
STEPS = {
    "/overview": [("login", overview.Login, "get"), ("logout", overview.Logout, "get")],
    "/standalone/page": [
        ("set", standalone.Set, "get"),
        ("set_immutable", standalone.SetImmutable, "get"),
        ("update", standalone.Update, "get"),
        ("delete", standalone.Delete, "get"),
        ("clear", standalone.Clear, "get"),
        ("destroy", standalone.Destroy, "get"),
    ],
    "/securecookie/page": [("set", standalone.Set, "get"), ("destroy", standalone.Destroy, "get")],
    "/database/page": [
        ("set-value", database.SetFromForm, "post"),
        ("set", database.SetName, "get"),
        ("update", database.Update, "get"),
        ("destroy", standalone.Destroy, "get"),
    ],
}


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    """Each browser test here runs at every size (the shared ``browser`` fixture emulates it)."""
    return request.param


def box(driver: webdriver.Chrome, selector: str) -> dict[str, float]:
    """The first matching element's box in page coordinates, with the page's scroll and the viewport."""
    found = driver.execute_script(
        """const e = document.querySelector(arguments[0]); if (!e) return null;
        const r = e.getBoundingClientRect();
        return {top: r.top + scrollY, bottom: r.bottom + scrollY, left: r.left, right: r.right, scrolled: scrollY,
                height: innerHeight, width: innerWidth, pageWidth: document.documentElement.scrollWidth}""",
        selector,
    )
    assert found is not None, f"no {selector} on the page"
    return found


def assert_on_first_screen(driver: webdriver.Chrome, selector: str, whole: bool = True) -> None:
    place = box(driver, selector)
    assert place["scrolled"] == 0, "the page did not open at its top"
    end = place["bottom"] if whole else place["top"] + 40  # the top of it: its heading and first line
    assert place["top"] >= 0, f"{selector} at {place['top']}-{place['bottom']} px"
    assert end <= place["height"], f"{selector} at {place['top']}-{place['bottom']} px"


def assert_one_view(driver: webdriver.Chrome, viewport: str) -> None:
    """The report and every button on the first screen; on a wide screen the inspector's top too."""
    assert_on_first_screen(driver, "[data-last-action]")
    if viewport == "desktop":
        for button in driver.find_elements(By.CSS_SELECTOR, ".workbench button[type=submit]"):
            button_id = button.get_attribute("id")
            assert_on_first_screen(driver, f"#{button_id}")
        assert_on_first_screen(driver, ".inspector", whole=False)
        # two columns: the inspector beside the buttons, not under them
        assert box(driver, ".inspector")["left"] > box(driver, "[data-last-action]")["right"]
    assert box(driver, "body")["pageWidth"] <= VIEWPORTS[viewport][0], "the page scrolls sideways"


def assert_ran(driver: webdriver.Chrome, handler: type, method: str) -> None:
    """The report names the method that ran and links to its class's source, which is the module's source."""
    ran = driver.find_element(By.CSS_SELECTOR, '[data-last-action="ran"]')
    assert ran.text == f"{handler.__name__}.{method}"
    target = ran.get_attribute("href").partition("#")[2]
    listing = driver.find_element(By.ID, target)
    assert listing.get_attribute("data-code") == handler.__name__
    assert "ran" in listing.get_attribute("class").split()
    shown = listing.find_element(By.CSS_SELECTOR, "pre").text
    assert shown.strip() == inspect.getsource(handler).strip()
    assert listing.find_elements(By.CSS_SELECTOR, "pre span[style]"), "the source is not highlighted"


@pytest.mark.parametrize("page", list(STEPS))
def test_every_click_keeps_buttons_report_and_inspector_in_view(
    browser: webdriver.Chrome, app_url: str, viewport: str, page: str
):
    browser.get(f"{app_url}{page}")
    for button, handler, method in STEPS[page]:
        submit(browser, button)
        assert browser.current_url == f"{app_url}{page}"
        assert_one_view(browser, viewport)
        assert_ran(browser, handler, method)
    assert severe_console_entries(browser) == []


def test_the_flash_banner_and_the_report_open_the_flash_page(browser: webdriver.Chrome, app_url: str, viewport: str):
    browser.get(f"{app_url}/flash/")
    browser.find_element(By.ID, "message").send_keys("Saved.")
    submit(browser, "flash-it")
    assert_on_first_screen(browser, ".flashes .flash")
    assert browser.find_element(By.CSS_SELECTOR, ".flashes .flash").text == "info: Saved."
    assert_one_view(browser, viewport)
    assert_ran(browser, flash.Message, "post")
    save_viewport_screenshot(browser, f"layout-{viewport}-flash")
    update_readme_screenshot(browser, "flash", viewport)


def test_the_phone_report_is_compact(browser: webdriver.Chrome, app_url: str, viewport: str):
    """On a phone the report is set small (the posted fields left out, the cookie on one line): under 45 % of it."""
    browser.get(f"{app_url}/standalone/page")
    submit(browser, "set")
    report = box(browser, "[data-last-action]")
    limit = VIEWPORTS[viewport][1] * (0.45 if viewport == "phone" else 0.5)
    assert report["bottom"] - report["top"] <= limit, f"the report is {report['bottom'] - report['top']} px tall"


def test_the_overview_screenshot(browser: webdriver.Chrome, app_url: str, viewport: str):
    """The README's picture of a step after a click (written to docs/images/ on request)."""
    browser.get(f"{app_url}/overview")
    submit(browser, "login")
    assert_one_view(browser, viewport)
    save_viewport_screenshot(browser, f"layout-{viewport}-overview")
    update_readme_screenshot(browser, "overview", viewport)


def update_readme_screenshot(driver: webdriver.Chrome, step: str, viewport: str) -> None:
    """With ``UPDATE_SCREENSHOTS=1``, the first screen as the README shows it, in ``docs/images/``."""
    if os.environ.get("UPDATE_SCREENSHOTS") and (step, viewport) in README_SCREENSHOTS:
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        (DOC_IMAGES / f"{step}-step-{viewport}.png").write_bytes(driver.get_screenshot_as_png())


def test_the_readme_shows_the_screenshots_this_test_makes():
    readme = (ROOT / "README.md").read_text()
    for step, viewport in README_SCREENSHOTS:
        assert f"](docs/images/{step}-step-{viewport}.png)" in readme
        assert (DOC_IMAGES / f"{step}-step-{viewport}.png").is_file()


def test_no_select_cuts_its_options(browser: webdriver.Chrome, app_url: str, viewport: str):
    """Every option's text fits its select (a 390 px phone used to show "an int (/set/int/{key}/{…")."""
    for page in ("/database/page", "/flash/"):
        browser.get(f"{app_url}{page}")
        overflowing = browser.execute_script(
            """const out = [];
            for (const select of document.querySelectorAll("select")) {
              const style = getComputedStyle(select), ctx = document.createElement("canvas").getContext("2d");
              ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
              const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
              for (const option of select.options) if (ctx.measureText(option.text).width > room) out.push(option.text);
            }
            return out;"""
        )
        assert overflowing == [], f"{page}: options cut at {viewport} size: {overflowing}"
