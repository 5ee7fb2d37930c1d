"""Hostile and malformed input never produces a 5xx or a server-side exception.

These run against a real ``python app.py`` process over real HTTP; the server's
own output is read afterwards, so an exception it logged fails the test even if
the response looked fine.
"""

from __future__ import annotations

import http.client
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.live_app import LiveApp

SESSION_PATHS = [
    "/secret",
    "/login",
    "/logout",
    "/logout-everywhere",
    "/flash/get",
    "/flash/set",
    "/flash/test",
    "/flash/",
    "/standalone/set",
    "/standalone/get",
    "/standalone/update",
    "/standalone/get_immutable",
    "/securecookie/set",
    "/securecookie/get",
    "/securecookie/destroy",
    "/database/set",
    "/database/get",
    "/database/update",
]
COOKIE_NAMES = [
    "mycookiesessionnameid",
    "myappsessionid",
    "mysessionid",
    "mycustomsessionid",
    "sessionscookieid",
    "_xsrf",
    "x",
]


@pytest.fixture(scope="module")
def live_app():
    app = LiveApp()
    yield app
    code, output = app.stop()
    assert "Traceback" not in output, output[-3000:]
    assert "Uncaught exception" not in output, output[-3000:]
    assert code == 0


class Connection:
    """One keep-alive HTTP connection that reconnects when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(self, path: str, headers: dict[str, str]) -> int | None:
        """Return the status, or None when the server refused the request by closing.

        The server may close the connection after answering a malformed request
        (a 400); the request after that is retried once on a new connection.
        """
        for _ in range(2):
            try:
                self.conn.request("GET", path, headers=headers)
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        return None


@pytest.fixture
def connection(live_app):
    conn = Connection(live_app.port)
    yield conn
    conn.conn.close()


HOSTILE_COOKIES = [
    "",
    "mycookiesessionnameid=",
    "mycookiesessionnameid",
    "mycookiesessionnameid=;;;;",
    "mycookiesessionnameid=a; mycookiesessionnameid=b",  # duplicate
    "mycookiesessionnameid=" + "A" * 43 + "; mycookiesessionnameid=" + "B" * 43,
    'mycookiesessionnameid="quoted\\"value"',
    "mycookiesessionnameid=%00%ff%fe",
    "mycookiesessionnameid=*",
    "mycookiesessionnameid=../../../etc/passwd",
    "mycookiesessionnameid=" + "é" * 50,  # non-ASCII (sent as UTF-8 bytes, read as latin-1)
    "mycookiesessionnameid=" + "x" * 5000,
    "mycookiesessionnameid=" + "x" * 60_000,  # under Tornado's 64 KiB header limit
    "=; =; ==",
    "myappsessionid=" + "\x7f" * 10,
]


@pytest.mark.parametrize("cookie", HOSTILE_COOKIES, ids=range(len(HOSTILE_COOKIES)))
@pytest.mark.parametrize("path", ["/secret", "/login", "/logout", "/flash/get"])
def test_hostile_cookies_get_a_normal_answer(connection, cookie, path):
    status = connection.request(path, {"Cookie": cookie.encode().decode("latin-1")})
    assert status is not None
    assert status < 500


def test_a_cookie_header_beyond_tornados_limit_is_refused_cleanly(connection):
    status = connection.request("/secret", {"Cookie": "mycookiesessionnameid=" + "x" * 100_000})
    assert status in (None, 400, 431)  # Tornado closes the connection (or refuses) before any handler runs
    assert connection.request("/secret", {}) == 403  # and the server is fine afterwards


cookie_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters=";"), max_size=80
)
cookie_pairs = st.lists(
    st.tuples(st.sampled_from(COOKIE_NAMES) | st.text(string.ascii_letters, max_size=8), cookie_text), max_size=4
)
paths = st.sampled_from(SESSION_PATHS) | st.builds(
    lambda prefix, tail: prefix + tail,
    st.sampled_from(
        [
            "/",
            "/flash/",
            "/secret/",
            "/static/",
            "/database/set/",
            "/database/get/",
            "/database/set/int/",
            "/standalone/",
            "/securecookie/",
            "/login?user=",
        ]
    ),
    st.text(alphabet=string.ascii_letters + string.digits + "%._~-/!$&'()*+,;=:@", max_size=40),
)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=paths, pairs=cookie_pairs)
def test_fuzzed_cookies_and_paths_never_get_a_5xx(connection, path, pairs):
    header = "; ".join(f"{name}={value}" for name, value in pairs)
    status = connection.request(path, {"Cookie": header} if header else {})
    assert status is not None, (path, header)
    assert status < 500, (path, header, status)


ODD_SEGMENTS = ["%00", "%C3%A9t%C3%A9", "%E2%9C%93", "a%2Fb", "..", "%25", "%FF%FE", "x" * 300, "'%22%3Cb%3E"]


@pytest.mark.parametrize("segment", ODD_SEGMENTS, ids=range(len(ODD_SEGMENTS)))
def test_odd_route_parameters_get_a_normal_answer(connection, segment):
    for path in (
        f"/database/set/{segment}/{segment}",
        f"/database/get/{segment}",
        f"/database/set/int/{segment}/{segment}",
    ):
        status = connection.request(path, {})
        assert status is not None, path
        assert status < 500, (path, status)


def test_a_value_too_large_for_the_session_gets_a_clear_413(connection):
    cookie = {}
    big = "v" * 40_000  # fits in a URL, not twice in a 64 KiB session
    first = connection.conn
    first.request("GET", f"/database/set/a/{big}")
    response = first.getresponse()
    response.read()
    assert response.status == 200
    cookie["Cookie"] = response.getheader("Set-Cookie").split(";")[0]
    first.request("GET", f"/database/set/b/{big}", headers=cookie)
    response = first.getresponse()
    body = response.read().decode()
    assert response.status == 413
    assert "over the limit of 65536 bytes" in body
    first.request("GET", "/database/get/a", headers=cookie)
    response = first.getresponse()
    assert response.read().decode() == f"The 'a' on the /set was: {big}"  # nothing lost
