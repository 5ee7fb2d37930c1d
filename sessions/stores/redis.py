"""The distributed store: one Redis hash per session (``redis.asyncio`` from redis-py).

Every app process pointed at the same Redis sees the same sessions. A session
is the hash ``prefix + namespace + ":" + ID``: its ``v:``/``f:`` fields as the hash's fields, its
metadata as JSON in the ``__meta__`` field (a name no value or flash field can
have), and its expiry as the key's TTL, so Redis forgets it on its own.

Requests share a pool of at most ``max_connections`` connections per store;
when all are busy a request waits up to ``pool_timeout`` seconds for one, and
past that the store counts as unavailable (redis-py's default pool raises at
once instead, which turned a burst of traffic into a burst of 503s).

A session this process loaded before is read from the *near-cache*
(``near_cache.py``) with no round trip: Redis's client tracking tells the store
which keys any client changed, and a write by another process is seen here once
that message arrives (measured on loopback: median 0.14 ms, p99 0.20 ms, max 1.0 ms
over 1,000 writes, ``tests/test_redis_near_cache.py``; docs/stores.md says more).
``near_cache=False`` turns it off. It is off on a cluster: tracking is per node, and
the store would need a subscription on every master, following failovers and slot
migrations, which it does not have.

Otherwise one round trip each way: a load is one ``HGETALL``; a save is one Lua script
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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
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
from .base import SessionStore
from .near_cache import NearCache

T = TypeVar("T")
log = logging.getLogger("sessions.store.redis")

#: The hash field holding the metadata; value and flash fields all start with "v:" or "f:".
#: The Lua scripts below spell it out too.
META_FIELD = "__meta__"
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")

# A key holds one of our sessions when it is a hash whose __meta__ is a JSON object
# with a numeric "created"; anything else under our prefix (another program's
# string, list, set or hash) is no session. Both scripts start with this function.
_SESSION_META_FUNCTION = """
local function session_meta(name)
  if redis.call('TYPE', name)['ok'] ~= 'hash' then
    return nil
  end
  local text = redis.call('HGET', name, '__meta__')
  if not text then
    return nil
  end
  local ok, decoded = pcall(cjson.decode, text)
  if ok and type(decoded) == 'table' and type(decoded['created']) == 'number' then
    return decoded
  end
  return nil
end
"""

# The user's set of session keys, for destroy_user: it lives as long as its longest session.
_USER_INDEX_FUNCTION = """
local function index_user(users, key, source, ttl)
  local kind = redis.call('TYPE', users)['ok']
  if kind ~= 'set' and kind ~= 'none' then
    redis.call('DEL', users)  -- not a set of ours: rebuilt
  end
  local fresh = kind ~= 'set'
  redis.call('SADD', users, key)
  if source ~= key then
    redis.call('SREM', users, source)
  end
  local left = redis.call('PTTL', users)
  if ttl == '' then
    redis.call('PERSIST', users)
  elseif fresh or (left >= 0 and left < tonumber(ttl)) then
    redis.call('PEXPIRE', users, ttl)
  end
end
"""

_SAVE_SCRIPT = (
    _SESSION_META_FUNCTION
    + _USER_INDEX_FUNCTION
    + """
-- Applies a journal as sessions.record.apply_journal defines it. KEYS and ARGV
-- are laid out by RedisStore.save and RedisStore._script_args (documented there).
local key, source = KEYS[1], KEYS[2]
local create, meta, ttl = ARGV[1] == '1', ARGV[2], ARGV[3]
local clear, value_prefix = ARGV[4] == '1', ARGV[5]
local exists = session_meta(source) ~= nil
if not exists and not create then
  return {0}
end
-- Another program's value where a new session goes is replaced. Only then: a
-- script's first write decides whether Redis at maxmemory refuses it (HSET) or
-- lets the whole script through (DEL), and a new session must be refused.
if not exists and redis.call('EXISTS', key) == 1 then
  redis.call('DEL', key)
end

local at, deleted, set = 8, {}, {}
for _ = 1, tonumber(ARGV[6]) do
  deleted[ARGV[at]] = true
  at = at + 1
end
for _ = 1, tonumber(ARGV[7]) do
  set[ARGV[at]] = ARGV[at + 1]
  at = at + 2
end

