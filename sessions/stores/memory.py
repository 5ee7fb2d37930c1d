"""The default store: records in this process's memory, bounded by bytes.

Fast and needs no server, but sessions live only as long as the process and are
not shared between processes (use SQLite or Redis for that). Unlike Iris's
memory store and express-session's MemoryStore it does not grow without bound:

* It holds at most ``max_bytes`` of records (64 MiB by default), by the estimate
  of ``record_size`` kept as a running total, so a flood of new sessions costs
  memory up to the bound and no further. A bound by count would not do: one
  session may hold 100 bytes or 64 KiB.
* At the bound it evicts the least recently *used* record (loaded or saved), not
  the oldest created: a user who keeps clicking outlives any flood of new
  sessions, which then only push out each other and the idle ones. Evictions are
  logged at WARNING at most once a minute, with how many went since the last warning.
* Expired records are swept periodically (one pass every ``sweep_interval``
  seconds, triggered by writes, instead of one timer per session).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..errors import SessionGoneError, SessionTooLargeError
from ..memo import BoundedMemo
from ..record import Journal, Meta, Record, apply_journal
from ..throttled_log import ThrottledWarning
from .base import SessionStore

log = logging.getLogger("sessions.store.memory")

#: The default bound: about 80,000 idle logged-in sessions (about 830 bytes each by
#: ``record_size``) or 1,000 at the manager's 64 KiB cap; small next to a server's RAM.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: What a record costs beyond its ID and field texts: the ``Record``, its ``Meta``
#: and timestamps, its fields dict (with the table its first field allocates), the
#: key tuple and the ordered dict's entry.
#: Measured with tracemalloc on CPython 3.11 (64-bit); ``tests/test_memory_store.py``
#: checks the estimate against tracemalloc.
RECORD_OVERHEAD = 640
#: What a field costs beyond the UTF-8 length of its name and text: two ``str``
#: headers and a slot in the fields dict.
FIELD_OVERHEAD = 120
#: Evictions are logged at most this often (seconds): a flood evicts on every request.
EVICTION_WARNING_INTERVAL = 60.0

Key = tuple[str, str]  # (namespace, session ID)


def record_size(session_id: str, fields: dict[str, str]) -> int:
    """Estimate the bytes a stored record holds, from its ID and fields.

    UTF-8 lengths never undercount what CPython keeps for a string's characters
    (1, 2 or 4 bytes each), and the fixed overheads cover the objects around them.
    """
    texts = sum(FIELD_OVERHEAD + len(name.encode()) + len(text.encode()) for name, text in fields.items())
    return RECORD_OVERHEAD + len(session_id) + texts


class MemoryStore(SessionStore):
    """Session records, least recently used first, bounded by bytes (a ``BoundedMemo`` of ``record_size``) and swept."""

    name = "memory"

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        sweep_interval: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self._max_bytes = max_bytes
        self._sweep_interval = sweep_interval
        self._clock = clock
        self._next_sweep = clock() + sweep_interval
        self._evictions = ThrottledWarning(
            log,
            "memory store full (max_bytes=%d, %d sessions held): "
            "least recently used sessions evicted since the last warning: %d",
            EVICTION_WARNING_INTERVAL,
            clock,
        )
        #: Least recently used first; weighed by ``record_size``, so their running total stays within ``max_bytes``.
        self._records: BoundedMemo[Key, Record] = BoundedMemo(max_bytes, weigh=_weight, on_evict=self._evicted)

    def __len__(self) -> int:
        return len(self._records)

    @property
    def bytes_held(self) -> int:
        """The estimated bytes of every record held (``record_size`` summed), never above ``max_bytes``."""
        return self._records.weight

    async def load(self, namespace: str, session_id: str) -> Record | None:
        key = (namespace, session_id)
        record = self._records.get(key)
        if record is None:
            return None
        self._records.move_to_end(key)  # used: the last to be evicted
        return Record(dict(record.fields), record.meta.copy())

    async def save(self, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        """Apply the journal to a copy of the record, so a refused save changes nothing."""
        self._sweep_if_due()
        source = (namespace, journal.previous_id or session_id)
        stored = self._records.get(source)
        if stored is None and not journal.create:
            raise SessionGoneError(session_id)
        fields = {} if stored is None else dict(stored.fields)
        counted = apply_journal(fields, journal)
        size = record_size(session_id, fields)
        if size > self._max_bytes:
            raise SessionTooLargeError(size, self._max_bytes, what="session in the memory store")
        self._discard(source)
        self._discard((namespace, session_id))
        self._records[namespace, session_id] = Record(fields, journal.meta.copy())  # evicts what must go
        return counted

    async def destroy(self, namespace: str, session_id: str) -> bool:
        return self._discard((namespace, session_id))

    async def destroy_all(self, namespace: str) -> None:
        for key in [key for key in self._records if key[0] == namespace]:
            self._discard(key)

    async def destroy_user(self, namespace: str, user: str) -> list[str]:
        now = self._clock()
        doomed = [key for key, record in self._records.items() if key[0] == namespace and record.meta.user == user]
        live = [key[1] for key in doomed if not _expired(self._records[key].meta, now)]
        for key in doomed:
            self._discard(key)
        return live

    def sweep(self) -> int:
        """Drop every expired record now; return how many went."""
        now = self._clock()
        expired = [key for key, record in self._records.items() if _expired(record.meta, now)]
        for key in expired:
            self._discard(key)
        self._next_sweep = now + self._sweep_interval
        return len(expired)

    def _sweep_if_due(self) -> None:
        if self._clock() >= self._next_sweep:
            self.sweep()

    def _discard(self, key: Key) -> bool:
        """Remove a record; tell whether there was one."""
        if key not in self._records:
            return False
        del self._records[key]
        return True

    def _evicted(self, count: int) -> None:
        self._evictions.count(count, self._max_bytes, len(self._records))


def _weight(key: Key, record: Record) -> int:
    return record_size(key[1], record.fields)


def _expired(meta: Meta, now: float) -> bool:
    return meta.expires_at is not None and meta.expires_at <= now
