"""Shared fixtures: the real app on a real port, a cookie-keeping client, a clock, a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from selenium import webdriver

from app import make_app
from sessions import MemoryStore, SessionStore
from sessions.stores.near_cache import NearCachedStore
from sessions.stores.redis import RedisStore
from sessions.stores.sqlite import SQLiteStore
from tests.support.browser_tools import chromium
from tests.support.clock import FakeClock
from tests.support.cookie_client import CookieClient
from tests.support.live_app import LiveApp
from tests.support.redis_cluster import RedisCluster
from tests.support.redis_server import RedisServer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def app(store, clock):
    return make_app(store=store, clock=clock)


@pytest.fixture
def client(http_client, base_url) -> CookieClient:
    return CookieClient(http_client, base_url)


@pytest.fixture
def other_client(http_client, base_url) -> CookieClient:
    """A second browser, with its own cookie jar."""
    return CookieClient(http_client, base_url)


# -- ``python app.py`` and headless Chromium, for the browser tests ---------------


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """``python app.py`` as a learner starts it (the memory store) on a free port, one per test module."""
    with LiveApp() as app:
        yield app.url


@pytest.fixture
def viewport() -> str | None:
    """The device the browser emulates: none, Chromium's own window.

    A module that checks layout overrides this with a fixture parametrized over
    ``VIEWPORTS``, and each of its browser tests runs at every size.
    """
    return None


@pytest.fixture
def browser(tmp_path: Path, viewport: str | None) -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium with its own profile (so its own cookies) per test, sized by ``viewport``."""
    with chromium(tmp_path / "profile", viewport) as driver:
        yield driver


# -- the three stores, for the conformance suite and the database step ----------

STORE_KINDS = ["memory", "sqlite", "redis", "redis-cluster"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    """One real redis-server for the whole test run, stopped at the end."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, so stopping, freezing or restarting it disturbs no other test."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.resume()  # in case the test froze it and failed before thawing it
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared Redis, emptied for each test."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the test Redis, to look at (or tamper with) what a store wrote."""
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        yield client


@pytest.fixture
def redis_store(redis_url: str, clock: FakeClock, io_loop) -> Iterator[NearCachedStore]:
    """A RedisStore on the test Redis, near-cached as the app runs it, closed after the test on the test's own loop."""
    store = NearCachedStore(RedisStore(redis_url, clock=clock))
    yield store
    io_loop.run_sync(store.close)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory) -> Iterator[RedisCluster]:
    """One real Redis Cluster (3 masters, 3 replicas) for the whole test run, stopped at the end."""
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: RedisCluster) -> str:
    """The shared cluster, emptied for each test."""
    redis_cluster.flush()
    return redis_cluster.url


def make_store(kind: str, clock: FakeClock, tmp_path: Path, request: pytest.FixtureRequest) -> SessionStore:
    """A fresh store of ``kind``; SQLite and Redis ones open the same data when made twice."""
    if kind == "memory":
        return MemoryStore(clock=clock)
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "sessions.sqlite3", clock=clock)
    if kind == "redis":
        return NearCachedStore(RedisStore(request.getfixturevalue("redis_url"), clock=clock))  # as the app runs it
    return RedisStore(request.getfixturevalue("redis_cluster_url"), clock=clock, cluster=True)


@pytest.fixture(params=STORE_KINDS)
def any_store(request, clock, tmp_path, io_loop) -> Iterator[SessionStore]:
    """Each store in turn, closed after the test on the test's own event loop."""
    store = make_store(request.param, clock, tmp_path, request)
    yield store
    io_loop.run_sync(store.close)
