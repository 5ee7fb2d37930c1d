"""A Redis Cluster master dies under traffic; its replica takes over; the app is never restarted.

A real ``app.py --store=redis --redis-cluster`` on a real cluster of 3 masters
and 3 replicas (tests/support/redis_cluster.py). Browsers whose sessions sit on every
master read their data in steady rounds while one master is SIGKILLed. Those on
the other masters never notice; those on the dead master's slots get the 503
("try again shortly") until the cluster promotes its replica (about
``cluster-node-timeout`` plus an election), then their data again, intact.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from tornado.httpclient import AsyncHTTPClient

from tests.support.cookie_client import CookieClient, text
from tests.support.live_app import LiveApp
from tests.support.redis_cluster import NODE_TIMEOUT_MS, RedisCluster

COOKIE = "sessionscookieid"  # the database step's
PER_MASTER = 2
ROUND_PAUSE = 0.05
#: The longest the dead master's slots may answer 503: the node timeout, the replica's election, slack for a busy CI.
MAX_OUTAGE = 15.0
#: How long the recovered sessions must keep answering before the test ends.
STEADY_AFTER = 1.0


def session_key(session_id: str) -> str:
    """The session's Redis key on a cluster, as sessions/stores/redis.py lays it out."""
    return f"session:{COOKIE}:{{{session_id[:3]}}}{session_id[3:]}"


@pytest.fixture
def cluster(tmp_path):
    """A cluster of the test's own: it loses a master."""
    cluster = RedisCluster(tmp_path)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.mark.gen_test(timeout=120)
async def test_a_dead_master_costs_only_its_own_slots_a_bounded_503_then_its_replica_serves_them(cluster):
    with LiveApp("--store=redis", "--redis-cluster", f"--redis-url={cluster.url}") as app:
        http = AsyncHTTPClient(force_instance=True, max_clients=50)
        try:
            browsers = await browsers_on_every_master(http, app.url, cluster)
            cluster.wait_replicated()
            expected = {id(b): text(await b.get("/database/get/color")) for group in browsers.values() for b in group}
            victim = next(iter(browsers))
            pid = app.process.pid

            killed = time.monotonic()
            cluster.kill(victim)
            history = await traffic_until_recovered(browsers, victim, killed, expected)

            assert app.process.poll() is None
            assert app.process.pid == pid
            for browser in browsers[victim]:  # writes work again on the promoted replica
                assert (await browser.get("/database/increment/visits")).code == 200
        finally:
            http.close()
        output = app.output()

    codes = {code for _, _, code, _ in history}
    assert codes <= {200, 503}, codes
    for master, at, code, body in history:
        if master != victim:
            assert code == 200, f"a session on a live master failed {at:.2f} s after the kill: {code} {body}"
    failed = [at for master, at, code, _ in history if master == victim and code == 503]
    assert failed, "the dead master's sessions never noticed"
    outage = max(failed)
    assert outage < MAX_OUTAGE
    assert "Traceback" not in output
    print(f"\nfailover: the dead master's slots answered 503 for {outage:.2f} s after the kill "
          f"(cluster-node-timeout {NODE_TIMEOUT_MS} ms); {len(history)} requests, none failed elsewhere")  # fmt: skip


async def browsers_on_every_master(
    http: AsyncHTTPClient, url: str, cluster: RedisCluster
) -> dict[int, list[CookieClient]]:
    """At least ``PER_MASTER`` browsers with a session on each master (slots are random: make more as needed)."""
    browsers: dict[int, list[CookieClient]] = {port: [] for port in cluster.masters()}
    for _ in range(200):
        if all(len(group) >= PER_MASTER for group in browsers.values()):
            return browsers
        browser = CookieClient(http, url)
        answer = await browser.get(f"/database/set/color/c{sum(map(len, browsers.values()))}")
        assert answer.code == 200, text(answer)
        browsers[cluster.master_of(session_key(browser.jar[COOKIE]))].append(browser)
    raise AssertionError("sessions did not spread over the masters")


async def traffic_until_recovered(
    browsers: dict[int, list[CookieClient]], victim: int, killed: float, expected: dict[int, str]
) -> list[tuple[int, float, int, str]]:
    """Read every browser's value in rounds; return (master, seconds since the kill, status, body) per request."""
    history: list[tuple[int, float, int, str]] = []
    recovered_at: float | None = None
    while time.monotonic() - killed < MAX_OUTAGE + 10:

        async def read(master: int, browser: CookieClient) -> tuple[int, float, int, str]:
            response = await browser.get("/database/get/color")
            body = text(response)
            if response.code == 200:
                assert body == expected[id(browser)], "data lost or mixed up"
            return master, time.monotonic() - killed, response.code, body

        round_ = await asyncio.gather(*(read(m, b) for m, group in browsers.items() for b in group))
        history += round_
        victims_ok = all(code == 200 for master, _, code, _ in round_ if master == victim)
        if not victims_ok:
            recovered_at = None
        elif recovered_at is None and any(m == victim and c == 503 for m, _, c, _ in history):
            recovered_at = time.monotonic()
        if recovered_at is not None and time.monotonic() - recovered_at > STEADY_AFTER:
            return history
        await asyncio.sleep(ROUND_PAUSE)
    raise AssertionError(f"the dead master's sessions did not recover: {history[-6:]}")
