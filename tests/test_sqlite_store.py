"""What only the SQLite store promises: its file layout, purge, several connections, a free event loop,
loads that never wait for writes, and a file deleted or replaced under it noticed."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sessions.errors import SessionGoneError, StoreUnavailableError
from sessions.ids import new_session_id
from sessions.record import Journal, Meta
from sessions.stores.sqlite import SCHEMA_VERSION, SQLiteStore, UnknownLayoutError

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


def query(path, sql: str) -> list[tuple[Any, ...]]:
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
        db.execute(
            "CREATE TABLE sessions (id TEXT PRIMARY KEY, created REAL, touched REAL, deadline REAL,"
            " expires_at REAL, user TEXT)"
        )
        db.execute("CREATE TABLE session_fields (session_id TEXT, name TEXT, value TEXT)")
        db.execute("INSERT INTO sessions VALUES (?, 1, 1, NULL, NULL, NULL)", ("a" * 43,))

    assert await store.load(NS, "a" * 43) is None
    await store.save(NS, "b" * 43, Journal(meta(clock), create=True, sets={"v:a": "1"}))

    assert "older layout: they are dropped" in caplog.text
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(path, "SELECT namespace, id FROM sessions") == [(NS, "b" * 43)]


@pytest.mark.gen_test
async def test_a_file_of_the_layout_that_counted_its_sessions_gets_the_count_and_keeps_its_sessions(
    store, path, clock, caplog
):
    await store.save(NS, "a" * 43, Journal(meta(clock), create=True, sets={"v:a": "1"}))
    await store.save(NS, "c" * 43, Journal(meta(clock), create=True, sets={"v:c": "3"}))
    await store.close()
    with sqlite3.connect(path) as db:  # as version 2 left it: the same tables, no count
        db.execute("DROP TRIGGER sessions_added")
        db.execute("DROP TRIGGER sessions_removed")
        db.execute("DROP TABLE session_count")
        db.execute("PRAGMA user_version = 2")
    reopened = SQLiteStore(path, clock=clock)
    try:
        await reopened.save(NS, "b" * 43, Journal(meta(clock), create=True, sets={"v:b": "2"}))
        assert (await reopened.load(NS, "a" * 43)) is not None  # kept, fields and all
        assert "older layout: they are dropped" not in caplog.text
        assert query(path, "SELECT n FROM session_count") == [(3,)]
        assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        await reopened.destroy(NS, "c" * 43)
        assert query(path, "SELECT n FROM session_count") == [(2,)]  # the triggers count from here on
    finally:
        await reopened.close()


def a_file_of_a_newer_release(path: Path, version: int = SCHEMA_VERSION + 1) -> None:
    """A file as a newer release might lay it out: a table this code never made, a stamped version."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sessions (namespace TEXT, id TEXT, data BLOB, PRIMARY KEY (namespace, id))")
        db.execute("INSERT INTO sessions VALUES ('test', ?, x'00')", ("a" * 43,))
        db.execute(f"PRAGMA user_version = {version}")


@pytest.mark.gen_test
async def test_a_file_of_a_newer_layout_is_refused_and_left_as_it_was(store, path, clock):
    a_file_of_a_newer_release(path)
    before = path.read_bytes()

    for attempt in (store.load(NS, "a" * 43), store.save(NS, "b" * 43, Journal(meta(clock), create=True))):
        with pytest.raises(UnknownLayoutError) as refused:
            await attempt
        assert str(refused.value) == (
            f"SQLite file {path} has layout version {SCHEMA_VERSION + 1}, newer than this code reads"
            f" (version {SCHEMA_VERSION}):"
            " it was written by a newer release; run that release, or choose another file"
        )
    assert isinstance(refused.value, StoreUnavailableError)  # a request meanwhile is a 503, not a 500
    assert path.read_bytes() == before  # not rebuilt, not even switched to WAL
    assert query(path, "SELECT namespace, id FROM sessions") == [(NS, "a" * 43)]


@pytest.mark.gen_test
async def test_a_file_that_is_not_a_session_file_is_refused(store, path, clock):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (number INTEGER PRIMARY KEY)")
        db.execute("INSERT INTO invoices VALUES (7)")

    with pytest.raises(UnknownLayoutError, match="not a session file this code knows .* tables invoices"):
        await store.save(NS, "b" * 43, Journal(meta(clock), create=True))
    assert query(path, "SELECT number FROM invoices") == [(7,)]


