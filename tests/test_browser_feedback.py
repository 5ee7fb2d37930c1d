"""What a learner sees after a click and after an error, in headless Chromium at desktop and phone size.

Every button posts and redirects back to the step page. Opened at its unchanged
top, that page would show the inspector a screen or two below, and errors would be
bare text pages; so the page the redirect leads to opens on a report of the
click (the request, the status, the ``Set-Cookie`` classified, the session's
changes), and an error in the browser comes back to the step page or to a page
in the site's layout with a way back. Screenshots of the first viewport before
and after a click are saved in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.support.browser_tools import (
    VIEWPORTS,
    attribute,
    held_cookie,
    save_viewport_screenshot,
    severe_console_entries,
    submit,
)
from tests.support.live_app import LiveApp
from tests.support.redis_server import RedisServer


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    """Each browser test here runs at every size (the shared ``browser`` fixture emulates it)."""
    return request.param


def in_first_viewport(driver: webdriver.Chrome, element: WebElement) -> bool:
    """The element's top is on screen without scrolling (the page is at its top, as after a redirect)."""
    top, scrolled, height = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.top, window.scrollY, window.innerHeight]", element
    )
    return scrolled == 0 and 0 <= top < height


def report(driver: webdriver.Chrome) -> WebElement:
    """The "what your click just did" panel, which must be on screen as the page opens."""
    panel = driver.find_element(By.CSS_SELECTOR, "[data-last-action]")
    assert in_first_viewport(driver, panel), "the report of the click is below the first screen"
    return panel


def field(driver: webdriver.Chrome | WebElement, name: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'[data-last-action="{name}"]').text


def row_change(driver: webdriver.Chrome, key: str) -> str | None:
    """How the inspector marks the row of value ``key`` (``added``, ``changed``, ``removed``) or ``None``."""
    for row in driver.find_elements(By.CSS_SELECTOR, "table.values tr[data-change]"):
        if row.find_element(By.CSS_SELECTOR, "td:first-child").text == key:
            return row.get_attribute("data-change")
    return None


# -- 1. a click's result is on screen ------------------------------------------------------------


def test_each_click_opens_the_page_on_what_it_did(browser: webdriver.Chrome, app_url: str, viewport: str):
    browser.get(f"{app_url}/standalone/page")
    assert browser.find_elements(By.CSS_SELECTOR, "[data-last-action]") == []
    save_viewport_screenshot(browser, f"click-report-{viewport}-1-before")

    submit(browser, "set")
    report(browser)
    save_viewport_screenshot(browser, f"click-report-{viewport}-2-after-set")
    assert browser.current_url == f"{app_url}/standalone/page"
    assert field(browser, "request") == "POST /standalone/set"
    assert field(browser, "status") == "303 See Other"
    assert field(browser, "cookie") == "NEW"  # (the badge is shown in capitals)
    shown = field(browser, "set-cookie")
    session_id = held_cookie(browser, "mysessionid")["value"]
    assert shown.startswith(f"mysessionid={session_id[:6]}…;")
    assert session_id not in attribute(browser.find_element(By.CSS_SELECTOR, "[data-last-action]"), "innerHTML")
    assert "Max-Age=7200" in shown
    assert field(browser, "fate").startswith("created")
    assert 'ADDED name = "iris"' in field(browser, "changes")
    assert row_change(browser, "name") == "added"
    assert severe_console_entries(browser) == []

    browser.refresh()  # the report is read once, like a flash
    assert browser.find_elements(By.CSS_SELECTOR, "[data-last-action]") == []
    assert row_change(browser, "name") is None

    submit(browser, "set")  # the same value again: the session changes nothing, the cookie is not resent
    report(browser)
    assert field(browser, "cookie") == "NONE"
    assert field(browser, "changes") == "no value changed"

    submit(browser, "update")
    report(browser)
    assert field(browser, "cookie") == "CHANGED"
    assert "new expiry" in browser.find_element(By.CSS_SELECTOR, "[data-last-action]").text
    moved = r"CHANGED expiry, (\d+ s|under a second) later: .* UTC \(in 120 min\) → .* UTC \(in 120 min\)"
    assert re.search(moved, field(browser, "changes"))

    submit(browser, "delete")
    report(browser)
    assert 'REMOVED name (was "iris")' in field(browser, "changes")
    assert row_change(browser, "name") == "removed"  # the inspector shows what went, struck through

    submit(browser, "destroy")
    report(browser)
    save_viewport_screenshot(browser, f"click-report-{viewport}-3-after-destroy")
    assert field(browser, "cookie") == "DELETED"
    assert field(browser, "set-cookie").startswith("mysessionid=; Expires=Thu, 01 Jan 1970")
    assert field(browser, "fate").startswith("destroyed")
    assert browser.get_cookie("mysessionid") is None