local function is_value(name)
  return string.sub(name, 1, #value_prefix) == value_prefix
end

-- Counters are integers of any size, as Python's: decimal text added digit by digit
-- (a Lua number is a double, exact only up to 2^53).
local function sign_and_digits(text)  -- '[+-]?digits' -> negative?, the digits without leading zeros
  local sign, digits = string.match(text, '^([+-]?)0*(%d*)$')
  if digits == '' then
    return false, '0'
  end
  return sign == '-', digits
end

local function smaller(a, b)  -- digits without leading zeros; bytes compared, whatever Redis's locale
  if #a ~= #b then
    return #a < #b
  end
  for k = 1, #a do
    local x, y = string.byte(a, k), string.byte(b, k)
    if x ~= y then
      return x < y
    end
  end
  return false
end

local function sum_of(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry + (i > 0 and string.byte(a, i) - 48 or 0) + (j > 0 and string.byte(b, j) - 48 or 0)
    out[#out + 1], carry = d % 10, (d >= 10 and 1 or 0)
    i, j = i - 1, j - 1
  end
  return string.reverse(table.concat(out))
end

local function difference_of(a, b)  -- a >= b
  local out, borrow, j = {}, 0, #b
  for i = #a, 1, -1 do
    local d = string.byte(a, i) - 48 - borrow - (j > 0 and string.byte(b, j) - 48 or 0)
    out[#out + 1], borrow = d % 10, (d < 0 and 1 or 0)
    j = j - 1
  end
  local digits = string.gsub(string.reverse(table.concat(out)), '^0+', '')
  return digits == '' and '0' or digits
end

local function add(x, y)
  local x_negative, x_digits = sign_and_digits(x)
  local y_negative, y_digits = sign_and_digits(y)
  local negative, digits
  if x_negative == y_negative then
    negative, digits = x_negative, sum_of(x_digits, y_digits)
  elseif smaller(x_digits, y_digits) then
    negative, digits = y_negative, difference_of(y_digits, x_digits)
  else
    negative, digits = x_negative, difference_of(x_digits, y_digits)
  end
  return (negative and digits ~= '0') and ('-' .. digits) or digits
end

-- The counting rule of sessions.record.increment_text, as decimal text: the stored
-- JSON (after an optional "!" immutable mark) counts when it is a number (truncated
-- toward zero) or a string of decimal digits; anything else counts as 0.
local function counter(text)
  if not text then
    return '0'
  end
  if string.sub(text, 1, 1) == '!' then
    text = string.sub(text, 2)
  end
  if string.match(text, '^%-?[1-9]%d*$') or string.match(text, '^%-?0$') then
    return text  -- a JSON integer, exact however long (cjson would round it to a double)
  end
  local ok, value = pcall(cjson.decode, text)
  if not ok then
    return '0'
  end
  if type(value) == 'number' then
    if value ~= value or value == math.huge or value == -math.huge then
      return '0'
    end
    if value >= 0 then
      value = math.floor(value)
    else
      value = math.ceil(value)
    end
    return string.format('%.0f', value)  -- every digit of the integral double, as Python's int(float)
  end
  if type(value) == 'string' and string.match(value, '^[+-]?%d+$') then
    return value
  end
  return '0'
end

-- Step 4's increments are computed here, before the first write; each counts from
-- what steps 1-3 leave (a set, else nothing if deleted or cleared, else the stored
-- text), so the result is apply_journal's.
local reply = {1}
for i = at, #ARGV, 2 do
  local name = ARGV[i]
  local current = set[name]
  if current == nil and exists and not deleted[name] and not (clear and is_value(name)) then
    current = redis.call('HGET', source, name)
  end
  reply[#reply + 1] = name
  reply[#reply + 1] = add(counter(current), ARGV[i + 1])
end

if exists and source ~= key then
  redis.call('RENAME', source, key)
end
-- apply_journal's steps: 1. a clear removes every value (never a flash)
if clear then
  for _, name in ipairs(redis.call('HKEYS', key)) do
    if is_value(name) then
      redis.call('HDEL', key, name)
    end
  end
end
for name in pairs(deleted) do  -- 2. deletes
  redis.call('HDEL', key, name)
end
for name, text in pairs(set) do  -- 3. sets
  redis.call('HSET', key, name, text)
end
for i = 2, #reply, 2 do  -- 4. increments, as computed above
  redis.call('HSET', key, reply[i], reply[i + 1])
end
redis.call('HSET', key, '__meta__', meta)
if ttl == '' then
  redis.call('PERSIST', key)
else
  redis.call('PEXPIRE', key, ttl)
end

-- The user's set of session keys, for destroy_user (on a cluster, _USER_INDEX_SCRIPT updates it instead).
if KEYS[3] then
  index_user(KEYS[3], key, source, ttl)
end
return reply
"""
)

# On a cluster the user's set lives in another slot than the session: indexed in a
# script of its own (KEYS[1] the set; ARGV the session's key, the key it moves from, its TTL).
_USER_INDEX_SCRIPT = (
    _USER_INDEX_FUNCTION
    + """
index_user(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 1
"""
)

# On a cluster, destroy_user's step for one session (each in its own slot): deleted if
# it is still the user's (ARGV[1]); returns 1 if it was live by the store's clock (ARGV[2]).
_DESTROY_IF_USER_SCRIPT = (
    _SESSION_META_FUNCTION
    + """
local decoded = session_meta(KEYS[1])
if not decoded or decoded['user'] ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
local ends = decoded['expires_at']
if type(ends) ~= 'number' or ends > tonumber(ARGV[2]) then
  return 1
end
return 0
"""
)

# Deletes every session in a user's set that still belongs to that user (a member
# may have been logged in as someone else since), then the set. Returns the keys
# of those still live by the store's clock (ARGV[2]): one past its expiry that
# Redis has not dropped yet is deleted without being counted, as the other stores do.
_DESTROY_USER_SCRIPT = (
    _SESSION_META_FUNCTION
    + """
local destroyed, now = {}, tonumber(ARGV[2])
local members = {}
if redis.call('TYPE', KEYS[1])['ok'] == 'set' then
  members = redis.call('SMEMBERS', KEYS[1])
end
for _, key in ipairs(members) do
  local decoded = session_meta(key)
  if decoded and decoded['user'] == ARGV[1] then
    redis.call('DEL', key)
    local ends = decoded['expires_at']
    if type(ends) ~= 'number' or ends > now then
      destroyed[#destroyed + 1] = key
    end
  end
end
redis.call('DEL', KEYS[1])
return destroyed
"""
)


#: Connections one store (so one app process) opens to Redis at most; more requests than that
#: wait their turn. Measured on 2 cores over loopback: 1,000 concurrent requests take as long
#: with 10 connections as with 100 (2.1-2.8 s; the app process is the bottleneck) and twice as
#: long with 1,000. 50 leaves room for a Redis across a network, where a connection waits a round trip.
DEFAULT_MAX_CONNECTIONS = 50
#: Seconds a request waits for a free connection before Redis counts as unavailable (503).
DEFAULT_POOL_TIMEOUT = 10.0


#: Records the near-cache holds at most (the least recently used go first): about 1 KiB each for a
#: logged-in session, so some 10 MiB per process.
DEFAULT_NEAR_CACHE_SIZE = 10_000
#: Seconds a record stays in the near-cache at most before it is read from Redis again: the bound on
#: what no invalidation announces (``SWAPDB``...). A visitor who clicks every few seconds still reads
#: from the cache most of the time; one Redis read per session every 5 s is little.
DEFAULT_NEAR_CACHE_MAX_AGE = 5.0


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
        near_cache: bool = True,
        near_cache_size: int = DEFAULT_NEAR_CACHE_SIZE,
        near_cache_max_age: float = DEFAULT_NEAR_CACHE_MAX_AGE,
    ) -> None:
        """``cluster``: ``url`` names any node of a Redis Cluster (see the module's docstring for the key layout).

        ``near_cache``: keep up to ``near_cache_size`` loaded records in this process, invalidated by
        Redis (see the module's docstring), each for ``near_cache_max_age`` seconds at most; always off
        on a cluster.
        """
        _check_url(url)
        self.prefix = prefix
        self.cluster = cluster
        self._clock = clock
        self._warned: BoundedMemo[str, None] = BoundedMemo(FOREIGN_KEYS_REMEMBERED)
        # The cluster client has no waiting pool (a command past a node's max_connections fails at once):
        # on a cluster, the store's one limit is this semaphore, which lets at most max_connections
        # commands run at once, so no node's cap is ever reached, and queues the rest up to pool_timeout.
        self._turns = asyncio.Semaphore(max_connections) if cluster else None
        self._pool_timeout = pool_timeout
        self._client: redis.asyncio.Redis | redis.asyncio.RedisCluster
        self._pool: _WaitingPool | None = None
        self.near_cache: NearCache | None = None
        if cluster:
            self._client, self._where = self._cluster_client(url, timeout, max_connections)
        else:
            client, self._where = self._server_client(url, timeout, max_connections, pool_timeout)
            self._client = client
            self._pool = pool = cast(_WaitingPool, client.connection_pool)
            if near_cache:
                resp2 = {**pool.connection_kwargs, "protocol": 2}  # invalidations as pub/sub messages
                self.near_cache = NearCache(
                    lambda: pool.connection_class(**resp2), prefix, near_cache_size, clock, near_cache_max_age
                )
        self._save_script = self._client.register_script(_SAVE_SCRIPT)
        self._user_index_script = self._client.register_script(_USER_INDEX_SCRIPT)
        self._destroy_user_script = self._client.register_script(_DESTROY_USER_SCRIPT)
        self._destroy_if_user_script = self._client.register_script(_DESTROY_IF_USER_SCRIPT)

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

    async def load(self, namespace: str, session_id: str) -> Record | None:
        key = self._key(namespace, session_id)
        cache = self.near_cache
        if cache is None:
            return self._loaded(key, session_id, await self._call(self._hash_fields(key)))
        record = cache.get(key)
        if record is not None:
            return record
        ticket = cache.begin_load(key)
        try:
            record = self._loaded(key, session_id, await self._call(self._hash_fields(key)))
            if record is not None:
                cache.offer(key, ticket, record)
            return record
        finally:
            cache.end_load(key)

    async def save(self, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        key = self._key(namespace, session_id)
        source = key if journal.previous_id is None else self._key(namespace, journal.previous_id)
        if self.cluster and journal.previous_id and self.successor_id(journal.previous_id, session_id) != session_id:
            raise ValueError("on a cluster, a regenerated session's ID comes from successor_id() (same hash slot)")
        user = journal.meta.user
        keys = [key, source] if user is None else [key, source, self._user_key(namespace, user)]
        args = self._script_args(journal)
        if self.cluster and user is not None:  # the user's set is in another slot: indexed first, on its own
            keys.pop()
            await self._call(
                self._user_index_script(keys=[self._user_key(namespace, user)], args=[key, source, args[2]])
            )
        with self._invalidating(key, source):
            reply = await self._call(self._run_script(self._save_script, keys, args))
        if reply[0] == 0:
            raise SessionGoneError(journal.previous_id or session_id)
        return dict(zip(reply[1::2], reply[2::2], strict=True))

    async def destroy(self, namespace: str, session_id: str) -> bool:
        key = self._key(namespace, session_id)
        with self._invalidating(key):
            if self._pool is None:
                return await self._call(self._client.delete(key)) > 0
            return cast(int, await self._call(self._pool.execute("DEL", key))) > 0

    async def destroy_all(self, namespace: str) -> None:
        try:
            await self._call(self._destroy_all(namespace))
        finally:
            if self.near_cache is not None:
                self.near_cache.clear()

    async def destroy_user(self, namespace: str, user: str) -> list[str]:
        keys = [self._user_key(namespace, user)]
        if self.cluster:
            destroyed = await self._call(self._destroy_user_one_by_one(keys[0], user))
        else:
            script = self._run_script(self._destroy_user_script, keys, [user, repr(self._clock())])
            destroyed = await self._call(script)
        self._forget(*destroyed)  # those deleted but not returned had expired: the near-cache serves them no more
        start = len(self._key_prefix(namespace))
        return [key[start:].replace("{", "", 1).replace("}", "", 1) for key in destroyed]

    def successor_id(self, session_id: str, fresh_id: str) -> str:
        """On a cluster, ``fresh_id`` with ``session_id``'s slot tag, so regenerate's move stays in one slot."""
        if not self.cluster:
            return fresh_id
        return session_id[:SLOT_TAG_LENGTH] + fresh_id[SLOT_TAG_LENGTH:]

    async def close(self) -> None:
        if self.near_cache is not None:
            await self.near_cache.close()
        await self._client.aclose()

    # -- internals ------------------------------------------------------------

    def _key_prefix(self, namespace: str) -> str:
        """What every key of a namespace starts with; a namespace holds no ':', so none is a prefix of another's."""
        return f"{self.prefix}{namespace}:"

    def _key(self, namespace: str, session_id: str) -> str:
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

    def _script_args(self, journal: Journal) -> list[str | int]:
        """``ARGV`` of ``_SAVE_SCRIPT``, in this layout (``KEYS`` are ``save()``'s: the key, the key
        to move from, and the user's set of keys when the session has a user)::

            ARGV[1]  create: 1 or 0            ARGV[5]  VALUE_PREFIX, for the clear
            ARGV[2]  meta as JSON               ARGV[6]  D, how many deletes follow
            ARGV[3]  TTL in ms, '' for none     ARGV[7]  S, how many sets follow
            ARGV[4]  clear_values: 1 or 0       ARGV[8...]  D names, then S name/text
                                                pairs, then name/delta pairs to the end
        """
        meta = journal.meta
        ttl = "" if meta.expires_at is None else math.ceil((meta.expires_at - self._clock()) * 1000)
        args: list[str | int] = [
            int(journal.create),
            json.dumps(dataclasses.asdict(meta)),
            ttl,
            int(journal.clear_values),
            VALUE_PREFIX,
            len(journal.deletes),
            len(journal.sets),
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
        now = repr(self._clock())
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

    @contextmanager
    def _invalidating(self, *keys: str) -> Iterator[None]:
        """Forget ``keys`` from the near-cache before and after a write to them, even a failed one (it may have run).

        Before: no load in flight caches what it read. After: no read in this
        process sees the old record, even before Redis's invalidation arrives.
        """
        self._forget(*keys)
        try:
            yield
        finally:
            self._forget(*keys)

    def _forget(self, *keys: str) -> None:
        if self.near_cache is not None:
            for key in keys:
                self.near_cache.invalidate(key)

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
