"""How long does SQLiteStore keep the event loop from running other work?

Runs concurrent session saves and loads against a SQLite file while a ticker
coroutine measures event-loop lag (how late a 1 ms sleep wakes up), twice: with
the store as shipped (its calls run on the store's own threads) and with the
same calls made directly on the loop. Optionally another connection holds the
write lock for 50 ms at a time, as a second app process would under load.

    python tools/sqlite_loop_lag.py [--seconds 5] [--workers 32] [--contention]

The figures are quoted in docs/stores.md, "SQLite and the event loop".
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sessions.ids import new_session_id  # noqa: E402
from sessions.record import Journal, Meta  # noqa: E402
from sessions.stores.sqlite import SQLiteStore, _Worker  # noqa: E402

T = TypeVar("T")

NAMESPACE = "lag"  # the store namespace the measurement writes in


class InlineWorker(_Worker):
    """A worker that runs its calls right away on the caller's thread (the event loop's)."""

    async def run(self, operation: Callable[..., T], *args: object) -> T:
        return self._guarded(operation, time.monotonic() + self._busy_timeout, args)

    async def close(self) -> None:
        self._disconnect()


class InlineSQLiteStore(SQLiteStore):
    """The same store, calling SQLite on the event loop's thread: what running it inline would cost."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._writer = InlineWorker(
            path, "writer", busy_timeout=5.0, query_only=False, on_file_changed=self._tell_file_changed
        )
        self._reader = InlineWorker(
            path, "reader", busy_timeout=5.0, query_only=True, on_file_changed=self._tell_file_changed
        )


async def ticker(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - start - 0.001)


async def worker(store: SQLiteStore, session_id: str, stop: asyncio.Event, done: list[int]) -> None:
    while not stop.is_set():
        now = time.time()
        await store.load(NAMESPACE, session_id)
        meta = Meta(created=now, touched=now, expires_at=now + 3600)
        await store.save(NAMESPACE, session_id, Journal(meta, sets={"v:a": "1"}, increments={"v:n": 1}))
        done.append(1)
        await asyncio.sleep(0)  # a request yields at its network I/O; inline calls alone never would


def hold_write_lock(path: Path, stop: threading.Event) -> None:
    """Another process's writes: take the write lock for 50 ms, release it for 50 ms."""
    db = sqlite3.connect(path, isolation_level=None, timeout=5)
    while not stop.is_set():
        db.execute("BEGIN IMMEDIATE")
        time.sleep(0.05)
        db.execute("COMMIT")
        time.sleep(0.05)
    db.close()


async def measure(store_class: type[SQLiteStore], path: Path, seconds: float, workers: int) -> dict[str, float]:
    store = store_class(path)
    ids = [new_session_id() for _ in range(workers)]
    for session_id in ids:
        now = time.time()
        await store.save(NAMESPACE, session_id, Journal(Meta(now, now, expires_at=now + 3600), create=True))
    stop = asyncio.Event()
    lags: list[float] = []
    done: list[int] = []
    tasks = [asyncio.ensure_future(ticker(lags, stop))]
    tasks += [asyncio.ensure_future(worker(store, session_id, stop, done)) for session_id in ids]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    await store.close()
    lags.sort()
    return {
        "load+save/s": len(done) / seconds,
        "lag p50 ms": statistics.median(lags) * 1000,
        "lag p99 ms": lags[int(len(lags) * 0.99)] * 1000,
        "lag max ms": lags[-1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--contention", action="store_true", help="another connection holds the write lock")
    args = parser.parse_args()
    for store_class in (SQLiteStore, InlineSQLiteStore):
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "sessions.sqlite3"
            stop_locker = threading.Event()
            locker = threading.Thread(target=hold_write_lock, args=(path, stop_locker))
            if args.contention:
                SQLiteStore(path)  # the schema must exist before the locker starts
                sqlite3.connect(path).execute("PRAGMA journal_mode = WAL").close()
                locker.start()
            figures = asyncio.run(measure(store_class, path, args.seconds, args.workers))
            stop_locker.set()
            if args.contention:
                locker.join()
        print(store_class.__name__, "  ".join(f"{name} {value:,.1f}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
