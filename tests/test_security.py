"""The OWASP session-management checklist, item by item, over real HTTP.

Each test fails if its default or mechanism is taken away. Items covered
elsewhere: strict IDs and fixation (test_overview), timeouts and Max-Age
(test_session_http), logging (test_lifecycle_logging), bad input (test_bad_input).
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from sessions import Config, CookieAttributes, SessionManager, xsrf
from tests.support.api_app import CountingMemoryStore, make_api_app
from tests.support.cookie_client import CookieClient, set_cookies, text
from tests.support.live_app import LiveApp

COOKIE = "api"


@pytest.fixture
def store(clock):
    return CountingMemoryStore(clock=clock)


@pytest.fixture
def manager(store, clock, request):
    options = {"cookie_name": COOKIE, **getattr(request, "param", {})}
    return SessionManager(store=store, clock=clock, **options)


@pytest.fixture
def app(manager):
    return make_api_app(manager, xsrf_cookies=True, cookie_secret="test secret, not for production " * 2)


async def set_value(client: CookieClient, key: str, value) -> None:
    token = text(await client.get("/form"))
    await client.fetch(f"/values/{key}", method="POST", body=json.dumps(value), headers={"X-XSRFToken": token})


async def post_form(client: CookieClient, token: str | None):
    body = urlencode({"_xsrf": token} if token else {})
    return await client.fetch("/form", method="POST", body=body)


# -- CSRF: tokens bound to the session ----------------------------------------


@pytest.mark.gen_test
async def test_a_sessions_own_token_is_accepted(client):
    await set_value(client, "a", 1)
    token = text(await client.get("/form"))
    assert text(await post_form(client, token)) == "accepted"


@pytest.mark.gen_test
async def test_a_token_from_another_session_is_refused(client, other_client):
    await set_value(client, "a", 1)
    await set_value(other_client, "b", 2)
    theirs = text(await other_client.get("/form"))
    response = await post_form(client, theirs)
    assert response.code == 403


@pytest.mark.gen_test
async def test_tokens_are_masked_per_response_but_stay_valid(client):
    await set_value(client, "a", 1)
    first, second = text(await client.get("/form")), text(await client.get("/form"))
    assert first != second
    assert (await post_form(client, first)).code == 200
    assert (await post_form(client, second)).code == 200


@pytest.mark.gen_test
async def test_regenerate_rotates_the_token(client):
    await set_value(client, "a", 1)
    before = text(await client.get("/form"))
    await client.fetch("/lifecycle/regenerate", method="POST", body=urlencode({"_xsrf": before}))
    assert (await post_form(client, before)).code == 403
    after = text(await client.get("/form"))
    assert (await post_form(client, after)).code == 200


@pytest.mark.gen_test
async def test_a_missing_or_garbled_token_is_refused(client):
    await set_value(client, "a", 1)
    assert (await post_form(client, None)).code == 403
    assert (await post_form(client, "2|zz|zz|0")).code == 403
    assert (await post_form(client, "not a token")).code == 403


@pytest.mark.gen_test
async def test_without_a_session_tornados_double_submit_token_applies(client, store):
    token = text(await client.get("/form"))
    assert "_xsrf" in client.jar
    assert (await post_form(client, token)).code == 200
    assert (await post_form(client, None)).code == 403
    assert len(store) == 0


# -- The ID is accepted from the cookie only -----------------------------------


@pytest.mark.gen_test
async def test_the_session_id_is_accepted_from_the_cookie_only(client, other_client):
    await set_value(client, "a", 1)
    session_id = client.jar[COOKIE]
    for sneaky in ({"X-Session-Id": session_id}, {"Authorization": f"Bearer {session_id}"}):
        body = json.loads((await other_client.get("/values", headers=sneaky)).body)
        assert body["len"] == 0
    body = json.loads((await other_client.get(f"/values?{COOKIE}={session_id}&sid={session_id}")).body)
    assert body["len"] == 0


# -- Cookie attributes -------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("manager", [{"cookie": CookieAttributes(samesite="Strict")}], indirect=True)
async def test_samesite_strict_is_configurable(client, manager):
    token = text(await client.get("/form"))
    response = await client.fetch("/values/a", method="POST", body="1", headers={"X-XSRFToken": token})
    assert "SameSite=Strict" in set_cookies(response)[COOKIE].split("; ")


@pytest.mark.gen_test
@pytest.mark.parametrize("manager", [{"cookie": CookieAttributes(samesite="None")}], indirect=True)
async def test_a_samesite_none_cookie_is_always_secure(client, manager):
    """Browsers drop SameSite=None without Secure: over plain HTTP the session would be lost without a word."""
    token = text(await client.get("/form"))
    response = await client.fetch("/values/a", method="POST", body="1", headers={"X-XSRFToken": token})
    attributes = set_cookies(response)[COOKIE].split("; ")
    assert "SameSite=None" in attributes
    assert "Secure" in attributes


@pytest.mark.gen_test
@pytest.mark.parametrize("manager", [{"cookie_name": "__Host-api"}], indirect=True)
async def test_host_prefixed_cookies_are_secure_host_only_and_path_root(client, manager):
    token = text(await client.get("/form"))
    response = await client.fetch("/values/a", method="POST", body="1", headers={"X-XSRFToken": token})
    header = set_cookies(response)["__Host-api"]
    attributes = header.split("; ")[1:]
    assert "Secure" in attributes
    assert "Path=/" in attributes
    assert not any(attribute.startswith("Domain=") for attribute in attributes)


def test_a_host_prefixed_cookie_refuses_a_domain():
    with pytest.raises(ValueError, match="__Host-"):
        SessionManager(cookie_name="__Host-sid", cookie=CookieAttributes(domain="example.com"))


@pytest.mark.gen_test
async def test_no_domain_is_guessed_from_the_host(client):
    for host in ("example.com", "sub.example.co.uk", "localhost", "127.0.0.1", "[::1]"):
        other = CookieClient(client.http_client, client.base_url)
        token = text(await other.get("/form"))
        response = await other.fetch("/values/a", method="POST", body="1", headers={"X-XSRFToken": token, "Host": host})
        assert "Domain=" not in set_cookies(response)[COOKIE], host


def test_secure_is_set_behind_an_https_proxy_only_when_xheaders_is_on():
    proto = {"X-Forwarded-Proto": "https"}
    with LiveApp("--xheaders") as app:
        assert "Secure" in _login_cookie(app.url, proto).split("; ")
        assert "Secure" not in _login_cookie(app.url, {}).split("; ")
    with LiveApp() as app:  # without --xheaders a client cannot claim HTTPS
        assert "Secure" not in _login_cookie(app.url, proto).split("; ")


def _login_cookie(base_url: str, headers: dict[str, str]) -> str:
    import urllib.request

    request = urllib.request.Request(base_url + "/login", headers=headers)
    with urllib.request.urlopen(request) as response:
        return response.headers["Set-Cookie"]


# -- Size limits -----------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("manager", [{"max_session_bytes": 1000}], indirect=True)
async def test_an_oversized_session_gets_a_clear_413_and_keeps_its_data(client, manager):
    await set_value(client, "small", "x" * 100)
    token = text(await client.get("/form"))
    response = await client.fetch(
        "/values/big", method="POST", body=json.dumps("y" * 2000), headers={"X-XSRFToken": token}
    )
    body = json.loads(response.body)
    assert body["error"] == "SessionTooLargeError"
    assert "over the limit of 1000 bytes" in body["message"]
    values = json.loads((await client.get("/values")).body)["values"]
    assert values == {"small": ["x" * 100, "str"]}


@pytest.mark.gen_test
@pytest.mark.parametrize("manager", [{"max_session_bytes": 1000}], indirect=True)
async def test_growth_in_place_past_the_limit_is_a_413_at_save_not_a_500(client, manager):
    await set_value(client, "cart", ["z" * 985])  # 995 bytes with its key: fits
    response = await client.get("/mutate/cart")  # appends "more" to the list get() returned: 1002
    assert response.code == 413
    assert "over the limit of 1000 bytes" in text(response)
    values = json.loads((await client.get("/values")).body)["values"]
    assert values == {"cart": [["z" * 985], "list"]}


@pytest.mark.gen_test
async def test_sessions_have_a_size_limit_by_default(client, manager):
    assert manager.config.max_session_bytes == 64 * 1024
    assert timedelta(minutes=30) == manager.config.idle_timeout


@pytest.mark.parametrize(
    ("ring", "error", "message"),
    [
        ("one secret, not a list", TypeError, "xsrf_secrets must be a list of secrets, newest first, not one str"),
        (b"one secret, as bytes", TypeError, "xsrf_secrets must be a list of secrets, newest first, not one bytes"),
        (None, TypeError, "xsrf_secrets must be a list of secrets, newest first, not NoneType"),
        (["new secret", 7], TypeError, "xsrf_secrets[1] must be str or bytes, not int"),
        (["new secret", ""], ValueError, "xsrf_secrets[1] is empty"),
    ],
)
def test_xsrf_secrets_that_are_not_a_ring_are_refused_when_the_manager_is_made(ring, error, message):
    """One string would be one secret per character (``list("abc")``): three guessable one-letter keys.

    Refused with the option's name where the app makes its managers, at start, not
    when the first token is made; the message never shows a secret.
    """
    for make in (SessionManager, Config):
        with pytest.raises(error) as refused:
            make(xsrf_secrets=ring)
        assert str(refused.value) == message
        assert "one secret" not in str(refused.value)
        assert "new secret" not in str(refused.value)


def test_the_managers_ring_keys_the_tokens_else_tornados_cookie_secret():
    manager = SessionManager(xsrf_secrets=["ring-new-9f2c", "ring-old-3a7d"])
    assert manager.config.xsrf_secrets == ("ring-new-9f2c", "ring-old-3a7d")  # a tuple: the frozen config's ring
    assert "ring-" not in repr(manager.config)  # a logged config shows no secret
    secrets = xsrf.token_secrets(manager.config.xsrf_secrets, {"cookie_secret": "tornado's"})
    assert secrets == ["ring-new-9f2c", "ring-old-3a7d"]
    assert xsrf.token_secrets((), {"cookie_secret": "tornado's"}) == ["tornado's"]
    assert xsrf.token_secrets((), {"cookie_secret": {1: "v1", 2: "v2"}}) == ["v2", "v1"]  # Tornado's versions
    assert xsrf.token_secrets((), {}) == []


def test_the_ring_given_where_it_used_to_be_is_refused_not_ignored():
    # Ignored, it would quietly key the tokens with cookie_secret (or leave them unbound to the session).
    for ring in ((), ("ring-new-9f2c",)):
        with pytest.raises(TypeError, match=r"xsrf_session_secrets moved: give SessionManager\(xsrf_secrets="):
            xsrf.token_secrets(ring, {"xsrf_session_secrets": ["old-place-7b1e"], "cookie_secret": "tornado's"})
