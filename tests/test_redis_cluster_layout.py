"""The key layout of the Redis store on a cluster (docs/stores.md, "The key layout on a cluster").

The conformance suite checks the guarantees on a real cluster (kind ``redis-cluster``);
these check the layout that makes them hold: sessions spread over every master,
and regenerate's new ID shares its old ID's slot.
"""

from __future__ import annotations

import pytest

from sessions.ids import is_valid_session_id, new_session_id
from sessions.record import Journal, Meta
from sessions.stores.redis import SLOT_TAG_LENGTH, RedisStore

NS = "layout"


@pytest.fixture
def store(redis_cluster_url, io_loop):
    store = RedisStore(redis_cluster_url, cluster=True)
    yield store
    io_loop.run_sync(store.close)


def journal(**changes) -> Journal:
    return Journal(Meta(created=1.0, touched=1.0), create=True, sets={"v:a": "1"}, **changes)


@pytest.mark.gen_test
async def test_sessions_spread_over_every_master(store, redis_cluster):
    ids = [new_session_id() for _ in range(30)]
    for session_id in ids:
        await store.save(NS, session_id, journal())
    masters = {redis_cluster.master_of(store.key(NS, session_id)) for session_id in ids}
    assert masters == set(redis_cluster.masters())


def test_a_successor_keeps_the_slot_tag_and_nothing_else_of_the_old_id(store):
    old, fresh = new_session_id(), new_session_id()
    new = store.successor_id(old, fresh)
    assert is_valid_session_id(new)
    assert new != old
    assert new[:SLOT_TAG_LENGTH] == old[:SLOT_TAG_LENGTH]
    assert new[SLOT_TAG_LENGTH:] == fresh[SLOT_TAG_LENGTH:]
    assert store.key(NS, new).split("}")[0] == store.key(NS, old).split("}")[0]


@pytest.mark.gen_test
async def test_a_move_across_slots_is_refused_before_anything_is_written(store):
    old = new_session_id()
    await store.save(NS, old, journal())
    elsewhere = ("zzz" if old[:SLOT_TAG_LENGTH] != "zzz" else "yyy") + new_session_id()[SLOT_TAG_LENGTH:]
    with pytest.raises(ValueError, match="successor_id"):
        await store.save(NS, elsewhere, Journal(Meta(created=1.0, touched=1.0), previous_id=old))
    assert await store.load(NS, old) is not None
    assert await store.load(NS, elsewhere) is None
