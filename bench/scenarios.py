"""The benchmark's scenarios, what each one requests, and how its cookie is obtained.

Each scenario names the store its server runs on, the path wrk loads, and,
when it needs a session, the path that issues the cookie first (``prime``).
Before a scenario is measured, one request checks that it answers what it
should (a 403 on ``/secret`` would otherwise be measured as a fast "read").
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass

from processes import HOST

OVERVIEW_COOKIE = "mycookiesessionnameid"
BENCH_COOKIE = "benchsid"
SECURECOOKIE_COOKIE = "mycustomsessionid"
DATABASE_COOKIE = "sessionscookieid"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    store: str  # which bench server (store) it runs on
    path: str
    expect: str  # the start of the body of a correct answer
    prime: str | None = None  # the path that issues the cookie this scenario sends
    cookie_name: str | None = None
    target: float | None = None  # the lowest ratio to bare Tornado the scenario should reach (docs/benchmarks.md)
    #: ``bench``: bench/server.py (the app plus the bench routes); ``app``: ``python app.py
    #: --logging=warning`` itself, one process, as a user runs it.
    server: str = "bench"


SCENARIOS = (
    Scenario(
        "anonymous", "anonymous request through the session mixin", "memory", "/bench/anonymous", "ok", target=0.97
    ),
    Scenario(
        "read-floor",
        "floor of a read: no session, /secret's answer and headers, same Cookie header",
        "memory",
        "/bench/same-answer",
        "The cake is a lie!",
        "/bench/login",
        BENCH_COOKIE,
    ),
    Scenario(
        "read-memory",
        "authenticated read (/secret), memory store",
        "memory",
        "/secret",
        "The cake is a lie!",
        "/login",
        OVERVIEW_COOKIE,
        0.85,
    ),
    Scenario(
        "write-memory",
        "write per request (increment), memory store",
        "memory",
        "/bench/count",
        "ok",
        "/bench/login",
        BENCH_COOKIE,
        0.80,
    ),
    Scenario(
        "new-session", "new session per request (/login, no cookie), memory store", "memory", "/login", "", target=0.75
    ),
    Scenario(
        "securecookie",
        "securecookie step (/securecookie/get, encrypted ID cookie), memory store",
        "memory",
        "/securecookie/get",
        "The name on the /set was: iris",
        "/securecookie/set",
        SECURECOOKIE_COOKIE,
        0.78,
    ),
    Scenario(
        "read-sqlite",
        "authenticated read (/secret), SQLite store",
        "sqlite",
        "/secret",
        "The cake is a lie!",
        "/login",
        OVERVIEW_COOKIE,
        0.77,
    ),
    Scenario(
        "write-sqlite",
        "write per request (increment), SQLite store",
        "sqlite",
        "/bench/count",
        "ok",
        "/bench/login",
        BENCH_COOKIE,
        0.60,
    ),
    Scenario(
        "read-redis",
        "authenticated read (/secret), Redis store",
        "redis",
        "/secret",
        "The cake is a lie!",
        "/login",
        OVERVIEW_COOKIE,
        0.70,
    ),
    Scenario(
        "write-redis",
        "write per request (increment), Redis store",
        "redis",
        "/bench/count",
        "ok",
        "/bench/login",
        BENCH_COOKIE,
        0.45,
    ),
    Scenario(
        "read-cookie",
        "authenticated read (overview /secret handler), cookie-only store",
        "cookie",
        "/bench/secret",
        "The cake is a lie!",
        "/bench/login",
        BENCH_COOKIE,
        0.80,
    ),
    Scenario(
        "write-cookie",
        "write per request (increment), cookie-only store",
        "cookie",
        "/bench/count",
        "ok",
        "/bench/login",
        BENCH_COOKIE,
        0.65,
    ),
    Scenario(
        "app-read-memory",
        "the app itself: /secret with a login cookie, memory store",
        "memory",
        "/secret",
        "The cake is a lie!",
        "/login",
        OVERVIEW_COOKIE,
        target=0.85,
        server="app",
    ),
    Scenario(
        "app-read-sqlite",
        "the app itself: /secret with a login cookie, SQLite store",
        "sqlite",
        "/secret",
        "The cake is a lie!",
        "/login",
        OVERVIEW_COOKIE,
        target=0.75,
        server="app",
    ),
    Scenario(
        "app-write-memory",
        "the app itself: /database/set/int/n/7 (a set on every request), memory store",
        "memory",
        "/database/set/int/n/7",
        "All ok session value of the 'n' is: 7",
        "/database/set/int/n/1",
        DATABASE_COOKIE,
        target=0.75,
        server="app",
    ),
)


def port_for(scenario: Scenario, ports: list[int]) -> int:
    """The bench server's ports are the app's, then the bench routes' (``/bench/...``); app.py has one."""
    return ports[1] if scenario.path.startswith("/bench/") else ports[0]


@dataclass
class Prepared:
    """A scenario ready to load: the cookie to send and what one answer looked like."""

    cookie: str | None
    sets_cookie: bool  # whether a measured response carries Set-Cookie


def prepare(scenario: Scenario, port: int) -> Prepared:
    """Obtain the scenario's cookie and check one answer; raise ``RuntimeError`` if either is wrong."""
    cookie = None
    if scenario.prime is not None:
        status, headers, _ = _get(port, scenario.prime, None)
        cookie = _cookie_from(headers, scenario.cookie_name)
        if status != 200 or cookie is None:
            raise RuntimeError(f"{scenario.prime} answered {status} without a {scenario.cookie_name} cookie")
    status, headers, body = _get(port, scenario.path, cookie)
    if status != 200 or not body.startswith(scenario.expect):
        raise RuntimeError(f"{scenario.name}: {scenario.path} answered {status} {body[:80]!r}")
    sets_cookie = any(name.lower() == "set-cookie" for name, _ in headers)
    return Prepared(cookie, sets_cookie)


def _get(port: int, path: str, cookie: str | None) -> tuple[int, list[tuple[str, str]], str]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode(errors="replace")
    finally:
        connection.close()


def _cookie_from(headers: list[tuple[str, str]], name: str | None) -> str | None:
    for header, value in headers:
        if header.lower() == "set-cookie" and value.startswith(f"{name}="):
            pair = value.split(";", 1)[0]
            return pair if pair != f"{name}=" else None
    return None
