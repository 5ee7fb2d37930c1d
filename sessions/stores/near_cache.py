"""The Redis store's near-cache: records this process loaded, kept coherent by Redis itself.

``NearCachedStore(RedisStore(url))`` is a store around the Redis store, with the
same interface: a read of a session this process has seen costs no round trip
(read-redis, bench/instructions.py: 1,517k instructions per request without it,
1,089k with it, ×0.58 → ×0.81 of bare Tornado), and every write and destroy
passes through to Redis. The app wraps its Redis store in it on one server; a
cluster store cannot be wrapped (tracking is per node, and the cache would need a
subscription on every master, following failovers and slot migrations). Redis tells us
when to forget one, through *client-side tracking* in broadcast mode: one
dedicated connection runs ``CLIENT TRACKING ON REDIRECT <its own id> BCAST
PREFIX <the store's prefix>`` and then ``SUBSCRIBE __redis__:invalidate``, so
Redis sends it, as pub/sub messages (RESP2), the name of every key under the
prefix that any client writes, deletes, renames or expires, this process's own
pooled connections included. Broadcast mode needs no per-key bookkeeping on the
server (unlike default tracking, which remembers which keys each client read).

What the cache guarantees, and how:

* **Nothing is served while not subscribed, nor over a silent link.** Every
  entry is dropped when the subscription connection fails, goes silent (a
  ``PING`` unanswered for ``HEARTBEAT`` seconds) or is set up again; loads go to
  Redis meanwhile, and a background task reconnects. However late that task
  runs, ``get`` serves nothing once Redis has not been heard from for
  ``SILENCE_LIMIT`` seconds: the bound on stale reads when the link dies silently.
* **Every record has a maximum age** (``max_age``, from when it was read from
  Redis). Some changes reach no client as an invalidation (``SWAPDB``, a
  replica promoted without this process reconnecting, a module writing past
  tracking): past its age a record is read from Redis again, so each of those
  is seen within ``max_age``.
* **A reply overtaken by an invalidation is not cached.** A load's ``HGETALL``
  reply and an invalidation of the same key come over different sockets, in
  either order. Each invalidation bumps a counter (``_ticks``) and, when a load
  of that key is in flight, notes the tick; the load caches its reply only if no
  invalidation of its key (and no full clear) came after it started.
* **This process's own writes are never read stale here.** ``NearCachedStore``
  forgets the keys of each save or destroy before and after it, even a failed one
  (it may have run); the invalidation from Redis follows, and is harmless.
* **A record past its expiry is not served.** Redis drops an expired key lazily
  and so may announce it late; ``get`` checks ``meta.expires_at`` with the store's clock.
* **A flush, or a tracking table overflow** (an invalidation with no key list) clears everything.
* **Handed-out records are copies:** a session mutates the record it is given.

A write by another process is seen here once its invalidation arrives: the
staleness window docs/stores.md states as measured (``tests/test_redis_near_cache.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from ..memo import BoundedMemo
from ..record import Journal, Record
from .base import SessionStore
from .redis import RedisStore

log = logging.getLogger("sessions.store.redis")

#: Seconds without a message after which the subscription is PINGed, and then without an answer
#: after which it counts as lost (the cache is dropped and the link set up again). Costs two PINGs
#: a second on an idle process.
HEARTBEAT = 0.5
#: Seconds without a message from Redis after which ``get`` serves nothing, whether or not the
#: listener has noticed yet: the longest a silent network failure can leave stale entries served.
#: A healthy link is heard from at least every ``HEARTBEAT`` seconds plus a round trip.
SILENCE_LIMIT = 1.5
#: Seconds between attempts to subscribe again after a failure (doubling up to the maximum).
RECONNECT_DELAYS = (0.05, 2.0)
#: Where Redis publishes invalidations for a RESP2 connection that redirects them (to itself, here).
INVALIDATION_CHANNEL = "__redis__:invalidate"
#: Records the near-cache holds at most (the least recently used go first): about 1 KiB each for a
#: logged-in session, so some 10 MiB per process.
DEFAULT_SIZE = 10_000
#: Seconds a record stays in the near-cache at most before it is read from Redis again: the bound on
#: what no invalidation announces (``SWAPDB``...). A visitor who clicks every few seconds still reads
#: from the cache most of the time; one Redis read per session every 5 s is little.
DEFAULT_MAX_AGE = 5.0


def _copy(record: Record) -> Record:
    return Record(dict(record.fields), record.meta.copy())


class NearCache:
    """Records by Redis key, least recently used first, at most ``max_entries``, invalidated by Redis."""

    def __init__(
        self,
        make_connection: Callable[[], AbstractConnection],
        prefix: str,
        max_entries: int,
        clock: Callable[[], float],
        max_age: float,
    ) -> None:
        """``make_connection`` gives a new, unconnected RESP2 connection to the store's Redis (its URL, TLS, AUTH).

        ``clock`` is the store's (session expiry); ``max_age`` is in seconds of ``time.monotonic``.
        """
        if max_entries < 1:
            raise ValueError("the near-cache's size must be at least 1")
        if not max_age > 0:
            raise ValueError("the near-cache's max_age must be a number of seconds above 0")
        self._make_connection = make_connection
        self._prefix = prefix
        self._clock = clock
        self._max_age = max_age
        self._entries: BoundedMemo[str, tuple[Record, float]] = BoundedMemo(max_entries)  # key -> (record, when read)
        self._heard_at = 0.0  # time.monotonic() of the last message from Redis on the subscription
        self._subscribed = False
        self._listener: asyncio.Task[None] | None = None
        self._closing = False
        self._ticks = 0  # bumped by every invalidation and clear
        self._cleared_at = 0  # the tick of the last full clear
        self._in_flight: dict[str, int] = {}  # key -> loads of it awaiting Redis's reply
        self._invalidated_at: dict[str, int] = {}  # key in flight -> tick of its last invalidation

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def subscribed(self) -> bool:
        """True while Redis's invalidations reach this process, the only time entries are served."""
        return self._subscribed

    def get(self, key: str) -> Record | None:
        """A copy of the record cached under ``key``, or ``None`` (also while Redis is not heard from)."""
        if self._listener is None and not self._closing:
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        entry = self._entries.get(key)
        if entry is None:
            return None
        record, read_at = entry
        now = time.monotonic()
        if now - self._heard_at > SILENCE_LIMIT:
            return None  # the listener drops everything once it notices; until then, nothing is served
        if now - read_at > self._max_age or self._expired(record):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return _copy(record)

    def _expired(self, record: Record) -> bool:
        expires_at = record.meta.expires_at
        return expires_at is not None and expires_at <= self._clock()

    def begin_load(self, key: str) -> int:
        """Note a load of ``key`` going to Redis; the ticket it returns goes to ``offer`` and ``end_load``."""
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        return self._ticks

    def offer(self, key: str, ticket: int, record: Record) -> None:
        """Cache a copy of what a load begun at ``ticket`` found, unless Redis invalidated it meanwhile."""
        if not self._subscribed or self._cleared_at > ticket or self._invalidated_at.get(key, -1) > ticket:
            return
        if self._expired(record):
            return
        self._entries[key] = (_copy(record), time.monotonic())
        self._entries.move_to_end(key)

    def end_load(self, key: str) -> None:
        left = self._in_flight[key] - 1
        if left:
            self._in_flight[key] = left
        else:
            del self._in_flight[key]
            self._invalidated_at.pop(key, None)

    def invalidate(self, key: str) -> None:
        """Forget ``key``, and keep any load of it in flight from caching what it read."""
        self._ticks += 1
        self._entries.pop(key, None)
        if key in self._in_flight:
            self._invalidated_at[key] = self._ticks

    def clear(self) -> None:
        """Forget everything, and keep every load in flight from caching what it read."""
        self._ticks += 1
        self._cleared_at = self._ticks
        self._entries.clear()

    async def close(self) -> None:
        self._closing = True  # a cancel can be lost in redis-py's read timeout: the loops check this too
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        self._stop_serving()

    # -- the subscription ---------------------------------------------------------

    def _stop_serving(self) -> None:
        self._subscribed = False
        self.clear()

    async def _listen(self) -> None:
        """Keep the subscription up for as long as the store lives, reconnecting after any failure."""
        delay, failed = RECONNECT_DELAYS[0], False
        while not self._closing:
            connection = self._make_connection()
            try:
                await self._subscribe(connection)
                self._heard_at = time.monotonic()
                self.clear()  # what loads read before tracking began may be stale already
                self._subscribed = True
                if failed:
                    log.warning("near-cache: Redis invalidations reach this process again; cache in use")
                delay, failed = RECONNECT_DELAYS[0], False
                await self._receive(connection)
            except (RedisError, OSError) as exc:
                if not failed:
                    log.warning("near-cache off until Redis invalidations reach this process again: %s", exc)
                failed = True
            finally:
                self._stop_serving()
                await connection.disconnect(nowait=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_DELAYS[1])

    async def _subscribe(self, connection: AbstractConnection) -> None:
        """Turn tracking on for the prefix, redirected to this connection itself, and subscribe it."""
        await connection.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        await connection.send_command("CLIENT", "ID")
        client_id = await connection.read_response()
        # A RESP2 connection in subscribe mode runs no other command: tracking is turned on first.
        # Invalidations Redis sends before SUBSCRIBE is confirmed are lost, hence the clear() after it.
        await connection.send_command(
            "CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", "PREFIX", self._prefix
        )
        await connection.read_response()
        await connection.send_command("SUBSCRIBE", INVALIDATION_CHANNEL)
        reply = await connection.read_response()
        if not (isinstance(reply, list) and reply[:2] == ["subscribe", INVALIDATION_CHANNEL]):
            raise RedisError(f"unexpected answer to SUBSCRIBE: {reply!r}")

    async def _receive(self, connection: AbstractConnection) -> None:
        """Apply invalidations as they come; PING when quiet, and give up when the PING goes unanswered."""
        pinged = False
        while not self._closing:
            message = await connection.read_response(timeout=HEARTBEAT)
            if message is None:  # HEARTBEAT seconds of silence
                if pinged:
                    raise RedisError(f"no answer to PING in {HEARTBEAT} s")
                await connection.send_command("PING")
                pinged = True
                continue
            self._heard_at = time.monotonic()
            pinged = False
            if message[0] == "message" and message[1] == INVALIDATION_CHANNEL:
                keys = message[2]
                if keys is None:  # FLUSHALL / FLUSHDB, or the tracking table overflowed
                    self.clear()
                else:
                    for key in keys:
                        self.invalidate(key)


