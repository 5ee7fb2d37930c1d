"""Session-bound XSRF tokens when the session behind the cookie dies, over real HTTP.

The page that renders a form and the check of its POST must agree on the
session whatever the store holds: after every way a session dies on the server
(a restart on memory, Redis flushed, eviction for space, "log out everywhere",
``destroy_all``), reloading the page gives a form that posts. And the check
must hold the request to the session it acts on: a dead session's token sent
with a planted ``sid=A`` ahead of the victim's ``sid=V`` is refused.
"""

from __future__ import annotations

import re
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from tornado.web import Application, RequestHandler

from sessions import MemoryStore, SessionManager, SessionXSRFMixin, XSRFRefusedError
from tests.support.cookie_client import CookieClient, text
from tests.support.live_app import LiveApp

COOKIE = "sid"
SECRET = "test secret, not for production " * 2
#: A token that is not a token of anything: the right shape, random bytes.
FORGED = "2|01020304|00112233445566778899aabbccddeeff|0"


class Page(SessionXSRFMixin, RequestHandler):
    """A page with a form, rendered as an app renders one: after loading the session."""

    async def get(self) -> None:
        await self.get_session()
        self.write(self.xsrf_token)


class Count(SessionXSRFMixin, RequestHandler):
    """The form's target: counts the session's posts."""

    async def post(self) -> None:
        session = await self.get_session()
        self.write(str(session.increment("count")))


class CountTellingRefusalsApart(Count):
    """``Count`` whose ``write_error`` tells a refused token apart, as an app that re-renders its form would."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs["exc_info"][1]
        kind = "refused token" if isinstance(error, XSRFRefusedError) else type(error).__name__
        self.finish(f"{status_code} {kind}: {self._reason}")


class Login(SessionXSRFMixin, RequestHandler):
    async def post(self) -> None:
        session = await self.get_session_manager().regenerate(self)
        session.user = self.get_argument("user")
        self.write("logged in")


class Logout(SessionXSRFMixin, RequestHandler):
    async def post(self) -> None:
        await self.get_session_manager().destroy(self)
        self.write("logged out")


def make_app(manager: SessionManager) -> Application:
    spec = {"session_manager": manager}
    routes = [
        ("/page", Page, spec),
        ("/count", Count, spec),
        ("/count-telling-refusals-apart", CountTellingRefusalsApart, spec),
        ("/login", Login, spec),
        ("/logout", Logout, spec),
    ]
    return Application(routes, xsrf_cookies=True, cookie_secret=SECRET)


@pytest.fixture
def store(request, clock):
    """The memory store; ``small``: one with room for two sessions; ``redis``: a real Redis."""
    kind = getattr(request, "param", "memory")
    if kind == "redis":
        return request.getfixturevalue("redis_store")
    return MemoryStore(clock=clock, max_bytes=2000 if kind == "small" else 64 * 1024 * 1024)


@pytest.fixture
def manager(store, clock) -> SessionManager:
    return SessionManager(cookie_name=COOKIE, store=store, clock=clock)


@pytest.fixture
def app(manager):
    return make_app(manager)


async def post(client: CookieClient, path: str, token: str, **fields: str):
    return await client.fetch(path, method="POST", body=urlencode({"_xsrf": token, **fields}))


async def reload_and_count(client: CookieClient) -> tuple[int, str]:
    """Reload the page, post its form: what a user does after an error."""
    response = await post(client, "/count", text(await client.get("/page")))
    return response.code, text(response)


async def counted_twice(client: CookieClient) -> str:
    """A user with a live session (the cookie holds its ID) who posted the form twice."""
    for expected in ("1", "2"):
        response = await post(client, "/count", text(await client.get("/page")))
        assert (response.code, text(response)) == (200, expected)
    return client.jar[COOKIE]


# -- every way a session dies: the reloaded form posts, into a fresh session ----------


@pytest.mark.gen_test
@pytest.mark.parametrize("store", ["small"], indirect=True)
async def test_a_session_evicted_for_space_does_not_lock_the_form(client, other_client, store):
    dead = await counted_twice(client)
    for _ in range(5):  # new visitors' posts push the first session out
        await reload_and_count(CookieClient(other_client.http_client, other_client.base_url))
    assert await store.load(COOKIE, dead) is None
    assert await reload_and_count(client) == (200, "1")
    assert client.jar[COOKIE] != dead


@pytest.mark.gen_test
async def test_log_out_everywhere_does_not_lock_the_other_devices_forms(client, other_client, manager):
    laptop, phone = client, other_client
    for device in (laptop, phone):
        await post(device, "/login", text(await device.get("/page")), user="ada")
    assert await manager.destroy_user("ada") == 2
    assert await reload_and_count(phone) == (200, "1")
    assert await reload_and_count(laptop) == (200, "1")


@pytest.mark.gen_test
async def test_destroy_all_does_not_lock_anyones_form(client, manager, store):
    dead = await counted_twice(client)
    await manager.destroy_all()
    assert await reload_and_count(client) == (200, "1")
    assert client.jar[COOKIE] != dead
    assert len(store) == 1


@pytest.mark.gen_test
@pytest.mark.parametrize("store", ["redis"], indirect=True)
async def test_redis_coming_back_empty_does_not_lock_the_form(client, raw, store):
    dead = await counted_twice(client)
    raw.flushall()
    assert await reload_and_count(client) == (200, "1")
    assert client.jar[COOKIE] != dead


@pytest.mark.gen_test
async def test_a_form_rendered_before_its_session_died_still_posts(client, manager):
    await counted_twice(client)
    token = text(await client.get("/page"))
    await manager.destroy_all()
    response = await post(client, "/count", token)
    assert (response.code, text(response)) == (200, "1")


def test_a_restart_on_the_memory_store_does_not_lock_the_tutorials_forms():
    """The tutorial on its default store: set a value, restart the app, reload the page, press Set."""
    browser = PlainBrowser()
    with LiveApp() as app:
        assert browser.submit(app.url, "/standalone/page", "/standalone/set")[0] == 303
        dead = browser.jar["mysessionid"]
    with LiveApp() as restarted:
        status, _ = browser.submit(restarted.url, "/standalone/page", "/standalone/set")
        assert status == 303
        assert browser.jar["mysessionid"] != dead
        assert "The name on the /set was: iris" in browser.get(restarted.url, "/standalone/get")[1]


# -- what the check still refuses --------------------------------------------------------


@pytest.mark.gen_test
async def test_a_forged_token_is_refused_with_a_dead_or_a_live_cookie(client, manager):
    await counted_twice(client)
    assert (await post(client, "/count", FORGED)).code == 403
    await manager.destroy_all()
    assert (await post(client, "/count", FORGED)).code == 403


@pytest.mark.gen_test
async def test_another_live_sessions_token_is_refused_with_a_dead_cookie(client, other_client, manager):
    await counted_twice(client)
    await manager.destroy_all()
    await counted_twice(other_client)
    theirs = text(await other_client.get("/page"))
    assert (await post(client, "/count", theirs)).code == 403


async def dead_session_planted(attacker: CookieClient) -> tuple[str, str]:
    """The attacker's own session A, logged out (dead), and its token, kept."""
    await counted_twice(attacker)
    planted, token = attacker.jar[COOKIE], text(await attacker.get("/page"))
    await post(attacker, "/logout", token)
    return token, f"{COOKIE}={planted}"


