"""The tutorial in a real browser: Debian's headless Chromium, driven by Selenium.

The app runs as ``python app.py`` on a free port (real HTTP). Each step page is
saved as a screenshot in ``test-artifacts/screenshots/`` for a human to look at.
"""

from __future__ import annotations

import html
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from app import STEPS
from tests.support.browser_tools import (
    CHROMEDRIVER,
    CHROMIUM,
    attribute,
    held_cookie,
    inspector,
    save_screenshot,
    severe_console_entries,
    submit,
)
from tests.support.live_app import LiveApp
from tests.test_fetch_metadata import REFUSED

COOKIE = "mycookiesessionnameid"


def test_the_system_browser_is_used_and_nothing_is_downloaded(browser: webdriver.Chrome):
    assert browser.service.path == CHROMEDRIVER
    assert shutil.which("chromium") == CHROMIUM
    assert browser.capabilities["browserName"] in ("chrome", "chromium")


def test_log_in_see_the_secret_log_out_see_403(browser: webdriver.Chrome, app_url: str):
    browser.get(f"{app_url}/overview")
    assert browser.find_element(By.CSS_SELECTOR, "[data-secret-status]").get_attribute("data-secret-status") == "403"
    assert inspector(browser, "cookie") == "none"

    submit(browser, "login")
    assert browser.current_url == f"{app_url}/overview"
    answer = browser.find_element(By.CSS_SELECTOR, "[data-secret-status]")
    assert answer.get_attribute("data-secret-status") == "200"
    assert "The cake is a lie!" in answer.text
    held = held_cookie(browser, COOKIE)
    assert held["httpOnly"]
    assert held["sameSite"] == "Lax"
    assert inspector(browser, "cookie") == held["value"]
    assert inspector(browser, "is-new") == "False"
    assert browser.execute_script("return document.cookie").find(COOKIE) == -1  # HttpOnly: scripts cannot see it

    browser.get(f"{app_url}/secret")  # a plain-text route: a browser gets its answer in a small page
    assert shown_answer(browser) == "The cake is a lie!"

    browser.get(f"{app_url}/overview")
    submit(browser, "logout")
    assert browser.get_cookie(COOKIE) is None
    assert browser.find_element(By.CSS_SELECTOR, "[data-secret-status]").get_attribute("data-secret-status") == "403"
    browser.get(f"{app_url}/secret")
    assert shown_answer(browser) == "Forbidden"


def shown_answer(driver: webdriver.Chrome) -> str:
    """What a plain-text route answered: in its small page, its error page, or the bare text (a refusal)."""
    for selector in ("[data-plain-answer]", "[data-error-detail]"):
        found = driver.find_elements(By.CSS_SELECTOR, selector)
        if found:
            return found[0].text
    if driver.find_elements(By.CSS_SELECTOR, "[data-way-back]"):
        return ""  # the small page of an empty answer
    return driver.find_element(By.TAG_NAME, "body").text


