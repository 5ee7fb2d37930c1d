"""A real browser keeps working after the app restarts on its default memory store.

The restart drops every session, but the browser keeps its cookie. The page it
reloads must render a form that posts: the XSRF check and the page agree that
the cookie's session is gone. Debian's headless Chromium, driven by Selenium,
against ``python app.py`` on a real port.
"""

from __future__ import annotations

from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.support.browser_tools import held_cookie, inspector, save_screenshot, submit
from tests.support.live_app import LiveApp

COOKIE = "mysessionid"


def answer(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.CSS_SELECTOR, '[data-answer="get"]').text


def test_after_a_restart_on_memory_the_reloaded_page_sets_again(browser: webdriver.Chrome):
    with LiveApp() as app:
        port = app.port
        browser.get(f"{app.url}/standalone/page")
        submit(browser, "set")
        assert answer(browser) == "The name on the /set was: iris"
        dead = held_cookie(browser, COOKIE)
        assert dead is not None

    with LiveApp(port=port):  # the same address: the browser just reloads
        browser.refresh()
        assert answer(browser).strip() == "The name on the /set was:"  # the session is gone
        assert held_cookie(browser, COOKIE)["value"] == dead["value"]  # a well-formed unknown ID is kept
        submit(browser, "set")
        assert "403" not in browser.title
        assert "Forbidden" not in browser.page_source
        assert answer(browser) == "The name on the /set was: iris"
        assert held_cookie(browser, COOKIE)["value"] != dead["value"]
        assert inspector(browser, "is-new") == "False"
        save_screenshot(browser, "standalone-after-restart")