async def live_session_planted(attacker: CookieClient) -> tuple[str, str]:
    """Cookie tossing with the attacker's live session A and its token."""
    planted = await counted_twice(attacker)
    return text(await attacker.get("/page")), f"{COOKIE}={planted}"


async def tornados_xsrf_cookie_planted(attacker: CookieClient) -> tuple[str, str]:
    """Tornado's double-submit token of a visitor without a session, and its ``_xsrf`` cookie."""
    tornados = text(await attacker.get("/page"))
    return tornados, f"_xsrf={attacker.jar['_xsrf']}"


@pytest.mark.gen_test
@pytest.mark.parametrize(
    ("plant", "answer"),
    [
        (dead_session_planted, (403, False)),
        (tornados_xsrf_cookie_planted, (403, False)),
        (live_session_planted, (200, "3")),  # the request acts on A, the attacker's own session
    ],
    ids=["dead-session", "tornados-xsrf-cookie", "live-session"],
)
async def test_a_cookie_planted_ahead_of_the_victims_never_acts_on_the_victims_session(
    client: CookieClient, other_client: CookieClient, plant, answer: tuple[int, bool | str]
):
    """A token and a cookie of the attacker's sent ahead of the victim's ``sid=V``: refused, or acting on A, never V."""
    attacker, victim = client, other_client
    token, planted = await plant(attacker)
    victims = await counted_twice(victim)
    response = await victim.fetch(
        "/count", method="POST", body=urlencode({"_xsrf": token}), headers={"Cookie": f"{planted}; {COOKIE}={victims}"}
    )
    if response.code == 403:  # refused: and no session was started or sent for it
        assert (response.code, COOKIE in response.headers.get("Set-Cookie", "")) == answer
    else:
        assert (response.code, text(response)) == answer
    assert await reload_and_count(victim) == (200, "3")  # the victim's count was not touched