def test_a_second_login_reports_a_changed_cookie_with_a_new_id(browser: webdriver.Chrome, app_url: str, viewport: str):
    browser.get(f"{app_url}/overview")
    submit(browser, "login")
    assert field(report(browser), "cookie") == "NEW"
    assert "ADDED authenticated = true" in field(browser, "changes")
    assert "CHANGED session.user: none → iris" in field(browser, "changes")
    first = held_cookie(browser, "mycookiesessionnameid")["value"]

    submit(browser, "login")
    panel = report(browser)
    save_viewport_screenshot(browser, f"click-report-{viewport}-second-login")
    assert field(browser, "cookie") == "CHANGED"
    assert "a new session ID for the same data" in panel.text
    assert field(browser, "fate").startswith("the same data under a new ID")
    assert held_cookie(browser, "mycookiesessionnameid")["value"] != first


def test_a_flash_report_names_the_message_and_the_page_that_consumed_it(
    browser: webdriver.Chrome, app_url: str, viewport: str
):
    browser.get(f"{app_url}/flash/")
    browser.find_element(By.ID, "message").send_keys("Saved.")
    submit(browser, "flash-it")
    report(browser)
    assert field(browser, "status") == "302 Found"
    assert 'ADDED flash a flash() message = {"level": "info", "message": "Saved."}' in field(browser, "changes")
    assert field(browser, "consumed").startswith("this page read 1 flash message: consumed")
    flashes = browser.find_element(By.CSS_SELECTOR, '[data-inspector="flashes"]')
    assert "a flash() message" in flashes.text
    assert "@" not in flashes.text
    assert flashes.find_element(By.CSS_SELECTOR, "tbody tr").get_attribute("data-change") == "consumed"


# -- 2. errors come back to the step page, or to a page in the site's layout -------------------------


def test_a_refused_form_comes_back_to_the_step_page(browser: webdriver.Chrome, app_url: str, viewport: str):
    browser.get(f"{app_url}/database/page")
    value = browser.find_element(By.ID, "value")
    value.clear()
    value.send_keys("twenty")
    submit(browser, "set-value")
    assert browser.current_url == f"{app_url}/database/page"
    panel = report(browser)
    save_viewport_screenshot(browser, f"error-{viewport}-refused-value")
    assert "refused" in attribute(panel, "class")
    assert field(browser, "refusal").startswith("Bad Request: the value 'twenty' is not a 64-bit integer")
    assert "plain-text 400 Bad Request" in field(browser, "refusal")
    assert browser.get_cookie("sessionscookieid") is None  # nothing was stored

    # Too large for the session (64 KiB): refused the same way, with the 413 curl would get.
    browser.execute_script("document.getElementById('value').value = 'x'.repeat(70000)")
    browser.find_element(By.ID, "kind").send_keys("a string")
    submit(browser, "set-value")
    assert field(report(browser), "refusal").startswith("Payload Too Large: session is")
    # The reason phrase is the standard library's: "Request Entity Too Large", "Content Too Large" from 3.13.
    assert f"plain-text 413 {HTTPStatus(413).phrase}" in field(browser, "refusal")


