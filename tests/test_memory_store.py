"""The memory store's own promises: it sweeps expired records and stays bounded."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sessions import MemoryStore
from sessions.errors import SessionGoneError
from sessions.record import Journal, Meta
from tests.clock import FakeClock

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


@pytest.mark.gen_test
async def test_the_store_never_grows_past_max_sessions():
    store = MemoryStore(max_sessions=3)
    for n in range(10):
        await store.save(NS, f"{n:043d}", journal(expires_at=None, sets={"v:n": str(n)}))
    assert len(store) == 3
    assert await store.load(NS, f"{9:043d}") is not None
    assert await store.load(NS, f"{0:043d}") is None  # the oldest went first


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
