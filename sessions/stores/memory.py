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
* Expired records are swept periodically (every ``sweep_interval`` seconds,
  triggered by writes, instead of one timer per session), from buckets by expiry
  time: a sweep visits only records whose time has come, in slices of at most
  ``SWEEP_SLICE`` seconds, the next write going on where a slice stopped, so a
  million sessions expiring at once never hold the event loop for long.
* Records are indexed by user, so "log out everywhere" visits only the user's own.
* A save applies only the journal's changes to the stored fields and adjusts the
  record's size by their difference: a one-key write to a 1,000-field session
  costs what it costs to a 10-field one.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Callable

from ..errors import SessionGoneError, SessionTooLargeError
from ..memo import BoundedMemo
from ..record import VALUE_PREFIX, Journal, Meta, Record, increment_text
from ..throttled_log import ThrottledWarning
from .base import SessionStore

log = logging.getLogger("sessions.store.memory")

#: The default bound: about 80,000 idle logged-in sessions (about 830 bytes each by
#: ``record_size``) or 1,000 at the manager's 64 KiB cap; small next to a server's RAM.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: What a record costs beyond its ID and field texts: the ``Record``, its ``Meta``
#: and timestamps, its fields dict (with the table its first field allocates), the
#: key tuple, the bounded memo's entry and weight, and its entry in the expiry index.
#: Measured with tracemalloc on CPython 3.11 (64-bit); ``tests/test_memory_store.py``
#: checks the estimate against tracemalloc.
RECORD_OVERHEAD = 640
#: What a field costs beyond the UTF-8 length of its name and text: two ``str``
#: headers and a slot in the fields dict.
FIELD_OVERHEAD = 120
#: Evictions are logged at most this often (seconds): a flood evicts on every request.
EVICTION_WARNING_INTERVAL = 60.0
#: Records are bucketed by expiry time in buckets this wide (seconds): a sweep takes whole
#: buckets whose end has passed, and looks at each record only in the bucket of the present.
EXPIRY_BUCKET = 10.0
#: The longest a sweep triggered by a write runs (seconds) before leaving the rest to the next write:
#: 2 ms drops about 4,000 records.
SWEEP_SLICE = 0.002

Key = tuple[str, str]  # (namespace, session ID)


def record_size(session_id: str, fields: dict[str, str]) -> int:
    """Estimate the bytes a stored record holds, from its ID and fields.

    UTF-8 lengths never undercount what CPython keeps for a string's characters
    (1, 2 or 4 bytes each), and the fixed overheads cover the objects around them.
    """
    return RECORD_OVERHEAD + len(session_id) + sum(_field_size(name, text) for name, text in fields.items())


def _field_size(name: str, text: str) -> int:
    return FIELD_OVERHEAD + len(name.encode()) + len(text.encode())


