"""How much disk does a flood of big sessions take in SQLiteStore, with and without max_sessions?

Creates ``--sessions`` new sessions holding one ``--value-bytes`` value each (a flood
of logins that each store a big value), twice over, and prints the sizes of the
file and its WAL as it goes: while the flood runs, after the store is closed (the WAL
folded back), after every session expired and was purged, and after a second flood.

    python tools/sqlite_growth.py [--sessions 1000] [--value-bytes 60000] [--max-sessions 200]

The figures are quoted in docs/stores.md, "Limits worth knowing".
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sessions.ids import new_session_id  # noqa: E402
from sessions.record import Journal, Meta  # noqa: E402
from sessions.stores.sqlite import SQLiteStore  # noqa: E402

NAMESPACE = "growth"  # the store namespace the measurement writes in


def sizes(path: Path) -> str:
    wal = Path(f"{path}-wal")
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    return f"file {path.stat().st_size / 1e6:6.1f} MB  WAL {wal_bytes / 1e6:5.1f} MB"


async def flood(path: Path, sessions: int, value_bytes: int, max_sessions: int | None) -> None:
    store = SQLiteStore(path, max_sessions=max_sessions)
    value = {"v:blob": '"' + "x" * value_bytes + '"'}
    for done in range(1, sessions + 1):
        now = time.time()
        journal = Journal(Meta(now, now, expires_at=now + 3600), create=True, sets=value)
        await store.save(NAMESPACE, new_session_id(), journal)
        if done % (sessions // 4) == 0:
            print(f"  {done:>6,} sessions created: {sizes(path)}")
    await store.close()
    print(f"  store closed:          {sizes(path)}")


async def purge_everything(path: Path) -> None:
    store = SQLiteStore(path, clock=lambda: time.time() + 7200)  # two hours on: every session has expired
    purged = await store.purge()
    await store.close()
    print(f"  {purged:,} purged:          {sizes(path)}")


async def measure(sessions: int, value_bytes: int, max_sessions: int | None) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sessions.sqlite3"
        print(f"max_sessions={max_sessions}, {sessions:,} sessions of {value_bytes:,} bytes, twice:")
        await flood(path, sessions, value_bytes, max_sessions)
        await purge_everything(path)
        await flood(path, sessions, value_bytes, max_sessions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--value-bytes", type=int, default=60_000)
    parser.add_argument("--max-sessions", type=int, default=200)
    args = parser.parse_args()
    for max_sessions in (None, args.max_sessions):
        asyncio.run(measure(args.sessions, args.value_bytes, max_sessions))


if __name__ == "__main__":
    main()