@pytest.mark.gen_test(timeout=30)
async def test_loads_go_on_and_each_queued_save_gives_up_on_its_own_time_while_another_process_writes(path, clock):
    """Another process (a backup, a migration) holds the write lock; our clients keep loading and saving."""
    busy_timeout = 1.0
    store = SQLiteStore(path, clock=clock, busy_timeout=busy_timeout)
    logged_in = new_session_id()
    await store.save(NS, logged_in, Journal(meta(clock), create=True, sets={"v:user": '"alice"'}))
    await store.load(NS, logged_in)  # both connections open, as in a running app
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")

    async def timed_save() -> float:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="database is locked"):
            await store.save(NS, new_session_id(), Journal(meta(clock), create=True))
        return time.monotonic() - started

    saves = [asyncio.ensure_future(timed_save()) for _ in range(5)]  # queued at once on the one writer thread
    load_times = []
    while not all(save.done() for save in saves):
        started = time.monotonic()
        record = await store.load(NS, logged_in)
        load_times.append(time.monotonic() - started)
        assert record is not None
        assert record.fields["v:user"] == '"alice"'
        await asyncio.sleep(0.02)
    save_times = await asyncio.gather(*saves)
    other_process.execute("COMMIT")
    other_process.close()
    await store.save(NS, logged_in, Journal(meta(clock), sets={"v:after": "1"}))  # the lock is free: saves work
    await store.close()

    assert len(load_times) >= 5
    assert max(load_times) < 0.5
    for seconds in save_times:  # each gives up busy_timeout after its own call, not 1, 2, 3... timeouts in
        assert 0.8 * busy_timeout <= seconds < 1.8 * busy_timeout, save_times


def reader_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "sqlite-store-reader"}


