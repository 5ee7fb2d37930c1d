"""The embedded store: session records in a SQLite file (stdlib ``sqlite3``).

Sessions survive a restart and are shared by every process that opens the same
file, with no server to run. The layout gives per-key updates: one row per
session in ``sessions`` (its metadata, ``expires_at`` indexed for the purge) and
one row per field in ``session_fields``, so a save touches only the fields a
request changed and two requests that set different keys both keep theirs.

Each save is one ``BEGIN IMMEDIATE`` transaction: it takes the file's write
lock first, checks the record still exists (a destroyed session is never brought
back), then applies the journal in the same order as ``apply_journal``,
computing increments inside the transaction. ``busy_timeout`` makes a writer
wait for another process's transaction instead of failing at once; WAL lets
readers go on while one process writes.

``sqlite3`` calls block, so they run on one worker thread owned by the store:
the event loop only hands work over and awaits it (the loop-lag measurement is
in the README, "SQLite and the event loop"), and one thread means one connection, used by
one caller at a time. Expired sessions are purged by a write once every
``purge_interval`` seconds, as ``MemoryStore`` sweeps.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from ..errors import SessionGoneError, StoreUnavailableError
from ..ids import fingerprint
from ..record import VALUE_PREFIX, Journal, Meta, Record, increment_text, well_formed
from .base import SessionStore

log = logging.getLogger("sessions.store.sqlite")
T = TypeVar("T")

#: Bumped whenever the layout changes; a file of another version is dropped and
#: rebuilt (its sessions are lost: a session store holds nothing that outlives a login).
SCHEMA_VERSION = 2
_SCHEMA = f"""
DROP TABLE IF EXISTS session_fields;
DROP TABLE IF EXISTS sessions;
CREATE TABLE sessions (
    namespace TEXT NOT NULL,
    id TEXT NOT NULL,
    created REAL NOT NULL,
    touched REAL NOT NULL,
    deadline REAL,
    expires_at REAL,
    user TEXT,
    PRIMARY KEY (namespace, id)
);
CREATE INDEX sessions_expires_at ON sessions(expires_at);
CREATE INDEX sessions_user ON sessions(namespace, user);
CREATE TABLE session_fields (
    namespace TEXT NOT NULL,
    session_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, session_id, name),
    FOREIGN KEY (namespace, session_id) REFERENCES sessions(namespace, id) ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
