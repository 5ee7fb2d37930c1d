"""One conformance suite, run against every store: memory, SQLite and Redis.

Each guarantee a store makes is tested the same way for each store, over real HTTP
through the probe app (``tests/support/probe_app.py``) where a request is involved, and
against the store's interface where the guarantee is the store's own. SQLite
runs on a real file in a temporary directory, Redis on a real ``redis-server``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from sessions import SessionStore, values
from sessions.errors import SessionGoneError
from sessions.ids import new_session_id
from sessions.record import Journal, Meta, apply_journal, increment_text
from sessions.stores.near_cache import NearCachedStore
from sessions.stores.redis import RedisStore
from tests.conftest import make_store
from tests.support.cookie_client import CookieClient, set_cookies, text
from tests.support.live_app import LiveApp
from tests.support.probe_app import COOKIE, EXPIRES, make_probe_app

NS = COOKIE  # the probe app\'s manager keeps its sessions in the namespace of its cookie name


@pytest.fixture
def store(any_store: SessionStore) -> SessionStore:
    return any_store


@pytest.fixture
def app(store, clock):
    return make_probe_app(store, clock)


@pytest.fixture
def wide_client(http_server, base_url):
    """A browser that may have 200 requests in flight at once (Tornado's default is 10)."""
    http = AsyncHTTPClient(force_instance=True, max_clients=200)
    yield CookieClient(http, base_url)
    http.close()


@pytest.fixture
def server_ttl(store, clock, request):
    """Seconds the store will keep a session: Redis's own PTTL, the stored ``expires_at`` elsewhere."""
    redis_store = store.store if isinstance(store, NearCachedStore) else store
    if isinstance(redis_store, RedisStore) and redis_store.cluster:
        with redis.RedisCluster.from_url(request.getfixturevalue("redis_cluster_url")) as cluster:

            async def cluster_ttl(session_id: str) -> float:
                return cluster.pttl(redis_store.key(NS, session_id)) / 1000  # the cluster layout (stores/redis.py)

            yield cluster_ttl
    elif isinstance(redis_store, RedisStore):
        with redis.Redis.from_url(request.getfixturevalue("redis_url")) as client:

            async def redis_ttl(session_id: str) -> float:
                return client.pttl(f"{redis_store.prefix}{NS}:{session_id}") / 1000

            yield redis_ttl
    else:

        async def stored_ttl(session_id: str) -> float:
            record = await store.load(NS, session_id)
            return record.meta.expires_at - clock()

        yield stored_ttl


def path(route: str, value: object) -> str:
    return f"{route}?json={quote(json.dumps(value))}"


def answer(response) -> Any:  # the probe app's JSON answer, of whatever shape the route gives
    assert response.code == 200, text(response)
    return json.loads(response.body)


def same_typed(a: object, b: object) -> bool:
    """Equal, and of the same type all the way down (1 == 1.0 == True would hide a change)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_typed(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_typed(a[k], b[k]) for k in a)
    return a == b


def max_age(response) -> int:
    header = set_cookies(response)[COOKIE]
    return int(next(part for part in header.split("; ") if part.startswith("Max-Age="))[len("Max-Age=") :])


def meta(clock, lifetime: float = 3600) -> Meta:
    now = clock()
    return Meta(created=now, touched=now, expires_at=now + lifetime)


# -- type fidelity ------------------------------------------------------------------

JSON_VALUES = [
    None,
    True,
    False,
    0,
    -7,
    2**70,
    1.5,
    1.0,
    -0.0,
    1e300,
    "",
    'text with ünïcode ☃ and "quotes"',
    "42",
    [],
    [1, "a", None, [2.5, True]],
    {},
    {"nested": {"list": [False, 0, ""]}, "n": 3},
]


@pytest.mark.gen_test
@pytest.mark.parametrize("value", JSON_VALUES, ids=[json.dumps(v)[:20] for v in JSON_VALUES])
async def test_every_json_type_reads_back_with_its_type(client: CookieClient, store, value):
    await client.get(path("/set/seed", 1))  # the value below updates an existing record
    assert answer(await client.get(path("/set/key", value))) is None

    got = answer(await client.get("/get/key"))  # a later request, loaded from the store
    assert got["found"] is True
    assert same_typed(got["value"], value), (got["value"], value)
    record = await store.load(NS, client.jar[COOKIE])
    assert record.fields["v:key"] == values.encode("key", value)


@pytest.mark.gen_test
async def test_set_immutable_holds_across_requests(client: CookieClient, store):
    await client.get(path("/set-immutable/role", "admin"))

    response = await client.get(path("/set/role", "intruder"))
    assert response.code == 409
    assert "set_immutable" in json.loads(response.body)
    assert answer(await client.get("/get/role"))["value"] == "admin"
    record = await store.load(NS, client.jar[COOKIE])
    assert values.is_immutable(record.fields["v:role"])


# -- expiry --------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_an_expired_session_is_gone_and_its_cookie_gets_a_fresh_session(client: CookieClient, store, clock):
    await client.get(path("/set/a", 1))
    old_id = client.jar[COOKIE]

    clock.advance(EXPIRES.total_seconds() + 1)
    got = answer(await client.get("/get/a"))
    assert got == {"found": False, "value": None}
    assert await store.load(NS, old_id) is None

    await client.get(path("/set/b", 2))
    assert client.jar[COOKIE] != old_id


@pytest.mark.gen_test
async def test_the_store_forgets_expired_sessions_on_its_own(store: SessionStore, clock):
    """Memory sweeps, SQLite purges (both on a later write), Redis expires the key."""
    short, long = new_session_id(), new_session_id()
    await store.save(NS, short, Journal(meta(clock, lifetime=0.05), create=True, sets={"v:a": "1"}))

    clock.advance(3600)  # past the sweep and purge intervals
    await store.save(NS, long, Journal(meta(clock), create=True, sets={"v:a": "1"}))
    await asyncio.sleep(0.2)  # Redis counts its TTL in real time

    assert await store.load(NS, short) is None
    assert await store.load(NS, long) is not None


@pytest.mark.gen_test
async def test_update_expiration_moves_the_store_expiry_and_the_cookie_together(client, store, clock, server_ttl):
    response = await client.get(path("/set/a", 1))
    session_id = client.jar[COOKIE]
    assert max_age(response) == 2700
    assert await server_ttl(session_id) == pytest.approx(2700, abs=2)

    clock.advance(600)
    response = await client.get("/update-expiration?minutes=90")
    assert max_age(response) == 5400
    assert await server_ttl(session_id) == pytest.approx(5400, abs=2)

    clock.advance(80 * 60)  # well past the first 45 minutes
    assert answer(await client.get("/get/a"))["found"] is True
    clock.advance(11 * 60)
    assert answer(await client.get("/get/a"))["found"] is False


@pytest.mark.gen_test
async def test_shift_expiration_moves_the_store_expiry_and_the_cookie_together(client, store, clock, server_ttl):
    await client.get(path("/set/a", 1))
    session_id = client.jar[COOKIE]

    clock.advance(30 * 60)
    response = await client.get("/update-expiration")
    assert max_age(response) == 2700
    assert await server_ttl(session_id) == pytest.approx(2700, abs=2)

    clock.advance(30 * 60)  # an hour after creation, 30 minutes after the shift
    assert answer(await client.get("/get/a"))["found"] is True


@pytest.mark.gen_test
@pytest.mark.parametrize("start", [2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63)])
async def test_an_increment_beyond_2_to_the_53_is_exact_on_every_store(client: CookieClient, store, start, caplog):
    """2^53 is where doubles (JavaScript's numbers, Lua's in Redis scripts) stop being exact."""
    await client.get(path("/set/n", start))

    assert answer(await client.get("/increment/n")) == start + 1
    assert answer(await client.get("/get-int/n")) == start + 1
    assert (await store.load(NS, client.jar[COOKIE])).fields["v:n"] == str(start + 1)
    assert "unavailable" not in caplog.text  # never an outage


@pytest.mark.gen_test
async def test_a_stored_number_too_long_to_convert_is_a_conversion_error_not_a_500(client: CookieClient, store):
    too_long = "9" * 4301  # more digits than Python's int() converts
    await client.get(path("/set/n", too_long))

    for route in ("/get-int/n", "/increment/n"):
        response = await client.get(route)
        assert response.code == 400
        assert json.loads(response.body).startswith("session value 'n' = '999")
    assert answer(await client.get("/get/n"))["value"] == too_long  # the failed increment wrote nothing


# -- no lost updates -----------------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_fifty_concurrent_requests_setting_different_keys_all_land(wide_client, app, store):
    await wide_client.get(path("/set/seed", 0))
    app.settings["gates"].barrier = asyncio.Barrier(50)  # all 50 have loaded before any saves

    responses = await asyncio.gather(*(wide_client.get(path(f"/set/k{i}", i)) for i in range(50)))

    assert [response.code for response in responses] == [200] * 50
    record = await store.load(NS, wide_client.jar[COOKIE])
    assert {f"v:k{i}": str(i) for i in range(50)}.items() <= record.fields.items()


@pytest.mark.gen_test(timeout=30)
async def test_a_hundred_concurrent_increments_count_exactly_a_hundred(wide_client, app, store):
    await wide_client.get(path("/set/seed", 0))
    app.settings["gates"].barrier = asyncio.Barrier(100)

    responses = await asyncio.gather(*(wide_client.get("/increment/n") for _ in range(100)))

    assert sorted(answer(response) for response in responses) == list(range(1, 101))
    record = await store.load(NS, wide_client.jar[COOKIE])
    assert record.fields["v:n"] == "100"


@pytest.mark.gen_test(timeout=30)
async def test_increment_returns_this_requests_view_and_the_store_still_counts_every_one(wide_client, app, store):
    """What the README promises: without awaiting save_session(), concurrent increments may return the
    same number (each saw the count as it loaded it), and the stored total is still exact."""
    await wide_client.get(path("/set/seed", 0))
    app.settings["gates"].barrier = asyncio.Barrier(60)  # all 60 have loaded before any saves

    responses = await asyncio.gather(*(wide_client.get("/increment-unsaved/n") for _ in range(60)))

    assert [answer(response) for response in responses] == [1] * 60
    assert (await store.load(NS, wide_client.jar[COOKIE])).fields["v:n"] == "60"


@pytest.mark.gen_test
@pytest.mark.parametrize("op", ["set", "increment"])
async def test_a_request_still_running_at_logout_does_not_bring_the_session_back(
    client: CookieClient, other_client: CookieClient, app, store, op
):
    await client.get(path("/set/user", "ann"))
    session_id = client.jar[COOKIE]
    gates = app.settings["gates"]

    slow = asyncio.ensure_future(client.get(f"/slow/late?op={op}"))
    await gates.loaded.wait()
    await client.get("/logout")
    gates.release.set()
    response = await slow

    assert response.code == 200
    assert await store.load(NS, session_id) is None
    other_client.jar[COOKIE] = session_id  # the old cookie, replayed
    assert answer(await other_client.get("/get/user")) == {"found": False, "value": None}
    assert answer(await other_client.get("/get/late")) == {"found": False, "value": None}


@pytest.mark.gen_test
async def test_a_login_whose_old_session_vanished_starts_a_fresh_one_with_only_its_own_writes(
    client: CookieClient, app, store
):
    await client.get(path("/set/user", "ann"))
    old_id = client.jar[COOKIE]
    gates = app.settings["gates"]

    login = asyncio.ensure_future(client.get("/slow/late?op=regenerate"))
    await gates.loaded.wait()
    await client.get("/logout")  # the old session ends while the login runs
    gates.release.set()
    response = await login

    assert response.code == 200
    new_id = client.jar[COOKIE]  # the login's answer came last: the browser holds its cookie
    assert new_id != old_id
    assert await store.load(NS, old_id) is None
    assert (await store.load(NS, new_id)).fields == {"v:late": "true"}  # nothing of the destroyed session
    assert answer(await client.get("/get/user")) == {"found": False, "value": None}


@pytest.mark.gen_test
async def test_a_regenerate_that_wrote_nothing_and_found_its_session_gone_creates_none(
    client: CookieClient, app, store
):
    await client.get(path("/set/user", "ann"))
    gates = app.settings["gates"]

    rename = asyncio.ensure_future(client.get("/slow/late?op=rename"))
    await gates.loaded.wait()
    await client.get("/logout")
    gates.release.set()
    response = await rename

    assert response.code == 200
    assert COOKIE not in set_cookies(response)
    assert COOKIE not in client.jar  # the logout's deletion stands


@pytest.mark.gen_test
async def test_a_request_that_finds_its_session_renamed_deletes_no_cookie(client: CookieClient, app, store):
    await client.get(path("/set/user", "ann"))
    gates = app.settings["gates"]

    slow = asyncio.ensure_future(client.get("/slow/late"))
    await gates.loaded.wait()
    await client.get("/regenerate")  # a login renames the session under the slow request
    renamed = client.jar[COOKIE]
    gates.release.set()
    response = await slow

    assert response.code == 200
    assert COOKIE not in set_cookies(response)
    assert client.jar[COOKIE] == renamed
    assert answer(await client.get("/get/user")) == {"found": True, "value": "ann"}
    assert answer(await client.get("/get/late")) == {"found": False, "value": None}  # its write was dropped


# -- regenerate ----------------------------------------------------------------------


@pytest.mark.gen_test
async def test_regenerate_moves_the_data_to_a_new_id_and_the_old_id_is_dead(
    client: CookieClient, other_client: CookieClient, store
):
    await client.get(path("/set/a", [1, 2]))
    await client.get(path("/flash/notice", "moved"))
    old_id = client.jar[COOKIE]

    await client.get("/regenerate")
    new_id = client.jar[COOKIE]

    assert new_id != old_id
    assert await store.load(NS, old_id) is None
    assert (await store.load(NS, new_id)).fields == {"v:a": "[1,2]", "f:notice": '"moved"'}
    assert answer(await client.get("/get/a"))["value"] == [1, 2]
    other_client.jar[COOKIE] = old_id
    assert answer(await other_client.get("/get/a"))["found"] is False


# -- the store interface itself ------------------------------------------------------


@pytest.mark.gen_test
async def test_a_save_applies_the_journal_exactly_like_apply_journal(store: SessionStore, clock):
    start = {"v:a": "1", "v:b": '"x"', "v:n": "2", "f:m": '"hi"', "f:keep": "true"}
    journal = Journal(
        meta(clock),
        clear_values=True,
        deletes={"f:m", "v:b"},
        sets={"v:c": "3", "v:n": "10"},
        increments={"v:n": 5, "v:a": 1, "f:count": 2},
    )
    session_id = new_session_id()
    await store.save(NS, session_id, Journal(meta(clock), create=True, sets=dict(start)))

    counted = await store.save(NS, session_id, journal)

    expected = dict(start)
    assert counted == apply_journal(expected, journal)
    assert (await store.load(NS, session_id)).fields == expected


STORED_COUNTERS = [None, "5", "!5", "-12", "3.9", "-3.9", "-0.5", "1e3", '"42"', '"+7"', '"-007"', '"4.5"',
                   '"abc"', "true", "null", "[1]", '{"a":1}', "9007199254740000",
                   # beyond 2^53, where a double (Lua's number) is no longer exact
                   "9007199254740993", "-9007199254740993", str(2**70), "!" + str(2**64), '"9007199254740993"',
                   '"-' + "9" * 60 + '"', "12345678901234567890.5", "-1e20", "1e300", "0", "-0", "-0.0",
                   # not JSON (something else wrote the store): counts as 0
                   "{not json", "!{not json", ""]  # fmt: skip


@pytest.mark.gen_test
@pytest.mark.parametrize("stored", STORED_COUNTERS)
async def test_increment_counts_like_increment_text(store: SessionStore, clock, stored):
    session_id = new_session_id()
    sets = {} if stored is None else {"v:n": stored}
    await store.save(NS, session_id, Journal(meta(clock), create=True, sets=sets))

    counted = await store.save(NS, session_id, Journal(meta(clock), increments={"v:n": 3}))

    assert counted == {"v:n": increment_text(stored, 3)}
    assert (await store.load(NS, session_id)).fields["v:n"] == increment_text(stored, 3)


@pytest.mark.gen_test
async def test_a_save_to_a_gone_record_raises_and_writes_nothing(store: SessionStore, clock):
    gone = new_session_id()
    fresh = store.successor_id(gone, new_session_id())
    with pytest.raises(SessionGoneError):
        await store.save(NS, gone, Journal(meta(clock), sets={"v:a": "1"}))
    with pytest.raises(SessionGoneError):
        await store.save(NS, fresh, Journal(meta(clock), previous_id=gone, sets={"v:a": "1"}))
    assert await store.load(NS, gone) is None
    assert await store.load(NS, fresh) is None


@pytest.mark.gen_test
async def test_destroy_and_destroy_all(store: SessionStore, clock):
    ids = [new_session_id() for _ in range(3)]
    for session_id in ids:
        await store.save(NS, session_id, Journal(meta(clock), create=True, sets={"v:a": "1"}))

    assert await store.destroy(NS, ids[0]) is True
    assert await store.destroy(NS, ids[0]) is False
    await store.destroy_all(NS)
    assert [await store.load(NS, session_id) for session_id in ids] == [None, None, None]


@pytest.mark.gen_test
async def test_destroy_user_ends_only_that_users_live_sessions(store: SessionStore, clock):
    def owned(user: str | None, lifetime: float = 3600) -> Journal:
        return Journal(
            Meta(created=clock(), touched=clock(), expires_at=clock() + lifetime, user=user),
            create=True,
            sets={"v:a": "1"},
        )

    alice = [new_session_id() for _ in range(3)]
    bob, nobody = new_session_id(), new_session_id()
    for session_id in alice:
        await store.save(NS, session_id, owned("alice"))
    await store.save(NS, bob, owned("bob"))
    await store.save(NS, nobody, owned(None))
    renamed = store.successor_id(alice[0], new_session_id())  # alice's first session, regenerated (login)
    await store.save(NS, renamed, Journal(owned("alice").meta, previous_id=alice[0]))
    relabelled = owned("bob")  # alice's second session, now logged in as bob
    relabelled.create = False
    await store.save(NS, alice[1], relabelled)

    expired = new_session_id()  # alice's, past its expiry but not yet swept, purged or dropped by Redis
    await store.save(NS, expired, owned("alice", lifetime=10))
    clock.advance(11)

    assert sorted(await store.destroy_user(NS, "alice")) == sorted([renamed, alice[2]])
    assert await store.load(NS, expired) is None
    assert [await store.load(NS, session_id) for session_id in (renamed, alice[2])] == [None, None]
    assert all([await store.load(NS, session_id) for session_id in (bob, nobody, alice[1])])
    assert await store.destroy_user(NS, "alice") == []
    assert sorted(await store.destroy_user(NS, "bob")) == sorted([bob, alice[1]])


@pytest.mark.gen_test
@pytest.mark.parametrize("payload", ["*", "session:*", "../../etc/passwd", "a b", "A" * 43])
async def test_a_hostile_or_unknown_id_opens_nothing(store: SessionStore, payload):
    assert await store.open(NS, payload) is None


# -- restart and several processes ---------------------------------------------------


async def serve_probe(store: SessionStore, clock) -> tuple[HTTPServer, str]:
    sock, port = bind_unused_port()
    server = HTTPServer(make_probe_app(store, clock))
    server.add_sockets([sock])
    return server, f"http://127.0.0.1:{port}"


@pytest.mark.gen_test
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_values_and_flashes_survive_a_restart(kind, clock, tmp_path, request):
    http = AsyncHTTPClient(force_instance=True)
    try:
        first_store = make_store(kind, clock, tmp_path, request)
        server, url = await serve_probe(first_store, clock)
        browser = CookieClient(http, url)
        await browser.get(path("/set/cart", ["apple", 2]))
        await browser.get(path("/flash/notice", "saved before the restart"))
        server.stop()
        await server.close_all_connections()
        await first_store.close()

        second_store = make_store(kind, clock, tmp_path, request)  # a new process would do the same
        server, url = await serve_probe(second_store, clock)
        browser.base_url = url
        assert answer(await browser.get("/get/cart"))["value"] == ["apple", 2]
        assert answer(await browser.get("/get-flash/notice")) == "saved before the restart"
        assert answer(await browser.get("/get-flash/notice")) is None  # read once
        server.stop()
        await server.close_all_connections()
        await second_store.close()
    finally:
        http.close()


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_two_app_processes_sharing_a_store_see_each_others_writes(kind, tmp_path, request):
    arguments = store_arguments(kind, tmp_path, request)
    http = AsyncHTTPClient(force_instance=True)
    with LiveApp(*arguments) as first, LiveApp(*arguments) as second:
        try:
            browser = CookieClient(http, first.url)
            assert (await browser.get("/login")).code == 200
            browser.base_url = second.url
            assert text(await browser.get("/secret")) == "The cake is a lie!"

            await browser.get("/database/set/color/teal")
            browser.base_url = first.url
            assert text(await browser.get("/database/get/color")) == "The 'color' on the /set was: teal"

            await browser.get("/logout")
            browser.base_url = second.url
            assert (await browser.get("/secret")).code == 403
        finally:
            http.close()


def store_arguments(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    """``app.py`` options for a store that several processes share."""
    if kind == "sqlite":
        return ["--store=sqlite", f"--sqlite-path={tmp_path / 'shared.sqlite3'}"]
    return ["--store=redis", f"--redis-url={request.getfixturevalue('redis_url')}"]


@pytest.mark.gen_test
@pytest.mark.parametrize("any_store", ["sqlite", "redis"], indirect=True)  # memory is this process's own
@pytest.mark.parametrize("corruption", ["field name", "metadata", "metadata type", "expiry type"])
async def test_a_record_written_by_something_else_is_no_session(
    client: CookieClient, store, request, corruption, caplog
):
    """A stray field or broken metadata is treated as no session, and logged."""
    await client.get(path("/set/name", "iris"))
    session_id = client.jar[COOKIE]
    if isinstance(store, NearCachedStore):
        raw = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        key = f"{store.store.prefix}{NS}:{session_id}"
        stored_meta = raw.hget(key, "__meta__")
        assert stored_meta is not None
        meta = json.loads(stored_meta)
        {
            "field name": lambda: raw.hset(key, "stray", "1"),
            "metadata": lambda: raw.hset(key, "__meta__", "[1, 2"),
            "metadata type": lambda: raw.hset(key, "__meta__", json.dumps({**meta, "created": "yesterday"})),
            "expiry type": lambda: raw.hset(key, "__meta__", json.dumps({**meta, "expires_at": "soon"})),
        }[corruption]()
        raw.close()
    else:
        with sqlite3.connect(store.path) as db:
            db.execute(
                {
                    "field name": "INSERT INTO session_fields VALUES (?, ?, 'stray', '1')",
                    "metadata": "UPDATE sessions SET deadline = x'00'",
                    "metadata type": "UPDATE sessions SET created = 'yesterday'",
                    "expiry type": "UPDATE sessions SET expires_at = 'soon'",
                }[corruption],
                (NS, session_id) if corruption == "field name" else (),
            )

    response = await client.get("/get/name")
    assert response.code == 200
    assert answer(response)["value"] is None
    assert "not a record this package wrote" in caplog.text


def write_field_behind_the_store(store, request, session_id: str, name: str, text: str) -> None:
    """Write one field of a stored session straight into SQLite's file or Redis, as something else would."""
    if isinstance(store, NearCachedStore):
        with redis.Redis.from_url(request.getfixturevalue("redis_url")) as raw:
            raw.hset(f"{store.store.prefix}{NS}:{session_id}", name, text)
    else:
        with sqlite3.connect(store.path) as db:
            db.execute(
                "UPDATE session_fields SET value = ? WHERE session_id = ? AND name = ?", (text, session_id, name)
            )


def stored_field(store, request, session_id: str, name: str) -> str | None:
    """One field's text as SQLite's file or Redis holds it, read behind the store."""
    if isinstance(store, NearCachedStore):
        with redis.Redis.from_url(request.getfixturevalue("redis_url"), decode_responses=True) as raw:
            return raw.hget(f"{store.store.prefix}{NS}:{session_id}", name)
    with sqlite3.connect(store.path) as db:
        row = db.execute("SELECT value FROM session_fields WHERE session_id = ? AND name = ?", (session_id, name))
        found = row.fetchone()
    return None if found is None else found[0]


@pytest.mark.gen_test
@pytest.mark.parametrize("any_store", ["sqlite", "redis"], indirect=True)  # memory is this process's own
async def test_a_value_that_is_not_json_reads_as_absent_and_the_rest_of_the_session_stays(
    client: CookieClient, store, request, caplog
):
    """Loads do not parse every field: the one that is not JSON is found when read, and only it is affected."""
    await client.get(path("/set/name", "iris"))
    await client.get(path("/set/color", "teal"))
    session_id = client.jar[COOKIE]
    write_field_behind_the_store(store, request, session_id, "v:name", "{not json")

    assert answer(await client.get("/get/name")) == {"found": False, "value": None}
    assert "field 'v:name' is not JSON: read as absent" in caplog.text
    assert answer(await client.get("/get/color")) == {"found": True, "value": "teal"}
    assert client.jar[COOKIE] == session_id  # the same session: nobody was logged out

    await client.get(path("/set/color", "plum"))  # a save of another key changes only that key
    assert stored_field(store, request, session_id, "v:name") == "{not json"
    assert answer(await client.get("/get/color")) == {"found": True, "value": "plum"}

    assert answer(await client.get("/increment/name")) == 1  # counts as 0, as any non-number does
    await client.get(path("/set/name", "ada"))  # a set replaces it
    assert answer(await client.get("/get/name")) == {"found": True, "value": "ada"}


@pytest.mark.gen_test
@pytest.mark.parametrize("any_store", ["sqlite", "redis"], indirect=True)
async def test_a_flash_that_is_not_json_reads_as_absent_and_is_consumed(client: CookieClient, store, request):
    await client.get(path("/flash/notice", "saved"))
    await client.get(path("/set/color", "teal"))
    session_id = client.jar[COOKIE]
    write_field_behind_the_store(store, request, session_id, "f:notice", "[1, 2")

    assert answer(await client.get("/get-flash/notice")) is None
    assert stored_field(store, request, session_id, "f:notice") is None  # consumed like any flash read
    assert answer(await client.get("/get/color")) == {"found": True, "value": "teal"}
