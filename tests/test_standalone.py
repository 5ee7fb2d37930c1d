"""The standalone step over real HTTP; the securecookie step shares its routes and texts, so the
behaviour tests here run against both (test_securecookie.py adds what encryption changes)."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from tests.support.cookie_client import CookieClient, set_cookies, text

STEPS = [("/standalone", "mysessionid"), ("/securecookie", "mycustomsessionid")]
HOME = "You should navigate to the /set, /get, /delete, /clear,/destroy instead"
SET = "All ok session set to: iris"
GOT = "The name on the /set was: iris"
EMPTY = "The name on the /set was: "
TWO_HOURS = 7200


def attributes(header: str) -> dict[str, str]:
    """``Set-Cookie`` attributes by lower-case name (flags map to "")."""
    _, *parts = header.split("; ")
    return {name.lower(): value for name, _, value in (part.partition("=") for part in parts)}


@pytest.fixture(params=STEPS, ids=["standalone", "securecookie"])
def step(request) -> tuple[str, str]:
    return request.param


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/", ""])
async def test_home(client: CookieClient, step, path):
    prefix, _ = step
    response = await client.get(prefix + path)
    assert (response.code, text(response)) == (200, HOME)
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"


@pytest.mark.gen_test
async def test_standalone_walkthrough(client: CookieClient):
    """The standalone step with a cookie-keeping client (the same sequence as Iris's securecookie test)."""
    expected = [("set", SET), ("get", GOT), ("delete", ""), ("get", EMPTY), ("set", SET), ("clear", ""), ("get", EMPTY)]
    for route, body in expected:
        response = await client.get(f"/standalone/{route}")
        assert (route, response.code, text(response)) == (route, 200, body)
    assert "mysessionid" in client.jar


@pytest.mark.gen_test
async def test_set_sends_a_cookie_that_lasts_two_hours(client: CookieClient, clock, step):
    prefix, cookie = step
    header = set_cookies(await client.get(f"{prefix}/set"))[cookie]
    assert attributes(header) == {
        "expires": formatdate(clock.now + TWO_HOURS, usegmt=True),
        "max-age": str(TWO_HOURS),
        "path": "/",
        "httponly": "",
        "samesite": "Lax",
    }


@pytest.mark.gen_test
async def test_without_a_session_nothing_is_created(client: CookieClient, store, step):
    prefix, _ = step
    for route, body in [("get", EMPTY), ("delete", ""), ("clear", ""), ("update", ""), ("destroy", "")]:
        response = await client.get(f"{prefix}/{route}")
        assert (route, response.code, text(response)) == (route, 200, body)
        assert "Set-Cookie" not in response.headers
    assert len(store) == 0
    assert client.jar == {}


@pytest.mark.gen_test
async def test_update_extends_the_session_by_two_hours(client: CookieClient, clock, step):
    prefix, cookie = step
    await client.get(f"{prefix}/set")
    clock.advance(3600)
    response = await client.get(f"{prefix}/update")
    assert (response.code, text(response)) == (200, "")
    sent = attributes(set_cookies(response)[cookie])
    assert sent["max-age"] == str(TWO_HOURS)
    assert sent["expires"] == formatdate(clock.now + TWO_HOURS, usegmt=True)

    clock.advance(TWO_HOURS - 1)  # past the first deadline: the server extended it too
    assert text(await client.get(f"{prefix}/get")) == GOT
    clock.advance(1)
    assert text(await client.get(f"{prefix}/get")) == EMPTY


@pytest.mark.gen_test
async def test_the_session_ends_two_hours_after_it_was_made(client: CookieClient, clock, store, step):
    prefix, cookie = step
    await client.get(f"{prefix}/set")
    clock.advance(TWO_HOURS - 1)
    assert text(await client.get(f"{prefix}/get")) == GOT  # reading extends nothing
    clock.advance(1)
    response = await client.get(f"{prefix}/get")
    assert text(response) == EMPTY
    assert attributes(set_cookies(response)[cookie])["max-age"] == "0"
    assert len(store) == 0


@pytest.mark.gen_test
async def test_destroy_deletes_the_session_and_the_cookie_as_it_was_set(
    client: CookieClient, other_client: CookieClient, store, step
):
    prefix, cookie = step
    set_header = set_cookies(await client.get(f"{prefix}/set"))[cookie]
    copy = client.jar[cookie]
    response = await client.get(f"{prefix}/destroy")
    assert (response.code, text(response)) == (200, "")
    deleted = attributes(set_cookies(response)[cookie])
    assert set_cookies(response)[cookie].startswith(f"{cookie}=;")
    assert deleted.pop("max-age") == "0"
    assert deleted.pop("expires") == "Thu, 01 Jan 1970 00:00:00 GMT"
    kept = attributes(set_header)
    del kept["max-age"], kept["expires"]
    assert deleted == kept
    assert cookie not in client.jar
    assert len(store) == 0

    other_client.jar[cookie] = copy  # a copy taken before the logout is worthless
    assert text(await other_client.get(f"{prefix}/get")) == EMPTY


@pytest.mark.gen_test
async def test_an_immutable_value_cannot_be_changed_through_what_get_returned(client: CookieClient, step):
    prefix, _ = step
    response = await client.get(f"{prefix}/get_immutable")
    assert (response.code, text(response)) == (
        200,
        "please navigate to the <a href='set_immutable'>/set_immutable</a> first",
    )
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert "Set-Cookie" not in response.headers

    response = await client.get(f"{prefix}/set_immutable")
    assert (response.code, text(response)) == (200, "")
    for _ in range(2):  # and it holds on every later request
        response = await client.get(f"{prefix}/get_immutable")
        assert (response.code, text(response)) == (200, "[]businessModel[0].Name remains: Edward")
        assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"


@pytest.mark.gen_test
async def test_the_steps_do_not_share_sessions(client: CookieClient):
    await client.get("/standalone/set")
    assert text(await client.get("/securecookie/get")) == EMPTY
    assert text(await client.get("/standalone/get")) == GOT