@pytest.mark.gen_test
async def test_every_refusal_of_a_token_is_one_error_type_at_the_check_and_at_the_load(client, other_client):
    """No token, a forged one (refused by the check), and a form loaded before a login elsewhere (by the load)."""
    target = "/count-telling-refusals-apart"
    missing = await client.fetch(target, method="POST", body="")
    assert text(missing) == "403 refused token: Forbidden: '_xsrf' argument missing from POST"
    await counted_twice(client)
    forged = await post(client, target, FORGED)
    assert text(forged) == "403 refused token: Forbidden: XSRF token does not match this session"

    anonymous_form = text(await other_client.get("/page"))  # Tornado's token: no session yet
    await post(other_client, "/login", text(await other_client.get("/page")), user="ada")  # another tab logs in
    stale = await post(other_client, target, anonymous_form)
    assert text(stale) == "403 refused token: Forbidden: XSRF token does not match this session"
    assert await reload_and_count(other_client) == (200, "1")  # nothing ran: ada's session counts from 1


@pytest.mark.parametrize("step", ["standalone", "securecookie"])
def test_the_tutorials_steps_refuse_a_dead_token_planted_ahead_of_the_victims_cookie(step: str):
    """The plain and the encrypted-cookie steps: the victim's value survives the planted cookie."""
    attacker, victim = PlainBrowser(), PlainBrowser()
    with LiveApp() as app:
        attacker.submit(app.url, f"/{step}/page", f"/{step}/set")
        name = next(cookie for cookie in attacker.jar if cookie != "_xsrf")
        planted, token = attacker.jar[name], attacker.token(app.url, f"/{step}/page")
        assert attacker.post(app.url, f"/{step}/destroy", token)[0] == 303
        victim.submit(app.url, f"/{step}/page", f"/{step}/set")
        victim_token = victim.token(app.url, f"/{step}/page")
        assert victim_token != token
        victim.cookie_header = f"{name}={planted}; {name}={victim.jar[name]}"
        assert victim.post(app.url, f"/{step}/clear", token)[0] == 403
        victim.cookie_header = None
        assert "The name on the /set was: iris" in victim.get(app.url, f"/{step}/get")[1]


# -- helpers ----------------------------------------------------------------------------


class PlainBrowser:
    """A cookie-keeping client for a live ``python app.py``, by ``http.client``: what a browser sends, nothing more."""

    def __init__(self) -> None:
        self.jar: dict[str, str] = {}
        #: Sent instead of the jar when set: a Cookie header as an attacker shapes it.
        self.cookie_header: str | None = None

    def request(self, base_url: str, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        host = urlsplit(base_url).netloc
        connection = HTTPConnection(host, timeout=30)
        headers = {"Accept": "text/plain"}
        cookie = self.cookie_header or "; ".join(f"{name}={value}" for name, value in self.jar.items())
        if cookie:
            headers["Cookie"] = cookie
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    self.remember(value)
            return response.status, response.read().decode()
        finally:
            connection.close()

    def remember(self, set_cookie: str) -> None:
        name, _, rest = set_cookie.partition("=")
        value = rest.split(";", 1)[0]
        if value in ("", '""') or "Max-Age=0" in set_cookie or "expires=Thu, 01 Jan 1970" in set_cookie:
            self.jar.pop(name, None)
        else:
            self.jar[name] = value

    def get(self, base_url: str, path: str) -> tuple[int, str]:
        return self.request(base_url, "GET", path)

    def token(self, base_url: str, page: str) -> str:
        status, body = self.request(base_url, "GET", page)
        found = re.search(r'name="_xsrf" value="([^"]+)"', body)
        assert status == 200, f"{page} answered {status}"
        assert found, f"{page} has no form"
        return found[1]

    def post(self, base_url: str, path: str, token: str) -> tuple[int, str]:
        return self.request(base_url, "POST", path, urlencode({"_xsrf": token}))

    def submit(self, base_url: str, page: str, action: str) -> tuple[int, str]:
        """Load ``page`` and post its form to ``action``, as a user pressing the button."""
        return self.post(base_url, action, self.token(base_url, page))