def store_options(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    """``python app.py`` options for a store kind; Redis is the tests' real redis-server."""
    if kind == "sqlite":
        return ["--store=sqlite", f"--sqlite-path={tmp_path / 'sessions.sqlite3'}"]
    if kind == "redis":
        return ["--store=redis", f"--redis-url={request.getfixturevalue('redis_url')}"]
    return []


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_every_page_renders_without_console_errors_and_names_the_store(
    browser: webdriver.Chrome, kind: str, tmp_path: Path, request: pytest.FixtureRequest
):
    pages = [("index", "/")] + [(step["title"].lower().replace(" ", "-"), step["path"]) for step in STEPS]
    with LiveApp(*store_options(kind, tmp_path, request)) as app:
        for name, path in pages:
            browser.get(app.url + path)
            assert browser.find_element(By.CSS_SELECTOR, "[data-store-name]").text == kind
            assert (
                browser.execute_script("return getComputedStyle(document.body).backgroundColor") == "rgb(251, 251, 248)"
            )
            assert severe_console_entries(browser) == [], f"console errors on {path}"
            if kind == "memory":
                save_screenshot(browser, name)


def test_the_overview_page_after_login_renders_without_console_errors(browser: webdriver.Chrome, app_url: str):
    browser.get(f"{app_url}/overview")
    submit(browser, "login")
    assert severe_console_entries(browser) == []
    save_screenshot(browser, "overview-logged-in")


def test_a_flash_set_through_the_form_is_shown_once(browser: webdriver.Chrome, app_url: str):
    browser.get(f"{app_url}/flash/")
    assert browser.find_elements(By.CSS_SELECTOR, "li.flash") == []
    browser.find_element(By.ID, "message").send_keys("Saved <b>for once</b>")
    Select(browser.find_element(By.ID, "level")).select_by_value("success")
    submit(browser, "flash-it")

    assert browser.current_url == f"{app_url}/flash/"
    (shown,) = browser.find_elements(By.CSS_SELECTOR, "li.flash")
    assert shown.text == "success: Saved <b>for once</b>"  # shown as text, never run as HTML
    assert "flash-success" in attribute(shown, "class")
    assert "Saved <b>for once</b>" in browser.find_element(By.CSS_SELECTOR, '[data-inspector="flashes"]').text
    assert severe_console_entries(browser) == []
    save_screenshot(browser, "flash-messages-shown")

    browser.refresh()
    assert browser.find_elements(By.CSS_SELECTOR, "li.flash") == []
    assert browser.find_elements(By.CSS_SELECTOR, '[data-inspector="flashes"]') == []


def test_the_securecookie_page_shows_an_opaque_cookie_and_decodes_it(browser: webdriver.Chrome, app_url: str):
    browser.get(f"{app_url}/securecookie/page")
    assert inspector(browser, "cookie") == "none"
    submit(browser, "set")

    held = held_cookie(browser, "mycustomsessionid")
    assert held["httpOnly"]
    assert inspector(browser, "cookie") == held["value"]
    session_id = inspector(browser, "payload")
    assert len(session_id) >= 43
    assert session_id not in held["value"]
    assert len(inspector(browser, "key-id")) == 8
    assert "The name on the /set was: iris" in browser.find_element(By.CSS_SELECTOR, '[data-answer="get"]').text
    assert severe_console_entries(browser) == []
    save_screenshot(browser, "secure-cookie-set")

    # Tamper with one character, as an attacker holding the cookie could: the server does not open it.
    value = held["value"]
    tampered = value[:40] + ("B" if value[40] == "A" else "A") + value[41:]
    browser.delete_cookie("mycustomsessionid")
    browser.add_cookie({"name": "mycustomsessionid", "value": tampered, "path": "/", "httpOnly": True})
    browser.refresh()
    assert inspector(browser, "cookie") == tampered
    assert inspector(browser, "refused").startswith("does not open")
    assert (
        browser.find_element(By.CSS_SELECTOR, '[data-answer="get"]').text == "The name on the /set was:"
    )  # (Selenium trims)
    assert browser.get_cookie("mycustomsessionid") is None  # the server told the browser to drop it


def test_the_standalone_page_sets_extends_and_destroys(browser: webdriver.Chrome, app_url: str):
    browser.get(f"{app_url}/standalone/page")
    submit(browser, "set")
    submit(browser, "set_immutable")
    answer = browser.find_element(By.CSS_SELECTOR, '[data-answer="get_immutable"]').text
    assert answer == "[]businessModel[0].Name remains: Edward"
    assert "(in 120 min)" in inspector(browser, "expires")
    assert severe_console_entries(browser) == []
    save_screenshot(browser, "standalone-set")
    submit(browser, "destroy")
    assert browser.get_cookie("mysessionid") is None
    assert inspector(browser, "cookie") == "none"


def test_database_values_keep_their_type_and_survive_a_restart_on_sqlite(browser: webdriver.Chrome, tmp_path: Path):
    options = ["--store=sqlite", f"--sqlite-path={tmp_path / 'sessions.sqlite3'}"]
    with LiveApp(*options) as app:
        browser.get(f"{app.url}/database/page")
        assert browser.find_element(By.CSS_SELECTOR, "[data-store]").text == "sqlite"
        submit(browser, "set")
        submit(browser, "set-value")  # the form's defaults: age = 27, as an int
        rows = browser.find_elements(By.CSS_SELECTOR, "table.values tbody tr")
        assert sorted(row.text for row in rows) == ["age int 27", 'name str "iris"']
        cookie = inspector(browser, "cookie")
        assert severe_console_entries(browser) == []
        save_screenshot(browser, "database-sqlite")

    # A new process on the same file (and another port: cookies do not care about ports).
    with LiveApp(*options) as restarted:
        browser.get(f"{restarted.url}/database/page")
        assert inspector(browser, "cookie") == cookie
        assert inspector(browser, "is-new") == "False"
        rows = browser.find_elements(By.CSS_SELECTOR, "table.values tbody tr")
        assert sorted(row.text for row in rows) == ["age int 27", 'name str "iris"']
        assert "The 'name' on the /set was: iris" in browser.find_element(By.CSS_SELECTOR, '[data-answer="get"]').text


# -- another site's page navigating the browser to the app ------------------------------


class AttackerPage(BaseHTTPRequestHandler):
    """``/?to=URL``: a page that sends the browser, top level, to ``URL`` as soon as it loads."""

    def do_GET(self) -> None:
        target = html.escape(parse_qs(urlparse(self.path).query)["to"][0])
        body = f'<a id="go" href="{target}">win a prize</a><script>document.getElementById("go").click()</script>'
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def attacker_url() -> Iterator[str]:
    """The attacker's site: ``localhost`` on another port, a different site from the app's ``127.0.0.1``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), AttackerPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def follow_attacker_link(driver: webdriver.Chrome, attacker_url: str, target: str) -> str:
    """Open the attacker's page, wait until it has navigated the browser to ``target``; return the body."""
    driver.get(f"{attacker_url}/?to={target}")
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.current_url == target and d.execute_script("return document.readyState") == "complete"
    )
    return shown_answer(driver)


