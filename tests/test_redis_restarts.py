"""Redis restarts and drops connections under a running app: the app answers 200 again on its own.

Each test runs ``python app.py --store=redis`` as a real process against a
``redis-server`` of its own (stopped and started on the same port, empty again:
it keeps nothing on disk) and talks to it over real HTTP. What is checked is
what a visitor and an operator see: requests answer 200 again within seconds
of Redis being back, without restarting the app, and the app's log holds no
traceback (an outage is one line when it starts and one when it ends).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import redis
from tornado.httpclient import AsyncHTTPClient

from tests.support.cookie_client import CookieClient
from tests.support.live_app import LiveApp
from tests.support.redis_server import RedisServer

VISITORS = 8
#: How long after Redis is back every visitor must have had a 200. Recovery takes one request
#: (the pool reconnects the connection it hands out); the margin is for a loaded test machine.
RECOVERY_DEADLINE = 10.0


@pytest.fixture
def live_app(own_redis: RedisServer) -> Iterator[LiveApp]:
    with LiveApp("--store=redis", f"--redis-url={own_redis.url}") as app:
        yield app


@pytest.fixture
def http() -> Iterator[AsyncHTTPClient]:
    client = AsyncHTTPClient(force_instance=True, max_clients=VISITORS)
    yield client
    client.close()


def app_connections(server: RedisServer) -> set[str]:
    """The IDs of the app's command connections to ``server`` (its pool's; not the near-cache's subscription)."""
    with redis.Redis.from_url(server.url, decode_responses=True) as admin:
        me = admin.client_id()
        return {str(c["id"]) for c in admin.client_list(_type="normal") if int(c["id"]) != me}


async def writes(visitor: CookieClient, number: int) -> int:
    """One request that loads and saves the visitor's session (a new one if Redis forgot it); its status."""
    return (await visitor.get(f"/database/set/visitor/{number}")).code


async def all_answer_200(visitors: list[CookieClient]) -> None:
    codes = await asyncio.gather(*(writes(v, n) for n, v in enumerate(visitors)))
    assert codes == [200] * len(visitors)


def assert_no_traceback(app: LiveApp) -> None:
    log = app.output()
    assert "Traceback" not in log, log


@pytest.mark.gen_test(timeout=120)
async def test_a_redis_restart_under_steady_traffic_ends_in_200s_without_restarting_the_app(
    own_redis: RedisServer, live_app: LiveApp, http: AsyncHTTPClient
):
    visitors = [CookieClient(http, live_app.url) for _ in range(VISITORS)]
    answers: list[list[tuple[float, int]]] = [[] for _ in visitors]
    stop = asyncio.Event()

    async def keep_writing(number: int) -> None:
        while not stop.is_set():
            answers[number].append((time.monotonic(), await writes(visitors[number], number)))
            await asyncio.sleep(0.01)

    traffic = [asyncio.ensure_future(keep_writing(n)) for n in range(VISITORS)]
    await asyncio.sleep(1.0)
    own_redis.stop()
    await asyncio.sleep(1.0)
    own_redis.start()
    back = time.monotonic()
    while time.monotonic() - back < RECOVERY_DEADLINE and not all(a and a[-1][1] == 200 for a in answers):
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # and they stay 200
    stop.set()
    await asyncio.gather(*traffic)

    assert all(code == 503 for a in answers for at, code in a if code != 200)  # an outage, never a 500
    assert any(code == 503 for a in answers for _, code in a)  # the outage was seen
    for visitor_answers in answers:
        after = [code for at, code in visitor_answers if at >= back]
        first_200 = after.index(200)  # a ValueError here: this visitor never recovered
        assert after[first_200:] == [200] * len(after[first_200:]), live_app.output()
        recovered_at = [at for at, code in visitor_answers if at >= back][first_200]
        assert recovered_at - back < RECOVERY_DEADLINE
    assert_no_traceback(live_app)
    assert live_app.output().count("available again") == 1


@pytest.mark.gen_test(timeout=60)
async def test_idle_connections_killed_by_redis_are_replaced_on_the_next_requests(
    own_redis: RedisServer, live_app: LiveApp, http: AsyncHTTPClient
):
    visitors = [CookieClient(http, live_app.url) for _ in range(VISITORS)]
    await all_answer_200(visitors)  # several connections in the pool, idle now
    idle = app_connections(own_redis)
    assert idle

    with redis.Redis.from_url(own_redis.url) as admin:
        assert admin.client_kill_filter(_type="normal") >= len(idle)  # CLIENT KILL TYPE normal
    assert not idle & app_connections(own_redis)

    await all_answer_200(visitors)  # at once: each borrowed connection is checked and connected again
    await all_answer_200(visitors)
    assert app_connections(own_redis)
    assert not idle & app_connections(own_redis)
    assert "unavailable" not in live_app.output()
    assert_no_traceback(live_app)


@pytest.mark.gen_test(timeout=60)
async def test_a_redis_restart_while_connections_sit_idle_ends_in_200s(
    own_redis: RedisServer, live_app: LiveApp, http: AsyncHTTPClient
):
    visitors = [CookieClient(http, live_app.url) for _ in range(VISITORS)]
    await all_answer_200(visitors)
    assert app_connections(own_redis)

    own_redis.stop()
    own_redis.start()  # no request in between: every pooled connection is dead, none knows it yet

    await all_answer_200(visitors)  # the first requests already: no 503 needs to show Redis is back
    await all_answer_200(visitors)
    assert "unavailable" not in live_app.output()
    assert_no_traceback(live_app)
