"""Ending cookie-only sessions early: a "valid after" time per user, kept on the server.

A cookie-only session keeps nothing on the server, so ``destroy()`` can only
delete the browser's cookie: a copy taken before keeps opening (and refreshing
itself) until the absolute timeout. The one thing a server can keep cheaply is
a time per user: every cookie of that user last written before it is refused.
That is what "log out everywhere" needs, and it stays small (one row per user
who ever asked, never one per session).

Why comparing with the record's ``touched`` time is exact: a session's cookie
is re-issued only by a save, and every save sets ``touched`` to its own time.
So a cookie written before the revocation carries an earlier time, and the
only way to get a cookie written after it is to open one that is still valid,
or to log in afresh. A session that was anonymous before the revocation and
logs in after it carries the login's time, so it opens.

A namespace-wide time (``user=None``) ends every session of a manager,
logged in or not: ``destroy_all()``.

``SQLiteRevocations`` keeps the table in a SQLite file, so every process of
one machine that opens the same file sees a revocation at once. Processes on
several machines need a table they all reach: implement ``Revocations`` over
the database they share (two small coroutines).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Protocol

#: The key of a namespace-wide revocation; a user's key starts with ``u:``, so none is spelled like it.
_EVERYONE = "*"


class Revocations(Protocol):
    """Where the "valid after" times live: coroutines, so a table over the network need not block the loop."""

    async def revoke(self, namespace: str, user: str | None) -> float:
        """Refuse every cookie of ``user`` (``None``: of everyone) in ``namespace`` written until now; return now."""
        ...

    async def valid_after(self, namespace: str, user: str | None) -> float | None:
        """The latest revocation that covers ``user`` (theirs or the namespace's), or ``None``."""
        ...


class SQLiteRevocations:
    """``Revocations`` in a SQLite file (``":memory:"``: this process only).

    Its coroutines never wait: each is one indexed statement on a small table
    in the page cache, far shorter than handing it to a thread would cost. A revocation
    only ever moves a time forward, so two processes revoking at once keep the
    later time.
    """

    def __init__(self, path: str = ":memory:", *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS revoked_sessions ("
            " namespace TEXT NOT NULL, who TEXT NOT NULL, valid_after REAL NOT NULL,"
            " PRIMARY KEY (namespace, who)) WITHOUT ROWID"
        )

    async def revoke(self, namespace: str, user: str | None) -> float:
        now = self._clock()
        self._db.execute(
            "INSERT INTO revoked_sessions VALUES (?, ?, ?) ON CONFLICT (namespace, who)"
            " DO UPDATE SET valid_after = max(valid_after, excluded.valid_after)",
            (namespace, _who(user), now),
        )
        return now

    async def valid_after(self, namespace: str, user: str | None) -> float | None:
        row = self._db.execute(
            "SELECT max(valid_after) FROM revoked_sessions WHERE namespace = ? AND who IN (?, ?)",
            (namespace, _EVERYONE, _who(user)),
        ).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        self._db.close()


def _who(user: str | None) -> str:
    """A user's key in the table: ``u:`` and the name, so that no name can be ``_EVERYONE``."""
    return _EVERYONE if user is None else "u:" + user
