"""A store that is down: 503 with a clear message, other pages fine, logged once, recovers on its own."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

import pytest

from app import make_app
from sessions.errors import STORE_UNAVAILABLE_TEXT
from sessions.stores.base import SessionStore
from sessions.stores.near_cache import NearCachedStore
from sessions.stores.redis import RedisStore
from sessions.stores.sqlite import SQLiteStore
from tests.support.cookie_client import CookieClient, text


def outage_logs(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sessions" and r.levelno == logging.ERROR]


async def assert_unavailable_but_serving(client: CookieClient, caplog) -> None:
    """Pages that write a session answer 503 with the clear text; pages without one still answer 200."""
    for route in ("/login", "/database/set", "/login"):
        response = await client.get(route)
        assert (response.code, text(response)) == (503, STORE_UNAVAILABLE_TEXT), route
    assert (await client.get("/")).code == 200
    assert (await client.get("/database/")).code == 200
    [logged] = outage_logs(caplog)  # once, however many requests failed
    assert "is unavailable" in logged


@pytest.fixture
def app(request, clock):
    return make_app(store=request.getfixturevalue("outage_store"), clock=clock)


@pytest.mark.gen_test
@pytest.mark.parametrize("outage_store", ["redis"], indirect=True)
async def test_redis_stopped_gives_503_then_recovers(client: CookieClient, own_redis, outage_store, caplog):
    assert (await client.get("/login")).code == 200

    own_redis.stop()
    await assert_unavailable_but_serving(client, caplog)
    response = await client.get("/secret")  # reading the session needs Redis too
    assert (response.code, text(response)) == (503, STORE_UNAVAILABLE_TEXT)
    assert "Redis at 127.0.0.1" in outage_logs(caplog)[0]  # the cause, without the URL's password

    own_redis.start()  # empty: the server keeps nothing on disk
    assert (await client.get("/login")).code == 200
    assert text(await client.get("/secret")) == "The cake is a lie!"
    assert "available again" in caplog.text


@pytest.mark.gen_test
@pytest.mark.parametrize("outage_store", ["redis"], indirect=True)
async def test_redis_restarted_while_no_request_ran_is_used_again_at_once(
    client: CookieClient, own_redis, outage_store, caplog
):
    """The store's connections sat idle through the restart: each is found closed and opened afresh.

    hiredis reports a connection the server closed by raising from ``can_read``; a
    store that took that for a failure put the connection back as it was and
    answered 503 to every later write, for good.
    """
    for _ in range(3):
        assert (await client.get("/login")).code == 200

    own_redis.stop()
    own_redis.start()  # no request ran meanwhile
    for _ in range(3):
        assert (await client.get("/login")).code == 200
        assert text(await client.get("/secret")) == "The cake is a lie!"
    assert not outage_logs(caplog)


@pytest.mark.gen_test
@pytest.mark.parametrize("outage_store", ["sqlite-missing-directory"], indirect=True)
async def test_sqlite_file_that_cannot_be_opened_gives_503_then_recovers(
    client: CookieClient, outage_store: SQLiteStore, caplog
):
    await assert_unavailable_but_serving(client, caplog)
    assert "unable to open database file" in outage_logs(caplog)[0]

    outage_store.path.parent.mkdir()  # the volume is back
    assert (await client.get("/login")).code == 200
    assert text(await client.get("/secret")) == "The cake is a lie!"


@pytest.mark.gen_test
@pytest.mark.parametrize("outage_store", ["sqlite-locked"], indirect=True)
async def test_sqlite_locked_beyond_the_busy_timeout_gives_503_then_recovers(
    client: CookieClient, outage_store: SQLiteStore, caplog
):
    assert (await client.get("/login")).code == 200
    logged_in = dict(client.jar)
    other_process = sqlite3.connect(outage_store.path, isolation_level=None)
    other_process.execute("BEGIN EXCLUSIVE")  # holds the write lock and keeps it

    client.jar.clear()  # newcomers: their requests only write
    await assert_unavailable_but_serving(client, caplog)
    assert "database is locked" in outage_logs(caplog)[0]
    client.jar.update(logged_in)
    assert text(await client.get("/secret")) == "The cake is a lie!"  # WAL: reading goes on

    other_process.execute("COMMIT")
    other_process.close()
    assert (await client.get("/login")).code == 200
    assert text(await client.get("/secret")) == "The cake is a lie!"


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("outage_store", ["sqlite-busy-1s"], indirect=True)
async def test_sqlite_reads_answer_at_once_while_logins_wait_out_another_process_lock(
    client: CookieClient, http_client, base_url, outage_store: SQLiteStore
):
    """A backup or a second process holds the write lock: each login gives up on its own time, pages read on."""
    assert (await client.get("/login")).code == 200
    other_process = sqlite3.connect(outage_store.path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")

    async def timed_login() -> tuple[int, float]:
        started = time.monotonic()
        response = await CookieClient(http_client, base_url).get("/login")  # a newcomer: the login must write
        return response.code, time.monotonic() - started

    logins = [asyncio.ensure_future(timed_login()) for _ in range(4)]
    read_times = []
    while not all(login.done() for login in logins):
        started = time.monotonic()
        assert text(await client.get("/secret")) == "The cake is a lie!"
        read_times.append(time.monotonic() - started)
    answers = await asyncio.gather(*logins)
    other_process.execute("COMMIT")
    other_process.close()

    assert len(read_times) >= 3, read_times
    assert max(read_times) < 0.5, read_times  # never behind the waiting logins
    for code, seconds in answers:  # about busy_timeout (1 s) each, not 1, 2, 3, 4 s one after another
        assert code == 503, answers
        assert 0.8 <= seconds < 1.8, answers


@pytest.mark.gen_test
@pytest.mark.parametrize("outage_store", ["sqlite-not-a-database"], indirect=True)
async def test_sqlite_path_that_is_not_a_database_gives_503(client: CookieClient, outage_store, caplog):
    await assert_unavailable_but_serving(client, caplog)
    assert "file is not a database" in outage_logs(caplog)[0]


@pytest.fixture
def outage_store(request, clock, tmp_path, io_loop):
    kind = request.param
    store: SessionStore
    if kind == "redis":
        store = NearCachedStore(RedisStore(request.getfixturevalue("own_redis").url, clock=clock))
    elif kind == "sqlite-missing-directory":
        store = SQLiteStore(tmp_path / "not-mounted-yet" / "sessions.sqlite3", clock=clock)
    elif kind == "sqlite-locked":
        store = SQLiteStore(tmp_path / "sessions.sqlite3", clock=clock, busy_timeout=0.2)
    elif kind == "sqlite-busy-1s":
        store = SQLiteStore(tmp_path / "sessions.sqlite3", clock=clock, busy_timeout=1.0)
    else:
        (tmp_path / "sessions.sqlite3").write_bytes(b"this is not a SQLite database, it is a text file" * 100)
        store = SQLiteStore(tmp_path / "sessions.sqlite3", clock=clock)
    yield store
    io_loop.run_sync(store.close)
