"""The embedded store: session records in a SQLite file (stdlib ``sqlite3``).

Sessions survive a restart and are shared by every process that opens the same
file, with no server to run. The layout gives per-key updates: one row per
session in ``sessions`` (its metadata, ``expires_at`` indexed for the purge) and
one row per field in ``session_fields``, so a save touches only the fields a
request changed and two requests that set different keys both keep theirs.

Each save is one ``BEGIN IMMEDIATE`` transaction: it takes the file's write
lock first, checks the record still exists (a destroyed session is never brought
back), then applies the journal in the same order as ``apply_journal``,
computing increments inside the transaction. Expired sessions are purged in a
save's transaction once every ``purge_interval`` seconds, as ``MemoryStore`` sweeps,
and a new session beyond ``max_sessions`` evicts one (the nearest to expiry), so
that a flood of logins cannot grow the file without bound. The bound counts
sessions rather than bytes because SQLite counts rows cheaply but frees pages only
as whole pages empty, so a byte bound would evict by guesswork.

Threads and locks. ``sqlite3`` calls that may wait run on two threads owned by
the store, each with its own connection, fed by a queue; the event loop only
hands work over and awaits it (the loop-lag measurement is in docs/stores.md,
"SQLite and the event loop"):

* the *writer* runs saves, destroys and the purge. While another process holds
  the write lock, a save waits for it at most ``busy_timeout`` counted from the
  moment the save was called, not from when the thread got to it: a save queued
  behind others gives up when its own time is up instead of one timeout later
  for each save ahead of it.
* loads run on the event loop's own thread, over a read-only connection with a
  busy timeout of 0: in WAL mode a reader reads the last committed snapshot and
  never waits for a writer, so a load is a look-up that never blocks the loop
  and never queues behind saves. Whatever stops it (a checkpoint's brief lock, a
  missing file or one of another layout, a corrupt one) sends that load to the
  *reader* thread, whose ``query_only`` connection waits as a save would, lays a
  missing file out under the write lock, and reports outages.

Before every operation a connection's owner compares the file its connection has open with
the file the path names now (device and inode, one ``stat``): a database deleted
or replaced while the app runs is noticed, logged once, and reopened, instead of
writes going on into a file no other process can see.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from ..errors import SessionGoneError, StoreUnavailableError
from ..ids import fingerprint
from ..record import VALUE_PREFIX, Journal, Meta, Record, increment_text, well_formed
from ..throttled_log import ThrottledWarning
from .base import SessionStore

log = logging.getLogger("sessions.store.sqlite")
T = TypeVar("T")

#: Bumped whenever the layout changes. A file of a layout this code knows to be older is
#: brought up to date: version 2 in place, its sessions kept; the layout before namespaces
#: (version 0) dropped and rebuilt, its sessions lost. A file of a newer version, or one that is
#: not a session file, is refused untouched, so that rolling back a release never wipes the
#: sessions the newer one kept.
SCHEMA_VERSION = 3
#: The layouts this code knows to be older, by ``user_version``, with the tables each has: the one
#: before namespaces stamped none (it stayed 0); version 2 counted its sessions with COUNT(*).
_OLDER_LAYOUTS = {0: {"sessions", "session_fields"}, 2: {"sessions", "session_fields"}}
#: The number of rows in ``sessions``, kept by SQLite itself in the transaction that adds or
#: removes one (whichever process writes), so that the ``max_sessions`` bound reads one row
#: instead of counting the table: COUNT(*) walks an index, 9 ms per login at 1,000,000 sessions.
#: Version 3 added it; a version-2 file gets it in place, its sessions kept.
_SESSION_COUNT = (
    "CREATE TABLE session_count (n INTEGER NOT NULL)",
    "INSERT INTO session_count SELECT COUNT(*) FROM sessions",
    "CREATE TRIGGER sessions_added AFTER INSERT ON sessions BEGIN UPDATE session_count SET n = n + 1; END",
    "CREATE TRIGGER sessions_removed AFTER DELETE ON sessions BEGIN UPDATE session_count SET n = n - 1; END",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_SCHEMA = (
    "DROP TABLE IF EXISTS session_fields",
    "DROP TABLE IF EXISTS sessions",
    "DROP TABLE IF EXISTS session_count",
    """CREATE TABLE sessions (
    namespace TEXT NOT NULL,
    id TEXT NOT NULL,
    created REAL NOT NULL,
    touched REAL NOT NULL,
    deadline REAL,
    expires_at REAL,
    user TEXT,
    PRIMARY KEY (namespace, id)
)""",
    "CREATE INDEX sessions_expires_at ON sessions(expires_at)",
    "CREATE INDEX sessions_user ON sessions(namespace, user)",
    """CREATE TABLE session_fields (
    namespace TEXT NOT NULL,
    session_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, session_id, name),
    FOREIGN KEY (namespace, session_id) REFERENCES sessions(namespace, id) ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID""",
    *_SESSION_COUNT,
)
_META_COLUMNS = "created, touched, deadline, expires_at, user"
_UPSERT_META = f"""
INSERT INTO sessions (namespace, id, {_META_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(namespace, id) DO UPDATE SET created = excluded.created, touched = excluded.touched,
    deadline = excluded.deadline, expires_at = excluded.expires_at, user = excluded.user
"""
_UPDATE_META = (
    "UPDATE sessions SET created = ?, touched = ?, deadline = ?, expires_at = ?, user = ?"
    " WHERE namespace = ? AND id = ?"
)
_UPSERT_FIELD = """
INSERT INTO session_fields (namespace, session_id, name, value) VALUES (?, ?, ?, ?)
ON CONFLICT(namespace, session_id, name) DO UPDATE SET value = excluded.value
"""
_LOAD = f"""
SELECT {", ".join("s." + column for column in _META_COLUMNS.split(", "))}, f.name, f.value
FROM sessions AS s LEFT JOIN session_fields AS f ON f.namespace = s.namespace AND f.session_id = s.id
WHERE s.namespace = ? AND s.id = ?
"""
#: Value fields sort between "v:" and "v;" (":" + 1), so a clear is one primary-key range.
_VALUE_RANGE_END = VALUE_PREFIX[:-1] + chr(ord(VALUE_PREFIX[-1]) + 1)


#: What a path names: (device, inode), or ``None`` when nothing is there.
FileIdentity = tuple[int, int] | None


class UnknownLayoutError(StoreUnavailableError):
    """The file was laid out by a newer release (or is not a session file): this code leaves it as it is.

    An outage rather than a bug: the store answers as unavailable until the file is
    one it knows, and ``python app.py`` refuses to start with this message.
    """


def _file_identity(path: Path) -> FileIdentity:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


class _OpenedFile:
    """Which file a connection was opened on, so that a path now naming another one (or none) is noticed.

    SQLite keeps a deleted or replaced file open and would go on reading and
    writing it, out of every other process's sight.
    """

    def __init__(self, path: Path, on_changed: Callable[[FileIdentity], None]) -> None:
        self._path = path
        self._on_changed = on_changed
        self._identity: FileIdentity = None

    def note_opened(self) -> FileIdentity:
        """Remember the file the path names now, as the one the connection is on; return its identity."""
        self._identity = _file_identity(self._path)
        return self._identity

    def changed(self) -> bool:
        """Tell whether the path names another file (or none) than the one noted, reporting it if so."""
        if _file_identity(self._path) == self._identity:
            return False
        self._on_changed(self._identity)
        return True


class _Worker:
    """One thread of the store's, fed by a queue, and the one connection it uses, reopened when the file changes.

    A plain queue and ``call_soon_threadsafe`` rather than ``run_in_executor``: the executor's
    two futures chained by callbacks held a SQLite write at 0.47 of bare Tornado's throughput,
    the queue lifts it to 0.60 (the two measured side by side; docs/benchmarks.md).
    """

    def __init__(
        self,
        path: Path,
        role: str,
        *,
        busy_timeout: float,
        query_only: bool,
        on_file_changed: Callable[[FileIdentity], None],
    ) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._query_only = query_only
        self._file = _OpenedFile(path, on_file_changed)
        self._connection: sqlite3.Connection | None = None
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        # A daemon: a store nobody closed must not keep the interpreter from exiting (a save
        # cut short there is rolled back by SQLite, as after a crash).
        self._thread = threading.Thread(target=self._serve, name=f"sqlite-store-{role}", daemon=True)

    async def run(self, operation: Callable[..., T], *args: object) -> T:
        """Run ``operation(connection, *args)`` on this thread, giving up ``busy_timeout`` after this call."""
        deadline = time.monotonic() + self._busy_timeout
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not self._thread.is_alive():
            self._thread.start()
        self._queue.put(_Call(loop, future, self._guarded, (operation, deadline, args)))
        return await future

    async def close(self) -> None:
        if self._thread.is_alive():
            loop = asyncio.get_running_loop()
            done: asyncio.Future[None] = loop.create_future()
            self._queue.put(_Call(loop, done, lambda: self._disconnect(), ()))
            self._queue.put(None)
            await done
            self._thread.join()

    def _serve(self) -> None:
        while (call := self._queue.get()) is not None:
            try:
                outcome, failure = call.function(*call.args), None
            except BaseException as exc:  # handed to the awaiting coroutine, which raises it
                outcome, failure = None, exc
            try:
                call.loop.call_soon_threadsafe(_settle, call.future, outcome, failure)
            except RuntimeError:  # the loop closed meanwhile: nobody awaits the answer
                pass

    def _guarded(self, operation: Callable[..., T], deadline: float, args: tuple[object, ...]) -> T:
        """Run ``operation`` within ``deadline``, turning SQLite failures into outages."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:  # the time went by while earlier operations held this thread
            raise StoreUnavailableError(
                f"SQLite file {self._path}: database is locked (busy_timeout of {self._busy_timeout:g} s"
                " ran out while queued behind other operations)"
            )
        try:
            db = self._connection_to_current_file(remaining)
            db.execute(f"PRAGMA busy_timeout = {int(remaining * 1000)}")  # wait for locks only as long as is left
            return operation(db, *args)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise  # a bug in this module, not an outage
        except sqlite3.DatabaseError as exc:  # locked, read-only, disk I/O, cannot open, not a database
            self._disconnect()  # a file that could not be opened is retried afresh
            raise StoreUnavailableError(f"SQLite file {self._path}: {exc}") from exc

    def _connection_to_current_file(self, timeout: float) -> sqlite3.Connection:
        """The open connection, unless the path now names another file (or none): then a new one."""
        if self._connection is not None and self._file.changed():
            self._disconnect()
        if self._connection is None:
            self._connection = _open_database(self._path, timeout, query_only=self._query_only)
            self._file.note_opened()
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _Call(NamedTuple):
    """One operation queued for a worker's thread, and where its outcome goes."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    function: Callable[..., Any]
    args: tuple[Any, ...]


def _settle(future: asyncio.Future[Any], outcome: object, failure: BaseException | None) -> None:
    """On the loop: hand a worker's outcome to the coroutine awaiting it (unless it stopped waiting)."""
    if future.cancelled():
        return
    if failure is not None:
        future.set_exception(failure)
    else:
        future.set_result(outcome)


class _LoopReader:
    """Loads on the event loop's own thread, over a read-only connection that never waits.

    In WAL mode a read takes no lock another connection holds, so it costs the loop
    about as long as the hand-over to a thread would (a memory-speed primary-key look-up),
    and skipping the hand-over took a SQLite read from 0.65 to 0.76 of bare Tornado (the two
    measured side by side; docs/benchmarks.md). With a busy timeout of 0 it never blocks the
    loop: anything but an answer (SQLITE_BUSY during a checkpoint or recovery, no file
    yet, a file of another layout, a corrupt one) raises ``sqlite3.Error``, and the store
    runs the load on its reader thread instead, which waits, lays files out and reports
    outages as before. It checks the file under the path per call, as the threads do.
    """

    def __init__(self, path: Path, on_file_changed: Callable[[FileIdentity], None]) -> None:
        self._path = path
        self._file = _OpenedFile(path, on_file_changed)
        self._connection: sqlite3.Connection | None = None

    def run(self, operation: Callable[..., T], *args: object) -> T:
        """Run ``operation(connection, *args)`` now; raise ``sqlite3.Error`` if the reader thread must."""
        try:
            return operation(self._connection_to_current_file(), *args)
        except sqlite3.Error:
            self.close()
            raise

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connection_to_current_file(self) -> sqlite3.Connection:
        if self._connection is not None and self._file.changed():
            self.close()
        if self._connection is None:
            if self._file.note_opened() is None:
                raise sqlite3.OperationalError("no file yet: the reader thread creates it")
            # Read-only, so this connection never creates or lays out a file; timeout 0: never wait.
            uri = f"{self._path.resolve().as_uri()}?mode=ro"
            connection = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None, check_same_thread=False)
            if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                connection.close()
                raise sqlite3.OperationalError("a file of another layout: the reader thread lays it out")
            self._connection = connection
        return self._connection


def _open_database(path: Path, timeout: float, *, query_only: bool) -> sqlite3.Connection:
    """Open (creating if missing) the file in WAL mode with this module's layout, on the calling thread."""
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        _refuse_unknown_layout(path, connection)  # before WAL mode, which would change a file it must not touch
        connection.execute("PRAGMA journal_mode = WAL")  # a no-op, taking no lock, when the file is WAL already
        # With WAL the file is never corrupted; a power cut may undo the last few commits.
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")  # fields follow their session
        if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            _create_schema(path, connection)
        if query_only:
            connection.execute("PRAGMA query_only = ON")
    except (sqlite3.Error, UnknownLayoutError):
        connection.close()
        raise
    return connection


def _refuse_unknown_layout(path: Path, connection: sqlite3.Connection) -> None:
    """Raise ``UnknownLayoutError`` unless the file is empty, of this layout, or of one known to be older."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise UnknownLayoutError(
            f"SQLite file {path} has layout version {version}, newer than this code reads (version"
            f" {SCHEMA_VERSION}): it was written by a newer release; run that release, or choose another file"
        )
    tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version not in _OLDER_LAYOUTS or not tables <= _OLDER_LAYOUTS[version]:
        raise UnknownLayoutError(
            f"SQLite file {path} is not a session file this code knows (layout version {version},"
            f" tables {', '.join(sorted(tables))}; this code reads version {SCHEMA_VERSION}): choose another file"
        )


def _create_schema(path: Path, connection: sqlite3.Connection) -> None:
    """Lay out an empty file, or bring an older one up to date (under the write lock, so two processes agree)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        _refuse_unknown_layout(path, connection)  # again under the lock: another process may have laid it out
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version == 2:
            log.info("%s: the session count added (layout version 2 -> %d), sessions kept", path, SCHEMA_VERSION)
            for statement in _SESSION_COUNT:
                connection.execute(statement)
        elif version != SCHEMA_VERSION:
            if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'sessions'").fetchone():
                log.warning("%s holds sessions of an older layout: they are dropped", path)
            for statement in _SCHEMA:
                connection.execute(statement)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


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
        max_sessions: int | None = 100_000,
    ) -> None:
        if max_sessions is not None and max_sessions < 1:
            raise ValueError("max_sessions must be at least 1 (or None for no bound)")
        self.path = Path(path)
        self._max_sessions = max_sessions
        self._clock = clock
        self._purge_interval = purge_interval
        self._next_purge = clock() + purge_interval
        self._evictions = ThrottledWarning(
            log, "%s is full (max_sessions=%d): evicted %d sessions nearest to expiry", purge_interval, clock
        )
        self._changed_file_told: FileIdentity = None
        self._told_lock = threading.Lock()
        tell = self._tell_file_changed
        self._writer = _Worker(self.path, "writer", query_only=False, busy_timeout=busy_timeout, on_file_changed=tell)
        self._reader = _Worker(self.path, "reader", query_only=True, busy_timeout=busy_timeout, on_file_changed=tell)
        self._loop_reader = _LoopReader(self.path, tell)

    # -- the store interface: loads on the loop (else the reader's thread), everything else on the writer's

    async def load(self, namespace: str, session_id: str) -> Record | None:
        try:
            return self._loop_reader.run(self._load, namespace, session_id)
        except sqlite3.Error:
            return await self._reader.run(self._load, namespace, session_id)

    async def save(self, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        return await self._writer.run(self._save, namespace, session_id, journal)

    async def destroy(self, namespace: str, session_id: str) -> bool:
        return await self._writer.run(self._destroy, namespace, session_id)

    async def destroy_all(self, namespace: str) -> None:
        await self._writer.run(self._destroy_all, namespace)

    async def destroy_user(self, namespace: str, user: str) -> list[str]:
        return await self._writer.run(self._destroy_user, namespace, user)

    async def purge(self) -> int:
        """Delete every expired session now; return how many went."""
        return await self._writer.run(self._purge)

    async def close(self) -> None:
        self._loop_reader.close()
        await self._reader.close()
        await self._writer.close()  # last, so that SQLite folds the WAL back into the file

    def _tell_file_changed(self, was: FileIdentity) -> None:
        """Log a deleted or replaced file once, though both threads notice it."""
        with self._told_lock:
            if was == self._changed_file_told:
                return
            self._changed_file_told = was
        log.warning("%s was deleted or replaced while open: reopening it (the old file's sessions are gone)", self.path)

    # -- operations (on a worker's thread) ------------------------------------------

    def _load(self, db: sqlite3.Connection, namespace: str, session_id: str) -> Record | None:
        # One statement: one snapshot of the session and its fields, whatever other processes write meanwhile.
        rows = db.execute(_LOAD, (namespace, session_id)).fetchall()
        if not rows:
            return None
        fields = {name: value for *_, name, value in rows if name is not None}  # None: a session with no fields
        record = Record(fields, Meta(*rows[0][:5]))
        if not well_formed(record):
            log.warning(
                "session %s in %s is not a record this package wrote: ignored", fingerprint(session_id), self.path
            )
            return None
        return record

    def _save(self, db: sqlite3.Connection, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        db.execute("BEGIN IMMEDIATE")  # take the write lock before reading what we change
        try:
            if self._clock() >= self._next_purge:
                self._purge(db)  # in the same transaction: one wait for the lock, within the save's deadline
            if journal.create and self._max_sessions is not None:
                self._make_room(db, self._max_sessions)
            self._take_record(db, namespace, session_id, journal)
            counted = self._apply(db, (namespace, session_id), journal)
        except SessionGoneError:
            db.execute("COMMIT")  # _take_record wrote nothing before raising; the purge stays done
            raise
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already (disk I/O error)
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return counted

    def _make_room(self, db: sqlite3.Connection, max_sessions: int) -> None:
        """Keep the file to ``max_sessions`` sessions: before a new one, drop the expired, then the nearest to expiry.

        The count is the ``session_count`` row that triggers keep, one read at any number of
        sessions. The nearest to expiry are the longest idle when sessions share a lifetime,
        and the expires_at index finds them without a sort.
        """
        excess = db.execute("SELECT n FROM session_count").fetchone()[0] + 1 - max_sessions
        if excess > 0:
            excess -= self._purge(db)
        if excess > 0:
            db.execute(
                "DELETE FROM sessions WHERE rowid IN"
                " (SELECT rowid FROM sessions ORDER BY expires_at NULLS LAST LIMIT ?)",
                (excess,),
            )
            self._evictions.count(excess, self.path, max_sessions)  # at most once per purge_interval

    def _take_record(self, db: sqlite3.Connection, namespace: str, session_id: str, journal: Journal) -> None:
        """Move (regenerate) and update the record's metadata; raise, having written nothing, if it is gone."""
        meta = journal.meta
        columns = (meta.created, meta.touched, meta.deadline, meta.expires_at, meta.user)
        if journal.previous_id is not None:
            moved = db.execute(
                "UPDATE sessions SET id = ? WHERE namespace = ? AND id = ?",
                (session_id, namespace, journal.previous_id),
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
        if journal.clear_values:  # 1. a clear removes every value: the v: range of names
            db.execute(
                f"DELETE FROM session_fields WHERE {where} AND name >= ? AND name < ?",
                (*key, VALUE_PREFIX, _VALUE_RANGE_END),
            )
        # 2. deletes, 3. sets
        db.executemany(f"DELETE FROM session_fields WHERE {where} AND name = ?", [(*key, n) for n in journal.deletes])
        db.executemany(_UPSERT_FIELD, [(*key, name, text) for name, text in journal.sets.items()])
        counted = {}  # 4. increments, read and written in this transaction
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