def error_page(driver: webdriver.Chrome, status: int) -> WebElement:
    page = driver.find_element(By.CSS_SELECTOR, "[data-error-status]")
    assert page.get_attribute("data-error-status") == str(status)
    assert driver.execute_script("return getComputedStyle(document.body).backgroundColor") == "rgb(251, 251, 248)"
    assert in_first_viewport(driver, driver.find_element(By.CSS_SELECTOR, "[data-way-back]"))
    return page


def test_unknown_and_post_only_addresses_get_a_page_with_a_way_back(
    browser: webdriver.Chrome, app_url: str, viewport: str
):
    browser.get(f"{app_url}/database/nothing-here")
    assert error_page(browser, 404).find_element(By.TAG_NAME, "h1").text == "404 Not Found"
    save_viewport_screenshot(browser, f"error-{viewport}-404")
    way_back = browser.find_element(By.CSS_SELECTOR, "[data-way-back]")
    assert way_back.text == "← Back to the Database step"

    browser.get(f"{app_url}/flash/message")  # a form's target, typed in the address bar
    assert "only answers a form's POST" in error_page(browser, 405).text
    save_viewport_screenshot(browser, f"error-{viewport}-405")
    browser.find_element(By.CSS_SELECTOR, "[data-way-back]").click()
    assert browser.current_url == f"{app_url}/flash/"

    browser.get(f"{app_url}/nowhere")
    assert browser.find_element(By.CSS_SELECTOR, "[data-way-back]").text == "← All steps"


def test_a_store_outage_is_a_page_with_a_way_to_try_again(browser: webdriver.Chrome, tmp_path: Path, viewport: str):
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with LiveApp("--store=redis", f"--redis-url={redis.url}") as app:
            browser.get(f"{app.url}/database/page")
            submit(browser, "set")
            redis.stop()
            browser.refresh()
            page = error_page(browser, 503)
            save_viewport_screenshot(browser, f"error-{viewport}-503")
            assert "The session store is not answering" in page.text
            assert "Service Unavailable: the session store is unavailable" in page.text  # what curl gets
            try_again = browser.find_element(By.CSS_SELECTOR, "[data-way-back]")
            assert try_again.text == "Try again"
            redis.start()  # empty: this server keeps nothing on disk
            try_again.click()
            assert browser.find_element(By.CSS_SELECTOR, "[data-store]").text == "redis"
    finally:
        redis.stop()


# -- 6. the small things ------------------------------------------------------------------------------


def test_a_skip_link_is_the_first_stop_and_leads_to_the_content(browser: webdriver.Chrome, app_url: str):
    browser.get(f"{app_url}/overview")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.text == "Skip to the content"
    assert in_first_viewport(browser, focused)
    focused.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"


def test_keys_never_break_mid_word_and_ending_buttons_look_live(browser: webdriver.Chrome, app_url: str):
    browser.get(f"{app_url}/overview")
    submit(browser, "login")
    key = next(
        code
        for code in browser.find_elements(By.CSS_SELECTOR, "table.values td:first-child code")
        if code.text == "authenticated"
    )
    assert browser.execute_script("return arguments[0].getClientRects().length", key) == 1  # one line
    logout = browser.find_element(By.ID, "logout")
    colour, cursor = browser.execute_script(
        "const s = getComputedStyle(arguments[0]); return [s.color, s.cursor]", logout
    )
    assert colour == "rgb(161, 40, 40)"
    assert cursor == "pointer"


def test_plain_text_pages_find_a_favicon(browser: webdriver.Chrome, app_url: str):
    browser.get(f"{app_url}/secret")
    assert browser.find_element(By.CSS_SELECTOR, "[data-error-detail]").text == "Forbidden"
    browser.get(f"{app_url}/favicon.ico")
    entries = [entry["message"] for entry in severe_console_entries(browser)]
    assert not any("favicon" in message for message in entries), entries
