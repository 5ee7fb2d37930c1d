"""The memory store's own promises: it sweeps expired records, stays within its bytes, evicts the idle first."""

from __future__ import annotations

import ast
import asyncio
import gc
import logging
import tracemalloc
from pathlib import Path

import pytest

from sessions import MemoryStore, new_session_id
from sessions.errors import SessionGoneError, SessionTooLargeError
from sessions.record import Journal, Meta
from sessions.stores.memory import record_size
from tests.support.clock import FakeClock

#: The namespace these store-level tests keep their records in (a manager uses its cookie name).
NS = "test"


def journal(expires_at: float | None, create: bool = True, **changes) -> Journal:
    return Journal(meta=Meta(created=0.0, touched=0.0, expires_at=expires_at), create=create, **changes)


@pytest.mark.gen_test
async def test_expired_records_are_swept_periodically_without_a_timer_per_session():
    clock = FakeClock(start=1000.0)
    store = MemoryStore(clock=clock, sweep_interval=60)
    await store.save(NS, "a" * 43, journal(expires_at=1030.0, sets={"v:x": "1"}))
    await store.save(NS, "b" * 43, journal(expires_at=5000.0, sets={"v:x": "1"}))
    clock.advance(61)
    await store.save(NS, "c" * 43, journal(expires_at=5000.0, sets={"v:x": "1"}))  # a write triggers the sweep
    assert len(store) == 2
    assert await store.load(NS, "a" * 43) is None


def sid(n: int) -> str:
    return f"{n:043d}"


def fields_of(n: int) -> dict[str, str]:
    return {"v:n": f"{n:03d}"}


#: What ``sid(n)`` with ``fields_of(n)`` costs in the store (the same for every n < 1000).
ONE = record_size(sid(0), fields_of(0))


@pytest.mark.gen_test
async def test_the_store_never_holds_more_than_max_bytes():
    store = MemoryStore(max_bytes=3 * ONE)
    for n in range(10):
        await store.save(NS, sid(n), journal(expires_at=None, sets=fields_of(n)))
        assert store.bytes_held <= 3 * ONE
    assert len(store) == 3
    assert store.bytes_held == 3 * ONE
    assert await store.load(NS, sid(9)) is not None
    assert await store.load(NS, sid(0)) is None  # never used again after its save: among the first to go


@pytest.mark.gen_test
async def test_the_least_recently_used_session_goes_first_not_the_oldest_created():
    store = MemoryStore(max_bytes=3 * ONE)
    await store.save(NS, sid(0), journal(expires_at=None, sets=fields_of(0)))  # the user who keeps clicking
    for n in range(1, 100):  # a flood of new sessions, far beyond the bound
        await store.save(NS, sid(n), journal(expires_at=None, sets=fields_of(n)))
        assert await store.load(NS, sid(0)) is not None, f"the active session was evicted by session {n}"
    assert [await store.load(NS, sid(n)) is not None for n in (97, 98, 99)] == [False, True, True]


@pytest.mark.gen_test
async def test_a_save_counts_as_use_too():
    store = MemoryStore(max_bytes=3 * ONE)
    for n in range(3):
        await store.save(NS, sid(n), journal(expires_at=None, sets=fields_of(n)))
    await store.save(NS, sid(0), journal(expires_at=None, create=False, sets=fields_of(100)))  # same size
    await store.save(NS, sid(3), journal(expires_at=None, sets=fields_of(3)))
    assert await store.load(NS, sid(0)) is not None
    assert await store.load(NS, sid(1)) is None


