"""Redis under more traffic and hostile neighbours than a tutorial sees.

Each test runs ``python app.py --store=redis`` as a real process against a real
``redis-server`` and talks to it over real HTTP on loopback, with bounded loops.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import redis
from tornado.httpclient import AsyncHTTPClient

from app import make_app
from sessions.errors import STORE_UNAVAILABLE_TEXT
from sessions.stores.redis import RedisStore
from tests.support.cookie_client import CookieClient, text
from tests.support.live_app import LiveApp
from tests.support.redis_server import RedisServer

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

        responses = await asyncio.gather(
            *(
                wide_http.fetch(
                    f"{app.url}/database/set/k{i}/{i}", headers=cookie, raise_error=False, request_timeout=60
                )
                for i in range(1000)
            )
        )
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


# -- a flood of large anonymous sessions against a Redis with a memory cap -------

#: What one request of the flood stores: 60 KB, within the session limit of 64 KB.
LARGE_VALUE = "x" * 60_000
#: Memory the test's Redis may use: room for about 90 such sessions.
MAXMEMORY = 8 * 1024 * 1024


def capped_redis(workdir: Path, policy: str) -> RedisServer:
    """A redis-server of its own with the memory cap and ``policy``, and the sampling docs/stores.md recommends."""
    flags = ["--maxmemory", str(MAXMEMORY), "--maxmemory-policy", policy, "--maxmemory-samples", "10"]
    return RedisServer(workdir, *flags)


async def flood(http: AsyncHTTPClient, base_url: str, count: int, per_second: float | None) -> Counter[int]:
    """``count`` visitors without cookies each storing ``LARGE_VALUE``, starting ``per_second`` at most."""

    async def visitor() -> int:
        response = await http.fetch(f"{base_url}/database/set/k/{LARGE_VALUE}", raise_error=False, request_timeout=60)
        return response.code

    visitors = []
    for _ in range(count):
        visitors.append(asyncio.ensure_future(visitor()))
        if per_second is not None:
            await asyncio.sleep(1 / per_second)  # the flood's pace (never caught up after a stall), not a wait
    return Counter(await asyncio.gather(*visitors))


async def keep_clicking(
    http: AsyncHTTPClient, base_url: str, cookie: dict[str, str], until: asyncio.Future[Counter[int]]
) -> Counter[tuple[int, str]]:
    """An active user reading and writing their session until ``until`` is done; counts what each click saw."""
    seen: Counter[tuple[int, str]] = Counter()
    while not until.done():
        read = await http.fetch(f"{base_url}/database/get/user", headers=cookie, raise_error=False)
        seen[read.code, read.body.decode()] += 1
        write = await http.fetch(f"{base_url}/database/set/clicks/1", headers=cookie, raise_error=False)
        seen[write.code, "wrote"] += 1
    return seen


@pytest.fixture
def flood_http():
    http = AsyncHTTPClient(force_instance=True, max_clients=20)
    yield http
    http.close()


@pytest.mark.gen_test(timeout=120)
async def test_with_volatile_lru_a_flood_evicts_the_idle_and_an_active_user_stays(tmp_path, flood_http):
    server = capped_redis(tmp_path, "volatile-lru")
    server.start()
    try:
        with LiveApp("--store=redis", f"--redis-url={server.url}") as app:
            first = await flood_http.fetch(app.url + "/database/set/user/ann")
            cookie = {"Cookie": f"{COOKIE}={session_cookie(first)}"}

            # 30 a second: memory holds about 3 s of the flood, more than Redis's LRU clock resolution (1 s).
            flooding = asyncio.ensure_future(flood(flood_http, app.url, 300, per_second=30))
            seen = await keep_clicking(flood_http, app.url, cookie, until=flooding)
            flooded = await flooding
        with redis.Redis.from_url(server.url) as raw:
            info = raw.info()
    finally:
        server.stop()

    assert flooded == {200: 300}  # every visitor of the flood was served
    assert set(seen) == {(200, "The 'user' on the /set was: ann"), (200, "wrote")}  # logged in throughout
    assert info["evicted_keys"] >= 150  # the flood's sessions made room for one another
    assert info["used_memory"] <= MAXMEMORY * 1.1


@pytest.mark.gen_test(timeout=120)
async def test_with_noeviction_a_full_redis_refuses_new_writes_as_unavailable_and_still_reads(tmp_path, flood_http):
    server = capped_redis(tmp_path, "noeviction")
    server.start()
    try:
        with LiveApp("--store=redis", f"--redis-url={server.url}") as app:
            first = await flood_http.fetch(app.url + "/database/set/user/ann")
            cookie = {"Cookie": f"{COOKIE}={session_cookie(first)}"}

            flooded = await flood(flood_http, app.url, 150, per_second=None)
            read = await flood_http.fetch(app.url + "/database/get/user", headers=cookie, raise_error=False)
            log = app.output()
        with redis.Redis.from_url(server.url) as raw:
            info = raw.info()
    finally:
        server.stop()

    assert flooded[200] < 100
    assert flooded[503] == 150 - flooded[200]
    assert (read.code, read.body.decode()) == (200, "The 'user' on the /set was: ann")  # reading goes on
    assert "command not allowed when used memory > 'maxmemory'" in log  # the 503s say why in the log
    assert info["evicted_keys"] == 0
    assert info["used_memory"] <= MAXMEMORY * 1.1