class MemoryStore(SessionStore):
    """Session records in a ``BoundedMemo`` weighed in bytes, least recently used first, and swept.

    Each record weighs its ``record_size``, kept by the memo and adjusted by each save;
    the memo tells the user and expiry indexes of each record it evicts.
    """

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
        self._records: BoundedMemo[Key, Record] = BoundedMemo(max_bytes, on_evict=self._evicted)
        self._by_user: dict[tuple[str, str], set[str]] = {}  # (namespace, user) -> session IDs
        self._expiring: dict[int, set[Key]] = {}  # bucket number -> keys expiring in that bucket
        self._buckets: list[int] = []  # a heap of the bucket numbers in _expiring
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
        """Work out the journal's changes and the size they make first, so a refused save changes nothing."""
        self._sweep_if_due()
        source = (namespace, journal.previous_id or session_id)
        stored = self._records.get(source)
        if stored is None and not journal.create:
            raise SessionGoneError(session_id)
        fields = {} if stored is None else stored.fields
        changes, counted = _changes(fields, journal)
        size = RECORD_OVERHEAD if stored is None else self._records.weight_of(source) - len(source[1])
        size += len(session_id) + _size_change(fields, changes)
        if size > self._records.bound:
            raise SessionTooLargeError(size, self._records.bound, what="session in the memory store")
        key = (namespace, session_id)
        self._discard(source)
        if key != source:  # a regenerate: whatever held the new ID goes too
            self._discard(key)
        for name, text in changes.items():
            if text is None:
                fields.pop(name, None)
            else:
                fields[name] = text
        self._insert(key, Record(fields, journal.meta.copy()), size)
        return counted

    async def destroy(self, namespace: str, session_id: str) -> bool:
        return self._discard((namespace, session_id))

    async def destroy_all(self, namespace: str) -> None:
        for key in [key for key in self._records if key[0] == namespace]:
            self._discard(key)

    async def destroy_user(self, namespace: str, user: str) -> list[str]:
        now = self._clock()
        doomed = [(namespace, session_id) for session_id in self._by_user.get((namespace, user), ())]
        live = [key[1] for key in doomed if not _expired(self._records[key].meta, now)]
        for key in doomed:
            self._discard(key)
        return live

    def sweep(self) -> int:
        """Drop every expired record now, however long it takes; return how many went."""
        return self._sweep(deadline=math.inf)

    def _sweep_if_due(self) -> None:
        if self._clock() >= self._next_sweep:
            self._sweep(deadline=time.perf_counter() + SWEEP_SLICE)

    def _sweep(self, deadline: float) -> int:
        """Drop expired records, bucket by bucket in expiry order, until done or past ``deadline`` (perf_counter).

        When the deadline stops it, the next sweep stays due, so the next write goes on from there.
        """
        now = self._clock()
        swept = 0
        while self._buckets and self._buckets[0] * EXPIRY_BUCKET <= now:
            bucket = self._buckets[0]
            keys = self._expiring[bucket]
            if (bucket + 1) * EXPIRY_BUCKET <= now:  # all of it expired: no record to look at
                while keys:
                    self._discard(keys.pop())
                    swept += 1
                    if not swept % 64 and time.perf_counter() >= deadline:
                        return swept
                del self._expiring[heapq.heappop(self._buckets)]
                continue
            for key in [key for key in keys if _expired(self._records[key].meta, now)]:  # the present's bucket
                self._discard(key)
                swept += 1
            break
        self._next_sweep = now + self._sweep_interval
        return swept

    def _insert(self, key: Key, record: Record, size: int) -> None:
        """Enter a record (its key not held) in the indexes, then hold it, evicting the least recently used to fit."""
        meta = record.meta
        if meta.user is not None:
            self._by_user.setdefault((key[0], meta.user), set()).add(key[1])
        if meta.expires_at is not None:
            bucket = math.floor(meta.expires_at / EXPIRY_BUCKET)
            keys = self._expiring.get(bucket)
            if keys is None:
                keys = self._expiring[bucket] = set()
                heapq.heappush(self._buckets, bucket)
            keys.add(key)
        self._records.put(key, record, size)

    def _discard(self, key: Key) -> bool:
        """Remove a record and its index entries; tell whether there was one."""
        record = self._records.pop(key, None)
        if record is None:
            return False
        self._unindex(key, record)
        return True

    def _evicted(self, key: Key, record: Record) -> None:
        self._unindex(key, record)
        self._evictions.count(1, self._records.bound, len(self._records))

    def _unindex(self, key: Key, record: Record) -> None:
        """Remove a record no longer held from the user and expiry indexes.

        An emptied expiry bucket stays until its time comes, so that each bucket is in the heap once.
        """
        meta = record.meta
        if meta.user is not None:
            user_key = (key[0], meta.user)
            ids = self._by_user[user_key]
            ids.discard(key[1])
            if not ids:
                del self._by_user[user_key]
        if meta.expires_at is not None:
            self._expiring[math.floor(meta.expires_at / EXPIRY_BUCKET)].discard(key)


def _expired(meta: Meta, now: float) -> bool:
    return meta.expires_at is not None and meta.expires_at <= now


def _changes(fields: dict[str, str], journal: Journal) -> tuple[dict[str, str | None], dict[str, str]]:
    """What ``apply_journal`` would do to ``fields``, as each changed field's new text (``None``: deleted).

    Returns that and the incremented fields' new text, leaving ``fields`` as it is. Only a
    clear looks at every field; the rest costs the journal's own size.
    """
    changes: dict[str, str | None] = {}
    if journal.clear_values:  # 1. a clear removes every value (never a flash)
        changes.update((name, None) for name in fields if name.startswith(VALUE_PREFIX))
    changes.update((name, None) for name in journal.deletes)  # 2. deletes
    changes.update(journal.sets)  # 3. sets
    counted = {}
    for name, delta in journal.increments.items():  # 4. increments, on the text the steps before left
        current = changes[name] if name in changes else fields.get(name)
        counted[name] = changes[name] = increment_text(current, delta)
    return changes, counted


def _size_change(fields: dict[str, str], changes: dict[str, str | None]) -> int:
    """How many bytes ``record_size`` gains (or loses) when ``changes`` apply to ``fields``."""
    change = 0
    for name, text in changes.items():
        old = fields.get(name)
        if old is not None:
            change -= _field_size(name, old)
        if text is not None:
            change += _field_size(name, text)
    return change