class NearCachedStore(SessionStore):
    """A ``RedisStore`` whose loads are answered from a ``NearCache`` when they can be; every write goes to Redis."""

    def __init__(self, store: RedisStore, *, size: int = DEFAULT_SIZE, max_age: float = DEFAULT_MAX_AGE) -> None:
        """Keep up to ``size`` records ``store`` loaded, each for ``max_age`` seconds at most."""
        if store.cluster:
            raise ValueError("a cluster store cannot be near-cached: Redis's client tracking is per node")
        self.store = store
        self.name = store.name
        self.near_cache = NearCache(store.tracking_connection, store.prefix, size, store.clock, max_age)

    async def load(self, namespace: str, session_id: str) -> Record | None:
        key = self.store.key(namespace, session_id)
        cache = self.near_cache
        record = cache.get(key)
        if record is not None:
            return record
        ticket = cache.begin_load(key)
        try:
            record = await self.store.load(namespace, session_id)
            if record is not None:
                cache.offer(key, ticket, record)
            return record
        finally:
            cache.end_load(key)

    async def save(self, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        key = self.store.key(namespace, session_id)
        source = key if journal.previous_id is None else self.store.key(namespace, journal.previous_id)
        with self._invalidating(key, source):
            return await self.store.save(namespace, session_id, journal)

    async def destroy(self, namespace: str, session_id: str) -> bool:
        with self._invalidating(self.store.key(namespace, session_id)):
            return await self.store.destroy(namespace, session_id)

    async def destroy_all(self, namespace: str) -> None:
        try:
            await self.store.destroy_all(namespace)
        finally:
            self.near_cache.clear()

    async def destroy_user(self, namespace: str, user: str) -> list[str]:
        destroyed = await self.store.destroy_user(namespace, user)
        # Those deleted but not returned had expired: the cache serves no expired record.
        for session_id in destroyed:
            self.near_cache.invalidate(self.store.key(namespace, session_id))
        return destroyed

    def successor_id(self, session_id: str, fresh_id: str) -> str:
        return self.store.successor_id(session_id, fresh_id)

    async def close(self) -> None:
        await self.near_cache.close()
        await self.store.close()

    @contextmanager
    def _invalidating(self, *keys: str) -> Iterator[None]:
        """Forget ``keys`` before and after a write to them, even a failed one (it may have run).

        Before: no load in flight caches what it read. After: no read in this
        process sees the old record, even before Redis's invalidation arrives.
        """
        self._forget(keys)
        try:
            yield
        finally:
            self._forget(keys)

    def _forget(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self.near_cache.invalidate(key)