def test_another_site_cannot_log_the_user_out_everywhere(browser: webdriver.Chrome, app_url: str, attacker_url):
    browser.get(f"{app_url}/login?user=victim")  # typed in the address bar: Sec-Fetch-Site: none
    assert shown_answer(browser) == ""  # Iris's empty answer, in a page with a way back to the step
    assert browser.find_element(By.CSS_SELECTOR, "[data-way-back]").get_attribute("href") == f"{app_url}/overview"
    cookie = held_cookie(browser, COOKIE)["value"]

    # The Lax cookie does ride along on the cross-site navigation: a read-only route sees the session.
    assert follow_attacker_link(browser, attacker_url, f"{app_url}/secret") == "The cake is a lie!"
    assert follow_attacker_link(browser, attacker_url, f"{app_url}/logout-everywhere") == REFUSED
    assert follow_attacker_link(browser, attacker_url, f"{app_url}/login?user=mallory") == REFUSED

    assert held_cookie(browser, COOKIE)["value"] == cookie
    browser.get(f"{app_url}/overview")
    assert browser.find_element(By.CSS_SELECTOR, "[data-user]").text == "victim"

    browser.get(f"{app_url}/logout-everywhere")  # typed: still works
    assert shown_answer(browser) == "Logged out victim everywhere: 1 session(s) ended"
    assert browser.get_cookie(COOKIE) is None


def test_another_site_cannot_log_the_browser_in_as_the_attacker(browser: webdriver.Chrome, app_url: str, attacker_url):
    assert follow_attacker_link(browser, attacker_url, f"{app_url}/login?user=mallory") == REFUSED
    assert browser.get_cookie(COOKIE) is None
    browser.get(f"{app_url}/secret")
    assert shown_answer(browser) == "Forbidden"