PRAGMA user_version = {SCHEMA_VERSION};
"""
_META_COLUMNS = "created, touched, deadline, expires_at, user"
_UPSERT_META = f"""
INSERT INTO sessions (namespace, id, {_META_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(namespace, id) DO UPDATE SET created = excluded.created, touched = excluded.touched,
    deadline = excluded.deadline, expires_at = excluded.expires_at, user = excluded.user
"""
_UPDATE_META = (
    "UPDATE sessions SET created = ?, touched = ?, deadline = ?, expires_at = ?, user = ? WHERE namespace = ? AND id = ?"
)
_UPSERT_FIELD = """
INSERT INTO session_fields (namespace, session_id, name, value) VALUES (?, ?, ?, ?)
ON CONFLICT(namespace, session_id, name) DO UPDATE SET value = excluded.value
"""
#: Value fields sort between "v:" and "v;" (":" + 1), so a clear is one primary-key range.
_VALUE_RANGE_END = VALUE_PREFIX[:-1] + chr(ord(VALUE_PREFIX[-1]) + 1)


class SQLiteStore(SessionStore):
    """Session records in a SQLite file, safe for several processes."""

    name = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        purge_interval: float = 60.0,
        busy_timeout: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._purge_interval = purge_interval
        self._busy_timeout = busy_timeout
        self._next_purge = clock() + purge_interval
        self._connection: sqlite3.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")

    # -- the store interface (each call runs on the store's thread) -----------

    async def load(self, namespace: str, session_id: str) -> Record | None:
        return await self._run(self._load, namespace, session_id)

    async def save(self, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        return await self._run(self._save, namespace, session_id, journal)

    async def destroy(self, namespace: str, session_id: str) -> bool:
        return await self._run(self._destroy, namespace, session_id)

    async def destroy_all(self, namespace: str) -> None:
        await self._run(self._destroy_all, namespace)

    async def destroy_user(self, namespace: str, user: str) -> list[str]:
        return await self._run(self._destroy_user, namespace, user)

    async def purge(self) -> int:
        """Delete every expired session now; return how many went."""
        return await self._run(self._purge)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        self._executor.shutdown(wait=True)

    # -- plumbing ------------------------------------------------------------------

    async def _run(self, operation: Callable[..., T], *args: object) -> T:
        """Run ``operation`` on the store's thread, turning SQLite failures into outages."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._guarded, operation, args)

    def _guarded(self, operation: Callable[..., T], args: tuple[object, ...]) -> T:
        try:
            return operation(self._connect(), *args)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise  # a bug in this module, not an outage
        except sqlite3.DatabaseError as exc:  # locked, read-only, disk I/O, cannot open, not a database
            self._disconnect()  # a file that could not be opened or was replaced is retried afresh
            raise StoreUnavailableError(f"SQLite file {self.path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        """Open the file on first use (and after a failure), so the app starts even if it is missing."""
        if self._connection is None:
            connection = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
            try:
                connection.execute("PRAGMA journal_mode = WAL")
                # With WAL the file is never corrupted; a power cut may undo the last few commits.
                connection.execute("PRAGMA synchronous = NORMAL")
                connection.execute("PRAGMA foreign_keys = ON")  # fields follow their session
                if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    self._create_schema(connection)
            except sqlite3.Error:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _create_schema(self, connection: sqlite3.Connection) -> None:
        """Lay out an empty file, or drop one of another layout (under the write lock, so two processes agree)."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'sessions'").fetchone():
                    log.warning("%s holds sessions of an older layout: they are dropped", self.path)
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        connection.execute(statement)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- operations (on the store's thread) ------------------------------------------

    def _load(self, db: sqlite3.Connection, namespace: str, session_id: str) -> Record | None:
        db.execute("BEGIN")  # one snapshot for both reads, whatever other processes write meanwhile
        try:
            key = (namespace, session_id)
            row = db.execute(f"SELECT {_META_COLUMNS} FROM sessions WHERE namespace = ? AND id = ?", key).fetchone()
            if row is None:
                return None
            fields = dict(db.execute("SELECT name, value FROM session_fields WHERE namespace = ? AND session_id = ?", key))
            record = Record(fields, Meta(*row))
            if not well_formed(record):
                log.warning("session %s in %s is not a record this package wrote: ignored",
                            fingerprint(session_id), self.path)
                return None
            return record
        finally:
            if db.in_transaction:
                db.execute("COMMIT")

    def _save(self, db: sqlite3.Connection, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        if self._clock() >= self._next_purge:
            self._purge(db)  # a statement of its own: a save that fails must not undo the purge
        db.execute("BEGIN IMMEDIATE")  # take the write lock before reading what we change
        try:
            self._take_record(db, namespace, session_id, journal)
            counted = self._apply(db, (namespace, session_id), journal)
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already (disk I/O error)
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return counted

    def _take_record(self, db: sqlite3.Connection, namespace: str, session_id: str, journal: Journal) -> None:
        """Move (regenerate) and update the record's metadata; raise if it is gone."""
        meta = journal.meta
        columns = (meta.created, meta.touched, meta.deadline, meta.expires_at, meta.user)
        if journal.previous_id is not None:
            moved = db.execute(
                "UPDATE sessions SET id = ? WHERE namespace = ? AND id = ?", (session_id, namespace, journal.previous_id)
            )
            if moved.rowcount == 0 and not journal.create:
                raise SessionGoneError(journal.previous_id)
        if journal.create:
            db.execute(_UPSERT_META, (namespace, session_id, *columns))
        elif db.execute(_UPDATE_META, (*columns, namespace, session_id)).rowcount == 0:
            raise SessionGoneError(session_id)

    def _apply(self, db: sqlite3.Connection, key: tuple[str, str], journal: Journal) -> dict[str, str]:
        """The steps of ``apply_journal``, in its order, as SQL; ``key`` is (namespace, session ID)."""
        where = "namespace = ? AND session_id = ?"
        if journal.clear_values:
            db.execute(
                f"DELETE FROM session_fields WHERE {where} AND name >= ? AND name < ?",
                (*key, VALUE_PREFIX, _VALUE_RANGE_END),
            )
        db.executemany(f"DELETE FROM session_fields WHERE {where} AND name = ?", [(*key, n) for n in journal.deletes])
        db.executemany(_UPSERT_FIELD, [(*key, name, text) for name, text in journal.sets.items()])
        counted = {}
        for name, delta in journal.increments.items():
            row = db.execute(f"SELECT value FROM session_fields WHERE {where} AND name = ?", (*key, name)).fetchone()
            counted[name] = increment_text(None if row is None else row[0], delta)
            db.execute(_UPSERT_FIELD, (*key, name, counted[name]))
        return counted

    def _destroy(self, db: sqlite3.Connection, namespace: str, session_id: str) -> bool:
        return db.execute("DELETE FROM sessions WHERE namespace = ? AND id = ?", (namespace, session_id)).rowcount > 0

    def _destroy_user(self, db: sqlite3.Connection, namespace: str, user: str) -> list[str]:
        """Delete the user's sessions; return those still live (an expired one awaiting the purge is not counted)."""
        now = self._clock()
        deleted = db.execute(
            "DELETE FROM sessions WHERE namespace = ? AND user = ? RETURNING id, expires_at", (namespace, user)
        ).fetchall()
        return [session_id for session_id, expires_at in deleted if expires_at is None or expires_at > now]

    def _destroy_all(self, db: sqlite3.Connection, namespace: str) -> None:
        db.execute("DELETE FROM sessions WHERE namespace = ?", (namespace,))

    def _purge(self, db: sqlite3.Connection) -> int:
        now = self._clock()
        purged = db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,)).rowcount
        self._next_purge = now + self._purge_interval
        if purged:
            log.info("purged %d expired sessions from %s", purged, self.path)
        return purged
