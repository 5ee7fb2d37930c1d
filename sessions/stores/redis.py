"""The distributed store: one Redis hash per session (``redis.asyncio`` from redis-py).

Every app process pointed at the same Redis sees the same sessions. A session
is the hash ``prefix + namespace + ":" + ID``: its ``v:``/``f:`` fields as the hash's fields, its
metadata as JSON in the ``__meta__`` field (a name no value or flash field can
have), and its expiry as the key's TTL, so Redis forgets it on its own.

Requests share a pool of at most ``max_connections`` connections per store;
when all are busy a request waits up to ``pool_timeout`` seconds for one, and
past that the store counts as unavailable (redis-py's default pool raises at
once instead, which turned a burst of traffic into a burst of 503s).

Wrapped in a ``NearCachedStore`` (``near_cache.py``), as the app runs it on one
server, a session this process loaded before is read with no round trip at all.

One round trip each way: a load is one ``HGETALL``; a save is one Lua script
(``EVALSHA``) that Redis runs atomically. The script checks the record still
exists (or moves it from the previous ID on regenerate) and otherwise writes
nothing, so a request that ends after a logout cannot bring the session back;
then it applies the journal in ``apply_journal``'s order, computing increments
in Redis with ``increment_text``'s counting rule (exactly, at any size, as Python
does: on decimal text, not on Lua's doubles), and sets the TTL.

The TTL is sent as "milliseconds from now" computed with the store's clock, not
as an absolute time: the app's clock and the Redis host's clock never need to
agree, and a test clock drives expiry the same way as the real one.

A key under our prefix that another program wrote (a string, a list, a hash
without our metadata) is no session: a load logs it once at WARNING and finds
nothing, a save creating a session there replaces it, any other save finds the
session gone, and ``destroy_user`` passes it by. Redis's WRONGTYPE is therefore
never an outage.

"Log out everywhere" (``destroy_user``) never holds Redis for long, whatever the
user's number of sessions: a script sets the user's set of sessions aside in one
``RENAME``, then scripts of ``DESTROY_USER_BATCH`` sessions each delete them. From
the ``RENAME`` on, a save of a session set aside (a request, a regenerate) finds
it gone, and a login saved after it goes into a fresh set and survives.

On a Redis Cluster (``cluster=True``) a script runs only on keys of one hash
slot, so a session's key carries the ID's first ``SLOT_TAG_LENGTH`` characters as
its hash tag (``prefix + namespace + ":{abc}" + rest of the ID``) and
``successor_id`` keeps them on regenerate: the move from the old ID stays one
script. The user's set has a slot of its own, so on a cluster it is indexed by a
script of its own before the save, and ``destroy_user`` deletes the user's
sessions one script each (docs/stores.md, "The key layout on a cluster", says
what each guarantee rests on). On one server the keys stay as they were.

IDs are checked before they become keys, and no glob pattern is ever built from
one; ``destroy_all`` scans with the prefix and namespace only (glob characters in
them escaped). Any Redis failure (refused, timed out, out of memory) surfaces as
``StoreUnavailableError`` and is not retried: a save that timed out may have
run, and running it twice would count its increments twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import redis.asyncio
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisClusterException, RedisError, ResponseError
from redis.maint_notifications import MaintNotificationsConfig

from ..errors import SessionGoneError, StoreUnavailableError
from ..ids import fingerprint, is_valid_session_id
from ..memo import BoundedMemo
from ..record import VALUE_PREFIX, Journal, Meta, Record, well_formed
from . import redis_scripts
from .base import SessionStore

T = TypeVar("T")
log = logging.getLogger("sessions.store.redis")

#: The hash field holding the metadata; value and flash fields all start with "v:" or "f:".
#: The Lua scripts (redis_scripts.py) spell it out too.
META_FIELD = "__meta__"
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


#: Connections one store (so one app process) opens to Redis at most; more requests than that
#: wait their turn. Measured on 2 cores over loopback: 1,000 concurrent requests take as long
#: with 10 connections as with 100 (2.1-2.8 s; the app process is the bottleneck) and twice as
#: long with 1,000. 50 leaves room for a Redis across a network, where a connection waits a round trip.
DEFAULT_MAX_CONNECTIONS = 50
#: Seconds a request waits for a free connection before Redis counts as unavailable (503).
DEFAULT_POOL_TIMEOUT = 10.0


#: Sessions one script of ``destroy_user`` deletes at most, so that no script holds Redis for long. Measured
#: with SLOWLOG (Redis 7.0, 2 vCPU under a load average of 12, a user with 10,000 sessions, three runs each):
#: a script of 100 takes 0.9-1.4 ms (median), of 250 2.0-7.8 ms, of 500 16-22 ms; 100 keeps a tenfold margin
#: under 20 ms, and the whole logout takes 101 round trips (0.55-1.1 s on that machine; one script took 93 ms).
DESTROY_USER_BATCH = 100


#: On a cluster, how many leading characters of a session ID pick its hash slot (the key's ``{hash tag}``);
#: ``successor_id`` keeps them, so regenerate's old and new key share a slot. 3 characters are 18 bits:
#: 262,144 tags spread sessions over all 16,384 slots, and a new ID keeps 240 fresh random bits.
SLOT_TAG_LENGTH = 3


#: Foreign keys whose warning we remember having logged (the oldest forgotten first):
#: a bound on memory, not on how often a hostile client may send a cookie.
FOREIGN_KEYS_REMEMBERED = 1024


def _record(fields: dict[str, str]) -> Record | None:
    """The record a hash holds, or ``None`` if it is not one this package wrote."""
    meta = fields.pop(META_FIELD, None)
    if meta is None:
        return None
    try:
        record = Record(fields, Meta(**json.loads(meta)))
    except (ValueError, TypeError):
        return None
    return record if well_formed(record) else None


#: The URL schemes redis-py connects with (``unix://`` for a socket path; a cluster needs one of the other two).
URL_SCHEMES = ("redis", "rediss", "unix")


def _check_url(url: object) -> None:
    """Refuse what is no Redis URL in words that say what is wanted, before redis-py fails on it obscurely.

    The message never repeats the URL: it may hold a password.
    """
    example = "like redis://HOST:PORT/DB"
    if not isinstance(url, str):
        raise TypeError(f"RedisStore wants the URL of a Redis as a str, {example}, not {type(url).__name__}")
    scheme = urlsplit(url).scheme
    if scheme not in URL_SCHEMES:
        got = f"one whose scheme is '{scheme}'" if scheme else "one without a scheme"
        raise ValueError(f"RedisStore wants a URL starting with redis://, rediss:// or unix://, {example}; got {got}")


class PoolExhaustedError(RedisConnectionError):
    """No connection of the pool came free in time: the store is saturated, which we count as unavailable."""


class _WaitingPool(redis.asyncio.BlockingConnectionPool):
    """redis-py's waiting pool, the one limit on a store's connections, and how the store runs a command on it.

    Plain ``ConnectionPool`` raises "Too many connections" as soon as its cap is
    reached, so a burst of requests became a burst of 503s; this one queues them,
    and words a wait that runs out for the log.
    """

    async def execute(self, *args: str | int) -> object:
        """Send one command on a connection of the pool and return Redis's reply (``ResponseError`` if refused).

        ``client.execute_command`` does the same through redis-py's retry wrapper,
        command hooks and reply callbacks, none of which the store uses (it retries
        nothing: a save that timed out may have run). Borrowing from the pool keeps
        what matters: ``ensure_connection`` checks a connection Redis closed while it
        sat idle (a restart, ``CLIENT KILL``, Redis's idle timeout) and connects it
        again, the connection's health check applies, and a connection whose command
        failed is closed before it goes back, so the next borrower connects afresh.
        """
        connection = await self._borrow()
        try:
            await connection.send_command(*args)
            return await connection.read_response()
        except ResponseError:
            raise  # Redis answered in full: the connection is in step and stays open
        except BaseException:
            await connection.disconnect(nowait=True)  # a reply may be left unread, or the socket dead
            raise
        finally:
            await self.release(connection)

    async def _borrow(self) -> AbstractConnection:
        """A connected connection: one free now at once, else through the pool's wait (``get_connection``).

        The pool's own ``get_connection`` takes its condition, a timer, its lock and
        its metrics bookkeeping on every borrow, even when a connection is free: per
        command 353k instructions against 262k this way (callgrind, 2,000 ``PING``s;
        202k on a connection held throughout), and write-redis, a load and a save per
        request, 2,180k against 2,053k (bench/instructions.py). A free connection is
        taken synchronously (nothing else runs between the check and the take), then
        checked by the pool's own ``ensure_connection``. What is given up: redis-py's
        OpenTelemetry count of idle and used connections sees these borrows only
        when they are released.
        """
        if not self.can_get_connection():
            return await self.get_connection()
        connection: AbstractConnection = self.get_available_connection()  # type: ignore[no-untyped-call]  # unannotated
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def get_connection(self, *args: object, **kwargs: object) -> AbstractConnection:
        try:
            # redis-py annotates the base pool's get_connection, not this subclass's override of it.
            connection: AbstractConnection = await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
            return connection
        except RedisConnectionError as exc:
            if not isinstance(exc.__cause__, asyncio.TimeoutError):
                raise  # refused, unreachable: said well enough already
            raise PoolExhaustedError(
                f"all {self.max_connections} connections of the pool stayed busy for {self.timeout} s"
            ) from exc


class RedisStore(SessionStore):
    """Session records as Redis hashes, shared by every process using the same Redis."""

    name = "redis"

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "session:",
        clock: Callable[[], float] = time.time,
        timeout: float = 2.0,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT,
        cluster: bool = False,
    ) -> None:
        """``cluster``: ``url`` names any node of a Redis Cluster (see the module's docstring for the key layout)."""
        _check_url(url)
        self.prefix = prefix
        self.cluster = cluster
        #: The clock of session expiry (seconds since the epoch); a test gives a fake one.
        self.clock = clock
        self._warned: BoundedMemo[str, None] = BoundedMemo(FOREIGN_KEYS_REMEMBERED)
        # The cluster client has no waiting pool (a command past a node's max_connections fails at once):
        # on a cluster, the store's one limit is this semaphore, which lets at most max_connections
        # commands run at once, so no node's cap is ever reached, and queues the rest up to pool_timeout.
        self._turns = asyncio.Semaphore(max_connections) if cluster else None
        self._pool_timeout = pool_timeout
        self._client: redis.asyncio.Redis | redis.asyncio.RedisCluster
        self._pool: _WaitingPool | None = None
        if cluster:
            self._client, self._where = self._cluster_client(url, timeout, max_connections)
        else:
            client, self._where = self._server_client(url, timeout, max_connections, pool_timeout)
            self._client = client
            self._pool = cast(_WaitingPool, client.connection_pool)
        self._save_script = self._client.register_script(redis_scripts.SAVE)
        self._user_index_script = self._client.register_script(redis_scripts.INDEX_USER)
        self._destroy_user_begin_script = self._client.register_script(redis_scripts.DESTROY_USER_BEGIN)
        self._destroy_user_batch_script = self._client.register_script(redis_scripts.DESTROY_USER_BATCH)
        self._destroy_if_user_script = self._client.register_script(redis_scripts.DESTROY_IF_USER)

    @staticmethod
    def _server_client(
        url: str, timeout: float, max_connections: int, pool_timeout: float
    ) -> tuple[redis.asyncio.Redis, str]:
        """A client of one Redis server, and where it connects for error messages (never the URL: its password)."""
        # The URL's own ?max_connections= and ?timeout= (the pool's wait) win over these keywords.
        pool = _WaitingPool.from_url(
            url,
            max_connections=max_connections,
            timeout=pool_timeout,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            # Maintenance notifications (pushed by Redis Enterprise and Redis Cloud before a failover) are off:
            # with them on, redis-py 8.1's pool hands out a connection Redis closed while it sat idle.
            maint_notifications_config=MaintNotificationsConfig(enabled=False),
        )
        kwargs = pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"
        return redis.asyncio.Redis.from_pool(pool), where

    @staticmethod
    def _cluster_client(url: str, timeout: float, max_connections: int) -> tuple[redis.asyncio.RedisCluster, str]:
        """redis-py's cluster client, tuned to fail fast and heal (measured in tests/test_redis_cluster.py).

        No retries (as on one server: a save that timed out may have run): a
        request for a slot whose master is down gets a 503 at once, and the error
        makes the client reload the slot map before its next command, so the
        replica that takes over is found without a restart. The client need not
        see every slot served (``require_full_coverage=False``): the other masters'
        sessions keep working meanwhile. ``max_connections`` is per node; the
        store lets no more commands than that run at once (``_turns``).
        """
        client = redis.asyncio.RedisCluster.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            max_connections=max_connections,
            retry=Retry(NoBackoff(), 0),
            require_full_coverage=False,
        )
        parts = urlsplit(url)
        return client, f"the cluster of {parts.hostname}:{parts.port or 6379}"

    def tracking_connection(self) -> AbstractConnection:
        """A new, unconnected RESP2 connection to this store's Redis (its URL, TLS, AUTH), outside the pool.

        For ``NearCachedStore``'s subscription to Redis's invalidations, which
        arrive as pub/sub messages on a RESP2 connection. None on a cluster.
        """
        if self._pool is None:
            raise ValueError("client tracking is per node: a cluster store has no one connection to follow")
        kwargs = {**self._pool.connection_kwargs, "protocol": 2}
        connection: AbstractConnection = self._pool.connection_class(**kwargs)
        return connection

    async def load(self, namespace: str, session_id: str) -> Record | None:
        key = self.key(namespace, session_id)
        return self._loaded(key, session_id, await self._call(self._hash_fields(key)))

    async def save(self, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        key = self.key(namespace, session_id)
        source = key if journal.previous_id is None else self.key(namespace, journal.previous_id)
        if self.cluster and journal.previous_id and self.successor_id(journal.previous_id, session_id) != session_id:
            raise ValueError("on a cluster, a regenerated session's ID comes from successor_id() (same hash slot)")
        user = journal.meta.user
        keys = [key, source] if user is None else [key, source, self._user_key(namespace, user)]
        args = self._script_args(namespace, journal)
        if self.cluster and user is not None:  # the user's set is in another slot: indexed first, on its own
            keys.pop()
            await self._call(
                self._user_index_script(keys=[self._user_key(namespace, user)], args=[key, source, args[2]])
            )
        reply = await self._call(self._run_script(self._save_script, keys, args))
        if reply[0] == 0:
            raise SessionGoneError(journal.previous_id or session_id)
        return dict(zip(reply[1::2], reply[2::2], strict=True))

    async def destroy(self, namespace: str, session_id: str) -> bool:
        key = self.key(namespace, session_id)
        if self._pool is None:
            return await self._call(self._client.delete(key)) > 0
        return cast(int, await self._call(self._pool.execute("DEL", key))) > 0

    async def destroy_all(self, namespace: str) -> None:
        await self._call(self._destroy_all(namespace))

    async def destroy_user(self, namespace: str, user: str) -> list[str]:
        users = self._user_key(namespace, user)
        if self.cluster:
            destroyed = await self._call(self._destroy_user_one_by_one(users, user))
        else:
            destroyed = await self._destroy_user_in_batches(users, self._ending_key_prefix(namespace) + user, user)
        start = len(self._key_prefix(namespace))
        return [key[start:].replace("{", "", 1).replace("}", "", 1) for key in destroyed]

    def successor_id(self, session_id: str, fresh_id: str) -> str:
        """On a cluster, ``fresh_id`` with ``session_id``'s slot tag, so regenerate's move stays in one slot."""
        if not self.cluster:
            return fresh_id
        return session_id[:SLOT_TAG_LENGTH] + fresh_id[SLOT_TAG_LENGTH:]

    async def close(self) -> None:
        await self._client.aclose()

    # -- internals ------------------------------------------------------------

    def _key_prefix(self, namespace: str) -> str:
        """What every key of a namespace starts with; a namespace holds no ':', so none is a prefix of another's."""
        return f"{self.prefix}{namespace}:"

    def key(self, namespace: str, session_id: str) -> str:
        """``prefix + namespace + ":" + ID``; on a cluster the ID's first characters are the key's hash tag."""
        if not is_valid_session_id(session_id):
            raise ValueError("not a session ID; refusing to build a Redis key from it")
        if self.cluster:
            tag, rest = session_id[:SLOT_TAG_LENGTH], session_id[SLOT_TAG_LENGTH:]
            return f"{self._key_prefix(namespace)}{{{tag}}}{rest}"
        return self._key_prefix(namespace) + session_id

    def _user_key(self, namespace: str, user: str) -> str:
        """The set of a user's session keys; ':' cannot occur in an ID, so it never meets a session key."""
        return f"{self._key_prefix(namespace)}user:{user}"

    def _ending_key_prefix(self, namespace: str) -> str:
        """With the user after it, the set of a user's sessions ``destroy_user`` is deleting ("ending-user:", not
        "user:", so that no user's name makes it another user's set)."""
        return f"{self._key_prefix(namespace)}ending-user:"

    def _script_args(self, namespace: str, journal: Journal) -> list[str | int]:
        """``ARGV`` of ``redis_scripts.SAVE``, in the layout written beside the script."""
        meta = journal.meta
        ttl = "" if meta.expires_at is None else math.ceil((meta.expires_at - self.clock()) * 1000)
        args: list[str | int] = [
            int(journal.create),
            json.dumps(dataclasses.asdict(meta)),
            ttl,
            int(journal.clear_values),
            VALUE_PREFIX,
            len(journal.deletes),
            len(journal.sets),
            "" if self.cluster else self._ending_key_prefix(namespace),
            *journal.deletes,
        ]
        for name, text in journal.sets.items():
            args += [name, text]
        for name, delta in journal.increments.items():
            args += [name, delta]
        return args

    async def _destroy_all(self, namespace: str) -> None:
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self._key_prefix(namespace)) + "*"
        batch: list[str] = []
        async for key in self._client.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) == 500:
                await self._client.unlink(*batch)
                batch = []
        if batch:
            await self._client.unlink(*batch)

    async def _destroy_user_in_batches(self, users: str, ending: str, user: str) -> list[str]:
        """destroy_user on one server: the user's set put aside at once, then its sessions deleted in batches."""
        await self._call(self._run_script(self._destroy_user_begin_script, [users, ending], []))
        destroyed: list[str] = []
        args: list[str | int] = [user, repr(self.clock()), DESTROY_USER_BATCH]
        while True:
            left, *keys = await self._call(self._run_script(self._destroy_user_batch_script, [ending], args))
            destroyed += keys
            if not left:
                return destroyed

    async def _destroy_user_one_by_one(self, users: str, user: str) -> list[str]:
        """destroy_user on a cluster, where each session has its own slot: one script per session.

        Only the members read are removed from the set (not the set itself), so a
        login saved meanwhile stays indexed for the next "log out everywhere".
        """
        try:
            members = cast(set[str], await self._client.smembers(users))  # decoded: see _hash_fields
        except ResponseError as exc:
            if not str(exc).startswith("WRONGTYPE"):
                raise
            await self._client.delete(users)  # not a set of ours: the next save rebuilds it
            return []
        now = repr(self.clock())
        destroyed = [key for key in members if await self._destroy_if_user_script(keys=[key], args=[user, now])]
        if members:
            await self._client.srem(users, *members)
        return destroyed

    def _loaded(self, key: str, session_id: str, fields: dict[str, str] | None) -> Record | None:
        """The record ``_hash_fields`` found, or ``None`` (logged once per key when the key is not ours)."""
        if fields == {}:
            return None  # no such key: expired, destroyed, or never there
        if fields is None:
            self._warn_foreign(key, session_id, "not a hash")
            return None
        record = _record(fields)
        if record is None:
            self._warn_foreign(key, session_id, "a hash without our metadata")
        return record

    async def _hash_fields(self, key: str) -> dict[str, str] | None:
        """The fields of the hash at ``key`` (none if there is no key), or ``None`` if the key holds another type."""
        try:
            if self._pool is None:
                # The client decodes replies (decode_responses=True), which redis-py's types cannot follow.
                return cast(dict[str, str], await self._client.hgetall(key))
            reply = await self._pool.execute("HGETALL", key)
        except ResponseError as exc:
            if str(exc).startswith("WRONGTYPE"):
                return None
            raise
        if isinstance(reply, dict):  # RESP3 (redis-py's default protocol) answers a map
            return reply
        items = cast(list[str], reply)  # RESP2: name, value, name, value...
        return dict(zip(items[::2], items[1::2], strict=True))

    async def _run_script(self, script: AsyncScript, keys: list[str], args: list[str | int]) -> Any:
        """Run one of our scripts by its SHA, loading it first if Redis does not know it (it then did not run)."""
        if self._pool is None:
            return await script(keys=keys, args=args)
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return await self._pool.execute(*command)
        except NoScriptError:  # Redis restarted, or SCRIPT FLUSH: the script ran nowhere
            await self._pool.execute("SCRIPT", "LOAD", cast(str, script.script))
            return await self._pool.execute(*command)

    def _warn_foreign(self, key: str, session_id: str, what: str) -> None:
        """Say once per key that a cookie names a key we did not write, however often the cookie comes back."""
        if key in self._warned:
            self._warned.move_to_end(key)
            return
        self._warned[key] = None
        log.warning(
            "session %s in Redis is not a record this package wrote (%s): counted as no session",
            fingerprint(session_id),
            what,
        )

    async def _call(self, operation: Awaitable[T]) -> T:
        try:
            if self._turns is None:
                return await operation
            return await self._in_turn(operation)
        except (RedisError, RedisClusterException) as exc:
            raise StoreUnavailableError(f"Redis at {self._where}: {exc}") from exc

    async def _in_turn(self, operation: Awaitable[T]) -> T:
        """Run ``operation`` once fewer than ``max_connections`` others run, waiting at most ``pool_timeout``."""
        assert self._turns is not None
        try:
            if self._turns.locked():
                await asyncio.wait_for(self._turns.acquire(), self._pool_timeout)
            else:  # free: taken at once, without the Task of its own that wait_for would make
                await self._turns.acquire()
        except TimeoutError:
            close = getattr(operation, "close", None)
            if close is not None:
                close()  # never awaited: no "coroutine was never awaited" warning
            raise PoolExhaustedError(f"no connection to the cluster came free in {self._pool_timeout} s") from None
        try:
            return await operation
        finally:
            self._turns.release()
