"""The securecookie step over real HTTP: Iris's own test, tampering, rotation, and where secrets come from.

The routes it shares with the standalone step are tested for both in test_standalone.py.
"""

from __future__ import annotations

import http.client
import logging
import re
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from tornado.options import options

import app as app_module
from sessions import EncryptedCodec, KeyRing, xsrf
from tests.support.cookie_client import CookieClient, set_cookies, text
from tests.support.live_app import LiveApp

COOKIE = "mycustomsessionid"
NS = COOKIE  # each manager keeps its sessions in the namespace of its cookie name
OLD = "the securecookie tests' older secret, 32+ bytes"
NEW = "the securecookie tests' newer secret, 32+ bytes"
EMPTY = "The name on the /set was: "
HERE = Path(__file__).parent.parent


@pytest.fixture
def app(store, clock):
    return app_module.make_app(store=store, clock=clock, secrets=[NEW, OLD])


def codec(*secrets: str, clock=None) -> EncryptedCodec:
    return EncryptedCodec(KeyRing(list(secrets)), max_age=timedelta(hours=2), clock=clock or (lambda: 0.0))


@pytest.mark.gen_test
async def test_iris_encode_decode_sequence(client: CookieClient):
    """Iris's securecookie/main_test.go, step by step, with a client that keeps cookies."""
    response = await client.get("/securecookie/set")
    assert response.code == 200
    assert set_cookies(response)
    assert text(response) == "All ok session set to: iris"

    response = await client.get("/securecookie/get")
    assert (response.code, text(response)) == (200, "The name on the /set was: iris")
    assert (await client.get("/securecookie/delete")).code == 200
    response = await client.get("/securecookie/get")
    assert (response.code, text(response)) == (200, EMPTY)
    assert text(await client.get("/securecookie/set")) == "All ok session set to: iris"
    assert (await client.get("/securecookie/clear")).code == 200
    response = await client.get("/securecookie/get")
    assert (response.code, text(response)) == (200, EMPTY)


@pytest.mark.gen_test
async def test_the_cookie_carries_the_session_id_encrypted(client: CookieClient, store, clock):
    await client.get("/securecookie/set")
    value = client.jar[COOKIE]
    assert await store.load(NS, value) is None  # the value is not the ID...
    session_id = codec(NEW, clock=clock).decode(COOKIE, value).payload
    assert session_id not in value
    record = await store.load(NS, session_id)  # ...it opens to it
    assert record.fields == {"v:name": '"iris"'}


@pytest.mark.gen_test
async def test_every_cookie_is_encrypted_afresh(client: CookieClient, clock):
    await client.get("/securecookie/set")
    first = client.jar[COOKIE]
    clock.advance(60)
    await client.get("/securecookie/update")
    assert client.jar[COOKIE] != first
    opened = codec(NEW, clock=clock)
    assert opened.decode(COOKIE, client.jar[COOKIE]).payload == opened.decode(COOKIE, first).payload


def tampered_values(value: str) -> dict[str, str]:
    flip = {
        position: value[:position] + ("A" if value[position] != "A" else "B") + value[position + 1 :]
        for position in range(0, len(value), 7)
    }
    return {
        **{f"flip@{position}": changed for position, changed in flip.items()},
        "truncated": value[:-4],
        "extended": value + "AAAA",
        "garbage": "garbage",
        "plain id": "A" * 43,
        "oversized": value * 80,
        "non-ascii": value[:-1] + "é",
        "other secret": codec("someone else's secret, 32+ bytes long").encode(COOKIE, "A" * 43),
    }


@pytest.mark.gen_test
async def test_a_tampered_cookie_gets_200_and_a_fresh_session(client: CookieClient, other_client: CookieClient):
    await client.get("/securecookie/set")
    genuine = client.jar[COOKIE]
    for label, value in tampered_values(genuine).items():
        other_client.jar = {COOKIE: value}
        response = await other_client.get("/securecookie/get")
        assert (label, response.code, text(response)) == (label, 200, EMPTY)
        response = await other_client.get("/securecookie/set")
        assert (label, response.code) == (label, 200)
        assert other_client.jar[COOKIE] not in (value, genuine)
    assert text(await client.get("/securecookie/get")) == "The name on the /set was: iris"  # untouched


@pytest.mark.gen_test
async def test_a_value_made_for_another_cookie_name_is_refused(client: CookieClient, other_client: CookieClient, clock):
    await client.get("/securecookie/set")
    app_codec = codec(NEW, clock=clock)
    session_id = app_codec.decode(COOKIE, client.jar[COOKIE]).payload
    other_client.jar[COOKIE] = app_codec.encode("mysessionid", session_id)  # right key, wrong name
    assert text(await other_client.get("/securecookie/get")) == EMPTY


