"""Redis under more traffic and hostile neighbours than a tutorial sees (issue 13).

Each test runs ``python app.py --store=redis`` as a real process against a real
``redis-server`` and talks to it over real HTTP on loopback, with bounded loops.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from http.cookies import SimpleCookie

import pytest
import redis
from tornado.httpclient import AsyncHTTPClient

from app import make_app
from sessions.mixin import STORE_UNAVAILABLE_TEXT
from sessions.stores.redis import RedisStore
from tests.cookie_client import CookieClient, text
from tests.live_app import LiveApp

#: The database step's manager keeps its sessions in the namespace of its cookie name.
COOKIE = "sessionscookieid"


def session_cookie(response) -> str | None:
    """The session cookie a response sets, or ``None``."""
    for header in response.headers.get_list("Set-Cookie"):
        morsel = SimpleCookie(header).get(COOKIE)
        if morsel is not None and morsel.value:
            return morsel.value
    return None


@pytest.fixture
def wide_http():
    """An HTTP client that keeps a thousand requests in flight at once (Tornado's default is 10)."""
    http = AsyncHTTPClient(force_instance=True, max_clients=1000)
    yield http
    http.close()


@pytest.mark.gen_test(timeout=120)
async def test_a_thousand_concurrent_requests_on_one_process_all_succeed(redis_url, wide_http):
    with LiveApp("--store=redis", f"--redis-url={redis_url}") as app:
        first = await wide_http.fetch(app.url + "/database/set/seed/0")
        cookie = {"Cookie": f"{COOKIE}={session_cookie(first)}"}

        responses = await asyncio.gather(*(
            wide_http.fetch(f"{app.url}/database/set/k{i}/{i}", headers=cookie, raise_error=False, request_timeout=60)
            for i in range(1000)
        ))
        check = await wide_http.fetch(app.url + "/database/get/k999", headers=cookie)
        log = app.output()

    assert Counter(response.code for response in responses) == {200: 1000}, log[-2000:]
    assert check.body.decode() == "The 'k999' on the /set was: 999"
    assert "unavailable" not in log


@pytest.fixture
def narrow_store(redis_url, clock, io_loop):
    """A store allowed one connection, whose requests wait at most 0.2 s for it."""
    store = RedisStore(redis_url, clock=clock, max_connections=1, pool_timeout=0.2)
    yield store
    io_loop.run_sync(store.close)


@pytest.fixture
def app(narrow_store, clock):
    return make_app(store=narrow_store, clock=clock)


async def wait_until(condition, timeout: float = 10.0) -> None:
    """Let the loop run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.01)


@pytest.mark.gen_test
async def test_a_request_that_waits_too_long_for_a_connection_is_a_503(
    client: CookieClient, other_client: CookieClient, redis_url, caplog
):
    assert (await client.get("/login")).code == 200  # the one connection is open and idle
    with redis.Redis.from_url(redis_url) as raw:
        raw.execute_command("CLIENT", "PAUSE", 1000, "WRITE")  # Redis holds back writes for 1 s
        holding = asyncio.ensure_future(other_client.get("/login"))  # its save takes the connection
        await wait_until(lambda: raw.info("clients")["blocked_clients"] == 1)

        waiting = await client.get("/secret")  # finds no free connection within 0.2 s

    assert (waiting.code, text(waiting)) == (503, STORE_UNAVAILABLE_TEXT)
    assert "all 1 connections of the pool stayed busy for 0.2 s" in caplog.text
    assert (await holding).code == 200  # the one with the connection got its answer
    assert text(await client.get("/secret")) == "The cake is a lie!"  # and the pool serves again