def delete_database(path: Path) -> None:
    """Delete the file and its WAL companions, as an operator clearing sessions by hand would."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.mark.gen_test
async def test_a_file_deleted_while_open_is_noticed_and_created_afresh(store, path, clock, caplog):
    before = new_session_id()
    await store.save(NS, before, Journal(meta(clock), create=True))
    assert await store.load(NS, before) is not None  # both connections have the file open

    delete_database(path)

    assert await store.load(NS, before) is None  # its sessions went with the file
    after = new_session_id()
    await store.save(NS, after, Journal(meta(clock), create=True, sets={"v:a": "1"}))
    assert path.exists()
    other_process = SQLiteStore(path, clock=clock)  # sees what this store writes: the same, new file
    assert (await other_process.load(NS, after)).fields == {"v:a": "1"}
    await other_process.close()
    assert caplog.text.count("was deleted or replaced while open") == 1  # both threads reopened; told once


@pytest.mark.gen_test
async def test_a_file_replaced_while_open_is_read_and_written_in_its_new_version(store, path, clock, tmp_path):
    before, restored = new_session_id(), new_session_id()
    await store.save(NS, before, Journal(meta(clock), create=True))
    assert await store.load(NS, before) is not None
    backup = SQLiteStore(tmp_path / "backup.sqlite3", clock=clock)
    await backup.save(NS, restored, Journal(meta(clock), create=True, sets={"v:a": "1"}))
    await backup.close()  # the last connection folds the WAL back: one self-contained file

    delete_database(path)
    os.replace(tmp_path / "backup.sqlite3", path)

    assert (await store.load(NS, restored)).fields == {"v:a": "1"}
    assert await store.load(NS, before) is None
    await store.save(NS, restored, Journal(meta(clock), sets={"v:b": "2"}))
    assert sorted(query(path, "SELECT name, value FROM session_fields")) == [("v:a", "1"), ("v:b", "2")]


@pytest.mark.gen_test
async def test_a_new_session_beyond_max_sessions_drops_the_expired_then_the_nearest_to_expiry(path, clock, caplog):
    store = SQLiteStore(path, clock=clock, max_sessions=3)
    expired, soon, later, never = (new_session_id() for _ in range(4))
    await store.save(NS, expired, Journal(meta(clock, lifetime=10), create=True))
    await store.save(NS, soon, Journal(meta(clock, lifetime=600), create=True))
    await store.save(NS, later, Journal(meta(clock, lifetime=900), create=True))
    clock.advance(11)

    await store.save(NS, never, Journal(Meta(created=clock(), touched=clock()), create=True))  # the expired made room
    assert {row[0] for row in query(path, "SELECT id FROM sessions")} == {soon, later, never}
    assert "evicted" not in caplog.text
    newest = new_session_id()
    await store.save(NS, newest, Journal(meta(clock, lifetime=3600), create=True))  # full: the nearest to expiry goes
    assert {row[0] for row in query(path, "SELECT id FROM sessions")} == {later, never, newest}
    assert "full (max_sessions=3): evicted 1 sessions nearest to expiry" in caplog.text
    await store.save(NS, later, Journal(meta(clock), sets={"v:a": "1"}))  # saving an existing session evicts none
    assert len(query(path, "SELECT id FROM sessions")) == 3
    await store.save(NS, new_session_id(), Journal(meta(clock), create=True))  # evicts again: not logged again
    assert caplog.text.count("evicted") == 1
    await store.close()


@pytest.mark.gen_test
async def test_the_session_count_stays_exact_through_every_change_whoever_writes(path, clock):
    """The bound reads a count kept by triggers: it must match the table after each kind of change."""
    store = SQLiteStore(path, clock=clock, max_sessions=5)
    counted = lambda: query(path, "SELECT n FROM session_count")[0][0]  # noqa: E731
    rows = lambda: query(path, "SELECT COUNT(*) FROM sessions")[0][0]  # noqa: E731
    ids = [new_session_id() for _ in range(4)]
    for session_id in ids:
        await store.save(NS, session_id, Journal(meta(clock, lifetime=60), create=True, sets={"v:a": "1"}))
    assert counted() == rows() == 4
    await store.save(NS, ids[0], Journal(meta(clock), create=True, sets={"v:b": "2"}))  # a create that exists
    await store.save(NS, new_session_id(), Journal(meta(clock), previous_id=ids[1]))  # regenerate: a move
    assert counted() == rows() == 4
    assert await store.destroy(NS, ids[2])
    owned = meta(clock)
    owned.user = "ada"
    await store.save(NS, ids[3], Journal(owned))
    assert len(await store.destroy_user(NS, "ada")) == 1
    assert counted() == rows() == 2
    with sqlite3.connect(path) as other:  # another process adds rows behind this one's back
        for n in range(6):
            other.execute("INSERT INTO sessions VALUES (?, ?, 1, 1, NULL, ?, NULL)", (NS, f"x{n}", clock() + 30))
    assert counted() == rows() == 8
    await store.save(NS, new_session_id(), Journal(meta(clock), create=True))  # beyond the bound: evicts to 5
    assert counted() == rows() == 5
    clock.advance(3600)
    assert await store.purge() == 5
    assert counted() == rows() == 0
    await store.close()


@pytest.mark.gen_test(timeout=60)
async def test_a_flood_of_big_sessions_keeps_the_file_within_max_sessions(path, clock):
    """Logins with 60 KB each: past max_sessions the file stops growing, freed pages are reused."""
    big = {"v:blob": '"' + "x" * 60_000 + '"'}

    async def flood(sessions: int) -> int:
        store = SQLiteStore(path, clock=clock, max_sessions=20)
        for _ in range(sessions):
            await store.save(NS, new_session_id(), Journal(meta(clock), create=True, sets=big))
        await store.close()  # folds the WAL back into the file
        return path.stat().st_size

    full = await flood(20)
    after_four_times_as_many = await flood(60)

    assert len(query(path, "SELECT id FROM sessions")) == 20
    assert full > 20 * 60_000
    assert after_four_times_as_many < 1.3 * full


@pytest.mark.gen_test
async def test_loads_run_on_the_loop_and_what_the_loop_cannot_read_goes_to_the_reader_thread(path, clock):
    """A load is a look-up on the loop's own connection; a file it cannot read goes to the reader thread."""
    readers_before = reader_threads()
    store = SQLiteStore(path, clock=clock)
    session_id = new_session_id()
    await store.save(NS, session_id, Journal(meta(clock), create=True, sets={"v:a": "1", "f:b": '"2"'}))
    assert (await store.load(NS, session_id)).fields == {"v:a": "1", "f:b": '"2"'}
    assert await store.load(NS, new_session_id()) is None
    assert reader_threads() == readers_before  # no load went to a thread
    await store.close()

    path.unlink()  # a fresh store on a file of another layout: only the reader thread may lay it out
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY)")
    store = SQLiteStore(path, clock=clock)
    assert await store.load(NS, session_id) is None
    assert reader_threads() - readers_before  # this one did
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    await store.close()