@pytest.mark.gen_test
async def test_a_cookie_made_under_the_old_key_works_and_is_reissued_under_the_new_one(client: CookieClient, clock):
    await client.get("/securecookie/set")
    session_id = codec(NEW, clock=clock).decode(COOKIE, client.jar[COOKIE]).payload
    # The same session's cookie as it was issued before NEW was added to the ring.
    client.jar[COOKIE] = codec(OLD, clock=clock).encode(COOKIE, session_id)

    response = await client.get("/securecookie/get")
    assert text(response) == "The name on the /set was: iris"
    assert COOKIE in set_cookies(response)
    envelope = codec(NEW, OLD, clock=clock).inspect(COOKIE, client.jar[COOKIE])
    assert (envelope.key_id, envelope.payload) == (KeyRing([NEW]).key_ids[0], session_id)

    response = await client.get("/securecookie/get")  # re-issued once, then left alone
    assert COOKIE not in set_cookies(response)


@pytest.mark.gen_test
async def test_an_active_cookie_is_refreshed_before_it_ages_out(client: CookieClient, clock):
    await client.get("/securecookie/set")
    clock.advance(3601)  # past half the codec's 2-hour max age
    response = await client.get("/securecookie/get")
    assert "Max-Age=3599;" in set_cookies(response)[COOKIE]  # the session's own end is unchanged
    assert codec(NEW, clock=clock).inspect(COOKIE, client.jar[COOKIE]).issued_at == int(clock.now)


# -- XSRF tokens across a secret rotation ----------------------------------------------


def form_token(html: str) -> str:
    found = re.search(r'name="_xsrf" value="([^"]+)"', html)
    assert found, "the page has no form"
    return found[1]


async def post_set(client: CookieClient, token: str):
    return await client.fetch("/securecookie/set", method="POST", body=urlencode({"_xsrf": token}))


@pytest.mark.gen_test
async def test_a_form_token_made_under_any_secret_of_the_ring_is_accepted(client: CookieClient, clock):
    await client.get("/securecookie/set")
    session_id = codec(NEW, clock=clock).decode(COOKIE, client.jar[COOKIE]).payload

    page_token = form_token(text(await client.get("/securecookie/page")))
    assert xsrf.matches(page_token, xsrf.binding(NEW, session_id))  # new tokens: the newest secret
    assert not xsrf.matches(page_token, xsrf.binding(OLD, session_id))

    rendered_before_the_rotation = xsrf.mask(xsrf.binding(OLD, session_id)).decode()
    assert (await post_set(client, rendered_before_the_rotation)).code == 303
    forged = xsrf.mask(xsrf.binding("a secret this app never had, 32+ bytes", session_id)).decode()
    assert (await post_set(client, forged)).code == 403


def test_a_form_rendered_before_a_restart_with_a_new_secret_still_posts(tmp_path: Path):
    """Key rotation for real: ``python app.py --secret=OLD``, then ``--secret=NEW,OLD`` on the same SQLite."""
    store = ["--store=sqlite", f"--sqlite-path={tmp_path / 'sessions.sqlite3'}"]
    old, new = OLD.replace(",", ""), NEW.replace(",", "")  # --secret is comma-separated
    with LiveApp(*store, f"--secret={old}") as before:
        login = urllib.request.urlopen(f"{before.url}/login?user=ann")
        cookie = login.headers["Set-Cookie"].split(";")[0]
        page = urllib.request.urlopen(urllib.request.Request(f"{before.url}/overview", headers={"Cookie": cookie}))
        token = form_token(page.read().decode())

    with LiveApp(*store, f"--secret={new},{old}") as after:
        connection = http.client.HTTPConnection("127.0.0.1", after.port, timeout=10)
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        connection.request("POST", "/logout", body=urlencode({"_xsrf": token}), headers=headers)
        response = connection.getresponse()
        connection.close()
    assert (response.status, response.getheader("Location")) == (303, "/overview")


# -- where the secrets come from ---------------------------------------------------


def test_secrets_come_from_the_option_then_the_environment(monkeypatch):
    # tornado.options keeps options in a registry, not as attributes, so no monkeypatch.setattr here.
    saved = options.secret
    try:
        options.secret = []
        monkeypatch.setenv("SESSION_SECRETS", f" {NEW.replace(',', '')} , {OLD.replace(',', '')} ,")
        assert app_module.configured_secrets() == [NEW.replace(",", ""), OLD.replace(",", "")]
        options.secret = [OLD]
        assert app_module.configured_secrets() == [OLD]
        monkeypatch.delenv("SESSION_SECRETS")
        options.secret = []
        assert app_module.configured_secrets() == []
    finally:
        options.secret = saved


def test_without_secrets_the_app_warns_that_sessions_will_not_survive_a_restart(caplog):
    with caplog.at_level(logging.WARNING, logger="app"):
        app_module.make_app()
    assert "will not survive a restart" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app"):
        app_module.make_app(secrets=[NEW])
    assert caplog.text == ""


def test_generate_secret_prints_a_fresh_secret_and_exits():
    def generate() -> str:
        done = subprocess.run(
            [sys.executable, "app.py", "--generate-secret"], cwd=HERE, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    first, second = generate(), generate()
    assert first != second
    assert len(first) >= 43
    KeyRing([first])  # usable as it is
