"""What only the SQLite store promises: its file layout, purge, several connections, a free event loop."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from sessions.errors import SessionGoneError, StoreUnavailableError
from sessions.ids import new_session_id
from sessions.record import Journal, Meta
from sessions.stores.sqlite import SQLiteStore

#: The namespace these store-level tests keep their records in (a manager uses its cookie name).
NS = "test"


@pytest.fixture
def path(tmp_path):
    return tmp_path / "sessions.sqlite3"


@pytest.fixture
def store(path, clock, io_loop):
    store = SQLiteStore(path, clock=clock)
    yield store
    io_loop.run_sync(store.close)


def meta(clock, lifetime: float = 3600) -> Meta:
    return Meta(created=clock(), touched=clock(), expires_at=clock() + lifetime)


def query(path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


@pytest.mark.gen_test
async def test_the_file_holds_a_row_per_session_and_per_field_in_wal_mode(store, path, clock):
    session_id = new_session_id()
    await store.save(NS, session_id, Journal(meta(clock), create=True, sets={"v:a": "1", "f:n": '"hi"'}))

    assert query(path, "PRAGMA journal_mode") == [("wal",)]
    assert ("sessions_expires_at",) in query(path, "SELECT name FROM sqlite_master WHERE type = 'index'")
    assert query(path, "SELECT id, expires_at FROM sessions") == [(session_id, clock() + 3600)]
    assert sorted(query(path, "SELECT name, value FROM session_fields")) == [("f:n", '"hi"'), ("v:a", "1")]


@pytest.mark.gen_test
async def test_purge_deletes_expired_sessions_with_their_fields(store, path, clock):
    short, long = new_session_id(), new_session_id()
    await store.save(NS, short, Journal(meta(clock, lifetime=60), create=True, sets={"v:a": "1", "v:b": "2"}))
    await store.save(NS, long, Journal(meta(clock, lifetime=600), create=True, sets={"v:a": "1"}))

    clock.advance(61)
    assert await store.purge() == 1

    assert query(path, "SELECT id FROM sessions") == [(long,)]
    assert query(path, "SELECT session_id FROM session_fields") == [(long,)]


@pytest.mark.gen_test
async def test_a_save_that_fails_does_not_undo_the_purge_it_ran(store, path, clock):
    expired = new_session_id()
    await store.save(NS, expired, Journal(meta(clock, lifetime=60), create=True))
    clock.advance(61)  # past the expiry and the purge interval: the next save purges first

    with pytest.raises(SessionGoneError):  # a save to a session that is gone rolls back
        await store.save(NS, new_session_id(), Journal(meta(clock)))

    assert query(path, "SELECT id FROM sessions") == []


@pytest.mark.gen_test(timeout=30)
async def test_two_connections_to_one_file_never_lose_an_increment(store, path, clock):
    """Two store objects have two connections and two threads, as two processes would."""
    other = SQLiteStore(path, clock=clock)
    session_id = new_session_id()
    await store.save(NS, session_id, Journal(meta(clock), create=True))

    increments = [s.save(NS, session_id, Journal(meta(clock), increments={"v:n": 1})) for s in (store, other) * 50]
    counts = await asyncio.gather(*increments)

    assert sorted(int(count["v:n"]) for count in counts) == list(range(1, 101))
    assert (await other.load(NS, session_id)).fields["v:n"] == "100"
    await other.close()


@pytest.mark.gen_test
async def test_the_event_loop_keeps_running_while_a_save_waits_for_a_lock(path, clock):
    store = SQLiteStore(path, clock=clock, busy_timeout=0.5)
    await store.save(NS, new_session_id(), Journal(meta(clock), create=True))
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.ensure_future(tick())
    with pytest.raises(StoreUnavailableError, match="database is locked"):
        await store.save(NS, new_session_id(), Journal(meta(clock), create=True))
    ticker.cancel()
    other_process.close()
    await store.close()

    assert ticks >= 5  # a blocked loop would not have ticked at all during the half-second wait


@pytest.mark.gen_test
async def test_a_file_of_the_layout_before_namespaces_is_rebuilt(store, path, clock, caplog):
    with sqlite3.connect(path) as db:  # the first layout: no namespace column, user_version 0
        db.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY, created REAL, touched REAL, deadline REAL,"
                   " expires_at REAL, user TEXT)")
        db.execute("CREATE TABLE session_fields (session_id TEXT, name TEXT, value TEXT)")
        db.execute("INSERT INTO sessions VALUES (?, 1, 1, NULL, NULL, NULL)", ("a" * 43,))

    assert await store.load(NS, "a" * 43) is None
    await store.save(NS, "b" * 43, Journal(meta(clock), create=True, sets={"v:a": "1"}))

    assert "older layout: they are dropped" in caplog.text
    assert query(path, "PRAGMA user_version") == [(2,)]
    assert query(path, "SELECT namespace, id FROM sessions") == [(NS, "b" * 43)]
