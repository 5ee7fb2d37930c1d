"""What only the Redis store promises: one hash per session, one round trip each way, safe keys."""

from __future__ import annotations

import asyncio
import json

import pytest

from sessions.ids import new_session_id
from sessions.record import Journal, Meta
from sessions.stores.near_cache import NearCachedStore
from sessions.stores.redis import META_FIELD, RedisStore

#: The namespace these store-level tests keep their records in (a manager uses its cookie name).
NS = "test"
#: A session's key: the store's prefix, the namespace, the ID.
KEY_PREFIX = f"session:{NS}:"


@pytest.fixture
def store(redis_store: NearCachedStore) -> NearCachedStore:
    return redis_store


def meta(clock, lifetime: float = 3600) -> Meta:
    return Meta(created=clock(), touched=clock(), expires_at=clock() + lifetime, user="ann")


#: What the save script calls inside Redis (INFO commandstats counts those too).
SCRIPT_COMMANDS = {
    "type",
    "exists",
    "del",
    "hget",
    "hkeys",
    "hdel",
    "hset",
    "rename",
    "pexpire",
    "persist",
    "sadd",
    "srem",
    "pttl",
    "sismember",  # is the session being logged out everywhere?
}


def commands(raw) -> dict[str, int]:
    """Calls per command since the last CONFIG RESETSTAT, leaving out our own INFO and CONFIG."""
    stats = raw.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): stat["calls"]
        for name, stat in stats.items()
        if not name.startswith(("cmdstat_info", "cmdstat_config"))
    }


@pytest.mark.gen_test
async def test_a_session_is_one_hash_with_its_metadata_and_a_ttl(store, raw, clock):
    session_id = new_session_id()
    await store.save(NS, session_id, Journal(meta(clock), create=True, sets={"v:a": "1", "f:n": '"hi"'}))

    fields = raw.hgetall(KEY_PREFIX + session_id)
    assert json.loads(fields.pop(META_FIELD))["user"] == "ann"
    assert fields == {"v:a": "1", "f:n": '"hi"'}
    assert 3598_000 < raw.pttl(KEY_PREFIX + session_id) <= 3600_000


@pytest.mark.gen_test
async def test_load_and_save_take_one_round_trip_each(store, raw, clock):
    session_id = new_session_id()
    await store.save(NS, session_id, Journal(meta(clock), create=True, sets={"v:a": "1"}))  # loads the script
    await store.load(NS, new_session_id())  # starts the near-cache's subscription, on a connection of its own
    while not store.near_cache.subscribed:
        await asyncio.sleep(0.01)
    raw.config_resetstat()

    record = await store.load(NS, session_id)
    await store.save(NS, session_id, Journal(meta(clock), sets={"v:b": "2"}, deletes={"v:a"}, increments={"v:n": 1}))

    assert record.fields == {"v:a": "1"}
    calls = commands(raw)
    calls.pop("ping", None)  # the subscription's heartbeat, when it has been quiet for a while
    assert (calls.pop("hgetall"), calls.pop("evalsha")) == (1, 1)
    assert set(calls) <= SCRIPT_COMMANDS  # run inside Redis by the script: no round trips


@pytest.mark.gen_test
@pytest.mark.parametrize("hostile", ["*", "session:*", "a b", "x\r\nFLUSHALL"])
async def test_a_hostile_id_never_becomes_a_key(store, raw, hostile):
    raw.config_resetstat()

    assert await store.open(NS, hostile) is None
    with pytest.raises(ValueError):
        await store.destroy(NS, hostile)

    assert commands(raw) == {}


