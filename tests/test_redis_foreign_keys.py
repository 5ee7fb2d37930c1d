"""A key under the store's prefix that another program wrote is no session, never an outage.

Redis answers WRONGTYPE when a hash command meets a string or a list; that used
to surface as "store unavailable" on every request with that cookie, for ever
(such a key has no TTL). Tested over real HTTP against a real ``redis-server``.
"""

from __future__ import annotations

import logging

import pytest

from app import make_app
from sessions.errors import SessionGoneError
from sessions.ids import new_session_id
from sessions.record import Journal, Meta
from sessions.stores.near_cache import NearCachedStore
from sessions.stores.redis import META_FIELD
from tests.support.cookie_client import CookieClient, text

#: The overview step's cookie, which is also its namespace in the store.
COOKIE = "mycookiesessionnameid"
KEY_PREFIX = f"session:{COOKIE}:"

#: What other programs leave under our prefix, planted with the plain client.
FOREIGN = {
    "empty string": lambda raw, key: raw.set(key, ""),
    "list": lambda raw, key: raw.rpush(key, "a", "b"),
    "set": lambda raw, key: raw.sadd(key, "a"),
    "hash without metadata": lambda raw, key: raw.hset(key, mapping={"v:authenticated": "true"}),
    "hash with metadata that is not JSON": lambda raw, key: raw.hset(key, mapping={META_FIELD: "{not json"}),
    "hash with metadata of another shape": lambda raw, key: raw.hset(key, mapping={META_FIELD: "[1, 2]"}),
}


@pytest.fixture
def store(redis_store: NearCachedStore) -> NearCachedStore:
    return redis_store


@pytest.fixture
def app(store, clock):
    return make_app(store=store, clock=clock)


def warnings_about_records(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "not a record" in r.getMessage()]


@pytest.mark.gen_test
@pytest.mark.parametrize("kind", FOREIGN)
async def test_a_foreign_key_is_no_session_warned_once_and_a_login_replaces_it(
    client: CookieClient, other_client: CookieClient, raw, kind, caplog
):
    planted = new_session_id()
    FOREIGN[kind](raw, KEY_PREFIX + planted)

    for visitor in (client, other_client, client, client):  # the manager keeps an unknown ID's cookie
        visitor.jar[COOKIE] = planted
        response = await visitor.get("/secret")
        assert (response.code, text(response)) == (403, "Forbidden")  # anonymous: no session, no outage
    assert len(warnings_about_records(caplog)) == 1, caplog.text
    assert "unavailable" not in caplog.text

    client.jar[COOKIE] = planted
    assert (await client.get("/login")).code == 200
    assert text(await client.get("/secret")) == "The cake is a lie!"
    key = KEY_PREFIX + client.jar[COOKIE]
    assert raw.type(key) == "hash"
    assert META_FIELD in raw.hgetall(key)
    assert raw.pttl(key) > 0


def meta(clock) -> Meta:
    return Meta(created=clock(), touched=clock(), expires_at=clock() + 3600, user="ann")


@pytest.mark.gen_test
@pytest.mark.parametrize("kind", FOREIGN)
async def test_creating_a_session_over_a_foreign_key_replaces_it(store, raw, clock, kind):
    session_id = new_session_id()
    FOREIGN[kind](raw, KEY_PREFIX + session_id)

    await store.save(COOKIE, session_id, Journal(meta(clock), create=True, sets={"v:a": "1"}, increments={"v:n": 1}))

    record = await store.load(COOKIE, session_id)
    assert record.fields == {"v:a": "1", "v:n": "1"}  # nothing of the foreign value leaks in
    assert raw.pttl(KEY_PREFIX + session_id) > 0


@pytest.mark.gen_test
@pytest.mark.parametrize("kind", FOREIGN)
async def test_updating_or_regenerating_a_foreign_key_finds_the_session_gone(store, raw, clock, kind):
    session_id, new_id = new_session_id(), new_session_id()
    FOREIGN[kind](raw, KEY_PREFIX + session_id)
    before = raw.dump(KEY_PREFIX + session_id)

    with pytest.raises(SessionGoneError):
        await store.save(COOKIE, session_id, Journal(meta(clock), sets={"v:a": "1"}))
    with pytest.raises(SessionGoneError):
        await store.save(COOKIE, new_id, Journal(meta(clock), previous_id=session_id))

    assert raw.dump(KEY_PREFIX + session_id) == before  # another program's key: left as it was
    assert raw.exists(KEY_PREFIX + new_id) == 0


@pytest.mark.gen_test
@pytest.mark.parametrize("kind", FOREIGN)
async def test_a_foreign_key_in_place_of_a_users_set_or_among_its_members_breaks_nothing(store, raw, clock, kind):
    users_key = f"{KEY_PREFIX}user:ann"
    FOREIGN[kind](raw, users_key)
    mine = new_session_id()
    await store.save(COOKIE, mine, Journal(meta(clock), create=True))  # logs "ann" in: her set is rebuilt
    foreign = new_session_id()
    FOREIGN[kind](raw, KEY_PREFIX + foreign)
    raw.sadd(users_key, KEY_PREFIX + foreign)

    assert await store.destroy_user(COOKIE, "ann") == [mine]

    assert raw.exists(KEY_PREFIX + mine, users_key) == 0
    assert raw.exists(KEY_PREFIX + foreign) == 1  # not ann's session: left alone
    assert await store.destroy(COOKIE, foreign) is True