@pytest.mark.gen_test
async def test_the_byte_total_stays_exact_through_every_kind_of_change():
    clock = FakeClock(start=1000.0)
    store = MemoryStore(max_bytes=20_000, clock=clock, sweep_interval=3600)
    live: set[str] = set()

    async def check(step: str) -> None:
        held = {session_id: await store.load(NS, session_id) for session_id in live}
        records = {session_id: record for session_id, record in held.items() if record is not None}
        assert len(records) == len(held), step
        assert store.bytes_held == sum(
            record_size(session_id, record.fields) for session_id, record in records.items()
        ), step
        assert len(store) == len(live), step

    for n in range(4):
        await store.save(NS, sid(n), journal(expires_at=2000.0, sets={"v:a": '"x"', "f:note": '"hi"'}))
        live.add(sid(n))
    await check("create")
    await store.save(NS, sid(0), journal(expires_at=2000.0, create=False, sets={"v:a": '"a longer text"'}))
    await check("set")
    await store.save(NS, sid(0), journal(expires_at=2000.0, create=False, deletes={"v:a"}))
    await check("delete")
    await store.save(NS, sid(1), journal(expires_at=2000.0, create=False, clear_values=True))
    await check("clear")
    await store.save(NS, sid(1), journal(expires_at=2000.0, create=False, increments={"v:count": 12345}))
    await check("increment")
    await store.save(NS, "r" * 64, journal(expires_at=2000.0, create=False, previous_id=sid(2)))
    live -= {sid(2)}
    live.add("r" * 64)
    await check("regenerate (to a longer ID)")
    assert await store.destroy(NS, sid(3))
    live.remove(sid(3))
    await check("destroy")
    await store.save(NS, sid(5), journal(expires_at=1500.0, sets={"v:a": '"soon gone"'}))
    await store.save(NS, sid(6), journal(expires_at=2000.0, sets={"v:a": '"owned"'}, create=True))
    live |= {sid(5), sid(6)}
    await check("more")
    clock.advance(600)
    assert store.sweep() == 1
    live.remove(sid(5))
    await check("sweep")
    owned = journal(expires_at=2000.0, create=False)
    owned.meta.user = "ada"
    await store.save(NS, sid(6), owned)
    assert await store.destroy_user(NS, "ada") == [sid(6)]
    live.remove(sid(6))
    await check("destroy_user")
    for n in range(100, 130):  # beyond 20,000 bytes: evictions
        await store.save(NS, sid(n), journal(expires_at=2000.0, sets={"v:a": '"' + "z" * 500 + '"'}))
        live.add(sid(n))
    live = {session_id for session_id in live if await store.load(NS, session_id) is not None}
    assert len(live) < 30
    await check("evict")
    await store.destroy_all(NS)
    live.clear()
    await check("destroy_all")
    assert store.bytes_held == 0


@pytest.mark.gen_test
async def test_a_session_larger_than_the_whole_store_is_refused_and_changes_nothing():
    store = MemoryStore(max_bytes=3 * ONE)
    for n in range(3):
        await store.save(NS, sid(n), journal(expires_at=None, sets=fields_of(n)))
    with pytest.raises(SessionTooLargeError):
        await store.save(NS, sid(0), journal(expires_at=None, create=False, sets={"v:big": "x" * 3 * ONE}))
    assert (await store.load(NS, sid(0))).fields == fields_of(0)
    assert len(store) == 3
    assert store.bytes_held == 3 * ONE


@pytest.mark.gen_test
async def test_evictions_are_logged_at_most_once_a_minute_with_how_many_went(caplog):
    clock = FakeClock(start=1000.0)
    store = MemoryStore(max_bytes=3 * ONE, clock=clock, sweep_interval=3600)
    warnings = lambda: [r.getMessage() for r in caplog.records if r.name == "sessions.store.memory"]  # noqa: E731
    caplog.set_level(logging.WARNING, logger="sessions.store.memory")
    for n in range(3):
        await store.save(NS, sid(n), journal(expires_at=None, sets=fields_of(n)))
    assert warnings() == []
    for n in range(3, 103):  # 100 evictions in the same second
        await store.save(NS, sid(n), journal(expires_at=None, sets=fields_of(n)))
    assert len(warnings()) == 1
    assert warnings()[0].endswith("evicted since the last warning: 1")
    clock.advance(59)
    for n in range(103, 113):
        await store.save(NS, sid(n), journal(expires_at=None, sets=fields_of(n)))
    assert len(warnings()) == 1
    clock.advance(1)
    await store.save(NS, sid(113), journal(expires_at=None, sets=fields_of(113)))
    assert len(warnings()) == 2
    assert warnings()[1].endswith("evicted since the last warning: 110")


@pytest.mark.parametrize(
    "fields",
    [
        {"v:authenticated": "true"},  # an idle logged-in session
        {f"v:key{n}": '"' + "x" * 100 + '"' for n in range(10)},
        {"v:k": '"' + "x" * 60_000 + '"'},  # one request of a cookieless flood (tests/test_memory_flood.py)
    ],
    ids=["logged-in", "ten-fields", "60KB"],
)
def test_the_size_estimate_is_within_a_fifth_of_what_python_really_holds(fields):
    """Measured as bench/micro.py does: every object a record keeps, allocated per session as a request would."""
    count = 200 if len(str(fields)) > 10_000 else 2_000

    async def fill() -> MemoryStore:
        store = MemoryStore(max_bytes=2**40)
        for _ in range(count):
            # New str objects for every session, as every request makes its own.
            fresh = {name[:1] + name[1:]: text[:1] + text[1:] for name, text in fields.items()}
            await store.save(NS, new_session_id(), journal(expires_at=None, sets=fresh))
        return store

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store = asyncio.run(fill())
        gc.collect()
        real = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    estimated = store.bytes_held / count
    assert 0.8 * real <= estimated <= 1.2 * real, (estimated, real)