@pytest.mark.gen_test
async def test_destroy_all_deletes_only_keys_under_its_prefix(redis_url, raw, clock, io_loop):
    store = RedisStore(redis_url, prefix="app[1]*:", clock=clock)  # glob characters are escaped
    mine, theirs = new_session_id(), new_session_id()
    await store.save(NS, mine, Journal(meta(clock), create=True))
    raw.set(f"app1X:{NS}:" + theirs, "another app's key that the unescaped glob would match")
    raw.set("unrelated", "x")

    await store.destroy_all(NS)
    await store.close()

    assert sorted(raw.keys()) == [f"app1X:{NS}:" + theirs, "unrelated"]


@pytest.mark.gen_test
async def test_stores_with_different_prefixes_do_not_see_each_other(redis_url, store, clock):
    other = RedisStore(redis_url, prefix="other-app:", clock=clock)
    session_id = new_session_id()
    await store.save(NS, session_id, Journal(meta(clock), create=True, sets={"v:a": "1"}))

    assert await other.load(NS, session_id) is None
    await other.close()


@pytest.mark.gen_test
async def test_a_save_whose_expiry_has_passed_leaves_nothing(store, raw, clock):
    session_id = new_session_id()
    await store.save(NS, session_id, Journal(meta(clock, lifetime=-1), create=True, sets={"v:a": "1"}))

    assert raw.exists(KEY_PREFIX + session_id) == 0


@pytest.mark.gen_test
@pytest.mark.parametrize(("start", "delta"), [(2**53 + 1, 1), (2**60, -(2**61)), (-(2**64), 2**64), (10**40 - 1, 1)])
async def test_a_counter_beyond_the_exact_range_of_lua_numbers_counts_exactly(store, raw, clock, start, delta):
    """Lua's numbers are doubles (exact to 2^53): the script adds decimal text instead."""
    session_id = new_session_id()
    await store.save(NS, session_id, Journal(meta(clock), create=True, sets={"v:n": str(start)}))

    counted = await store.save(NS, session_id, Journal(meta(clock), increments={"v:n": delta}))

    assert counted == {"v:n": str(start + delta)}
    assert raw.hget(KEY_PREFIX + session_id, "v:n") == str(start + delta)


@pytest.mark.gen_test
@pytest.mark.parametrize("how", ["keyword", "url"])
async def test_the_pool_opens_at_most_max_connections_and_queues_the_rest(redis_url, raw, clock, how):
    # Not near-cached: its subscription is a connection of its own (tests/test_redis_near_cache.py counts it).
    if how == "keyword":
        store = RedisStore(redis_url, clock=clock, max_connections=3)
    else:
        store = RedisStore(redis_url + "?max_connections=3", clock=clock)
    session_id = new_session_id()
    await store.save(NS, session_id, Journal(meta(clock), create=True, sets={"v:a": "1"}))
    raw.execute_command("CLIENT", "PAUSE", 300, "ALL")  # so that 50 loads are all in flight together

    records = await asyncio.gather(*(store.load(NS, session_id) for _ in range(50)))

    assert [record.fields for record in records] == [{"v:a": "1"}] * 50
    assert raw.info("clients")["connected_clients"] == 1 + 3  # ours, and the store's three
    await store.close()


@pytest.mark.parametrize(
    ("url", "error", "wanted"),
    [
        (None, TypeError, "wants the URL of a Redis as a str"),
        (6379, TypeError, "not int"),
        ("localhost:6379", ValueError, "scheme is 'localhost'"),
        ("127.0.0.1:6379", ValueError, "without a scheme"),
        ("http://127.0.0.1:6379/0", ValueError, "scheme is 'http'"),
        ("", ValueError, "without a scheme"),
    ],
)
def test_what_is_no_redis_url_is_refused_saying_what_is_wanted(url, error, wanted):
    with pytest.raises(error, match="like redis://HOST:PORT/DB") as refused:
        RedisStore(url)
    assert wanted in str(refused.value)


def test_a_refused_url_is_not_repeated_it_may_hold_a_password():
    with pytest.raises(ValueError) as refused:
        RedisStore("http://:hunter2@127.0.0.1:6379/0")
    assert "hunter2" not in str(refused.value)
