"""The default store: records in a dict in this process.

Fast and needs no server, but sessions live only as long as the process and are
not shared between processes (use SQLite or Redis for that). Unlike Iris's
memory store and express-session's MemoryStore it does not grow without bound:
expired records are swept periodically (one pass every ``sweep_interval``
seconds, triggered by writes, instead of one timer per session) and the oldest
records are evicted beyond ``max_sessions``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..errors import SessionGoneError
from ..record import Journal, Meta, Record, apply_journal
from .base import SessionStore

log = logging.getLogger("sessions.store.memory")


class MemoryStore(SessionStore):
    """Session records in a dict, bounded and swept."""

    name = "memory"

    def __init__(
        self,
        *,
        max_sessions: int = 100_000,
        sweep_interval: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        self._records: dict[tuple[str, str], Record] = {}  # by (namespace, session ID)
        self._max_sessions = max_sessions
        self._sweep_interval = sweep_interval
        self._clock = clock
        self._next_sweep = clock() + sweep_interval

    def __len__(self) -> int:
        return len(self._records)

    async def load(self, namespace: str, session_id: str) -> Record | None:
        record = self._records.get((namespace, session_id))
        if record is None:
            return None
        return Record(dict(record.fields), record.meta.copy())

    async def save(self, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        self._sweep_if_due()
        record = self._take_record(namespace, session_id, journal)
        counted = apply_journal(record.fields, journal)
        record.meta = journal.meta.copy()
        return counted

    async def destroy(self, namespace: str, session_id: str) -> bool:
        return self._records.pop((namespace, session_id), None) is not None

    async def destroy_all(self, namespace: str) -> None:
        for key in [key for key in self._records if key[0] == namespace]:
            del self._records[key]

    async def destroy_user(self, namespace: str, user: str) -> list[str]:
        now = self._clock()
        doomed = [key for key, record in self._records.items() if key[0] == namespace and record.meta.user == user]
        live = [key[1] for key in doomed if not _expired(self._records[key].meta, now)]
        for key in doomed:
            del self._records[key]
        return live

    def sweep(self) -> int:
        """Drop every expired record now; return how many went."""
        now = self._clock()
        expired = [key for key, record in self._records.items() if _expired(record.meta, now)]
        for key in expired:
            del self._records[key]
        self._next_sweep = now + self._sweep_interval
        return len(expired)

    def _sweep_if_due(self) -> None:
        if self._clock() >= self._next_sweep:
            self.sweep()

    def _take_record(self, namespace: str, session_id: str, journal: Journal) -> Record:
        """Find (or, for a new session, make) the record a journal applies to."""
        source = (namespace, journal.previous_id or session_id)
        record = self._records.pop(source, None) if journal.previous_id else self._records.get(source)
        if record is None:
            if not journal.create:
                raise SessionGoneError(session_id)
            record = Record({}, journal.meta.copy())
            self._make_room()
        self._records[namespace, session_id] = record
        return record

    def _make_room(self) -> None:
        if len(self._records) < self._max_sessions:
            return
        self.sweep()
        while len(self._records) >= self._max_sessions:
            oldest = next(iter(self._records))
            del self._records[oldest]
            log.warning("memory store full (%d sessions): evicted the oldest", self._max_sessions)


def _expired(meta: Meta, now: float) -> bool:
    return meta.expires_at is not None and meta.expires_at <= now
