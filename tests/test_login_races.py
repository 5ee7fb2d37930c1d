"""Races and duplicate cookies never log a user out: the tutorial app on every store, over real HTTP.

A browser applies each answer's ``Set-Cookie`` as the answer arrives, so the
answer that arrives last decides what it holds; ``CookieClient`` does the same.
"""

from __future__ import annotations

import asyncio

import pytest

from app import make_app
from sessions import SessionStore
from tests.support.cookie_client import CookieClient, set_cookies, text

COOKIE = "mycookiesessionnameid"
SECRET = "The cake is a lie!"
TRIALS = 20
DOUBLE_CLICK = 6


@pytest.fixture
def store(any_store: SessionStore) -> SessionStore:
    return any_store


@pytest.fixture
def app(store, clock):
    return make_app(store=store, clock=clock)


@pytest.mark.gen_test(timeout=60)
async def test_six_logins_at_once_from_one_browser_leave_it_logged_in(http_client, base_url, store):
    logged_out = 0
    for _ in range(TRIALS):
        browser = CookieClient(http_client, base_url)
        await browser.get("/login?user=ann")
        responses = await asyncio.gather(*(browser.get("/login?user=ann") for _ in range(DOUBLE_CLICK)))
        assert [response.code for response in responses] == [200] * DOUBLE_CLICK
        logged_out += text(await browser.get("/secret")) != SECRET
    assert logged_out == 0, f"the browser ended logged out in {logged_out}/{TRIALS} trials"


async def logged_in_cookie(http_client, base_url, user: str = "ann") -> str:
    browser = CookieClient(http_client, base_url)
    await browser.get(f"/login?user={user}")
    return browser.jar[COOKIE]


# Values a sibling subdomain (or anything else) may have planted beside the real cookie.
JUNK = ["junk", "A" * 43]  # malformed; well-formed but unknown


@pytest.mark.gen_test
@pytest.mark.parametrize("junk", JUNK)
@pytest.mark.parametrize("valid_first", [True, False])
async def test_the_first_value_that_opens_a_live_session_wins(http_client, base_url, store, junk, valid_first):
    valid = await logged_in_cookie(http_client, base_url)
    values = [valid, junk] if valid_first else [junk, valid]
    browser = CookieClient(http_client, base_url)
    cookie = "; ".join(f"{COOKIE}={value}" for value in values)

    response = await browser.get("/secret", headers={"Cookie": cookie})

    assert (response.code, text(response)) == (200, SECRET)
    assert "Set-Cookie" not in response.headers  # nothing deleted


@pytest.mark.gen_test
async def test_of_two_live_sessions_the_first_sent_is_used(http_client, base_url, store):
    ann = await logged_in_cookie(http_client, base_url, "ann")
    bob = await logged_in_cookie(http_client, base_url, "bob")
    browser = CookieClient(http_client, base_url)
    response = await browser.get("/logout-everywhere", headers={"Cookie": f"{COOKIE}={bob}; {COOKIE}={ann}"})
    assert text(response) == "Logged out bob everywhere: 1 session(s) ended"
    browser.jar = {COOKIE: ann}
    assert text(await browser.get("/secret")) == SECRET


@pytest.mark.gen_test
async def test_the_cookie_is_deleted_only_when_every_value_is_proven_dead(http_client, base_url, store):
    browser = CookieClient(http_client, base_url)
    response = await browser.get("/secret", headers={"Cookie": f"{COOKIE}=junk; {COOKIE}=*"})
    assert response.code == 403
    assert "Max-Age=0" in set_cookies(response)[COOKIE]

    response = await browser.get("/secret", headers={"Cookie": f"{COOKIE}=junk; {COOKIE}={'A' * 43}"})
    assert response.code == 403
    assert "Set-Cookie" not in response.headers