@pytest.mark.gen_test
async def test_a_save_to_a_gone_record_is_refused_and_writes_nothing():
    store = MemoryStore()
    with pytest.raises(SessionGoneError):
        await store.save(NS, "a" * 43, journal(expires_at=None, create=False, sets={"v:x": "1"}))
    assert len(store) == 0


@pytest.mark.gen_test
async def test_loaded_records_are_copies():
    store = MemoryStore()
    await store.save(NS, "a" * 43, journal(expires_at=None, sets={"v:x": "1"}))
    record = await store.load(NS, "a" * 43)
    record.fields["v:x"] = "2"
    assert (await store.load(NS, "a" * 43)).fields == {"v:x": "1"}


def test_the_sessions_package_never_imports_the_app_or_its_handlers():
    for path in (Path(__file__).parent.parent / "sessions").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            assert not any(name.split(".")[0] in ("app", "handlers") for name in names), path


@pytest.mark.gen_test
async def test_destroy_user_follows_each_session_s_current_user_and_namespace():
    store = MemoryStore()

    async def save(session_id: str, user: str | None, namespace: str = NS, create: bool = False) -> None:
        owned = journal(expires_at=None, create=create)
        owned.meta.user = user
        await store.save(namespace, session_id, owned)

    await save(sid(1), None, create=True)
    await save(sid(1), "ada")  # logs in
    await save(sid(2), "ada", create=True)
    await save(sid(3), "ada", namespace="other", create=True)
    await save(sid(2), "bob")  # another user logs in on that session
    await store.save(NS, sid(4), journal(expires_at=None, create=False, previous_id=sid(1)))  # regenerated
    assert await store.destroy_user(NS, "ada") == []  # sid(4) kept no user: the journal's meta has none
    await save(sid(4), "ada")
    assert await store.destroy_user(NS, "ada") == [sid(4)]
    assert await store.destroy_user(NS, "bob") == [sid(2)]
    assert await store.load(NS, sid(2)) is None
    assert await store.load("other", sid(3)) is not None
    assert await store.destroy_user("other", "ada") == [sid(3)]
    assert len(store) == 0
    assert store.bytes_held == 0


@pytest.mark.gen_test
async def test_a_write_sweeps_in_slices_and_the_next_writes_go_on_where_it_stopped(monkeypatch):
    """With no time to spare, each write's sweep drops one batch; later writes finish it, none expired survives."""
    monkeypatch.setattr("sessions.stores.memory.SWEEP_SLICE", 0.0)
    clock = FakeClock(start=1000.0)
    store = MemoryStore(clock=clock, sweep_interval=60)
    for n in range(300):
        await store.save(NS, sid(n), journal(expires_at=1010.0 + n % 50, sets=fields_of(n)))
    await store.save(NS, sid(999), journal(expires_at=5000.0, sets=fields_of(1)))
    clock.advance(100)
    held = [len(store)]
    for _ in range(10):
        await store.save(NS, sid(999), journal(expires_at=5000.0, create=False))
        held.append(len(store))
    assert held[:6] == [301, 237, 173, 109, 45, 1]  # 64 records per slice, then done
    assert held[6:] == [1] * 5
    assert store.bytes_held == record_size(sid(999), fields_of(1))


@pytest.mark.gen_test
async def test_sweep_drops_records_expired_within_the_present_bucket_and_keeps_the_rest():
    clock = FakeClock(start=1000.0)
    store = MemoryStore(clock=clock, sweep_interval=3600)
    await store.save(NS, sid(1), journal(expires_at=1001.0))
    await store.save(NS, sid(2), journal(expires_at=1001.5))
    await store.save(NS, sid(3), journal(expires_at=1002.0))
    clock.advance(1.5)
    assert store.sweep() == 2
    assert await store.load(NS, sid(3)) is not None
    clock.advance(0.5)
    assert store.sweep() == 1
    assert len(store) == 0
