"""The cookie-only store over real HTTP: the session lives in the cookie, never silently too big."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tornado.web import Application, url

from sessions import (
    Config,
    CookieStore,
    EncryptedCodec,
    KeyRing,
    PlainCodec,
    SessionManager,
    SessionTooLargeError,
)
from sessions.cookies import BROWSER_COOKIE_LIMIT
from sessions.record import Meta, Record
from tests.support.cookie_client import CookieClient, set_cookies, text
from tests.support.session_handler import SessionHandler

SECRET = "the cookie store tests' secret, 32+ bytes long"
COOKIE = "jar"
NS = "test"  # the namespace of the store-level tests (the cookie store needs none: see its docstring)


class PutHandler(SessionHandler):
    """Sets ``key`` to ``value`` (or to ``size`` x's); an oversized write answers 413 with the error."""

    async def get(self, key: str) -> None:
        session = await self.get_session()
        size = self.get_argument("size", None)
        try:
            session.set(key, "x" * int(size) if size else self.get_argument("value"))
        except SessionTooLargeError as exc:
            self.write_text(str(exc), status=413)


class ReadHandler(SessionHandler):
    async def get(self, key: str) -> None:
        session = await self.get_session()
        self.write_text(json.dumps(session.get(key)))


class CountHandler(SessionHandler):
    async def get(self) -> None:
        self.write_text(str((await self.get_session()).increment("count")))


class FlashHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        if self.get_argument("set", None):
            session.set_flash("notice", self.get_argument("set"))
        else:
            self.write_text(json.dumps(session.get_flash("notice")))


class GrowHandler(SessionHandler):
    """Makes a list, then grows it through the object get() handed out: only the save can measure that."""

    async def get(self) -> None:
        session = await self.get_session()
        items = session.get("list")
        if items is None:
            session.set("list", [])
        else:
            items.append("y" * 5000)
        self.write_text()


class DestroyHandler(SessionHandler):
    async def get(self) -> None:
        await self.get_session_manager().destroy(self)
        self.write_text()


async def opened_payload(store: CookieStore, payload: str) -> tuple[str, Record]:
    """What ``open`` reads from a payload the store wrote itself (never None)."""
    opened = await store.open(NS, payload)
    assert opened is not None, payload
    return opened


def cookie_manager(clock, **options) -> SessionManager:
    codec = EncryptedCodec(KeyRing([SECRET]), max_age=timedelta(hours=8), clock=clock)
    return SessionManager(cookie_name=COOKIE, store=CookieStore(), codec=codec, clock=clock, **options)


@pytest.fixture
def app(clock):
    """Two managers with their own CookieStore and the same secret: two processes, or one restarted."""
    routes = []
    for prefix in ("/one", "/two"):
        manager = cookie_manager(clock, idle_timeout=timedelta(minutes=30))
        handlers = [
            (r"/put/(\w+)", PutHandler),
            (r"/read/(\w+)", ReadHandler),
            (r"/count", CountHandler),
            (r"/flash", FlashHandler),
            (r"/grow", GrowHandler),
            (r"/destroy", DestroyHandler),
        ]
        routes += [url(prefix + path, handler, {"session_manager": manager}) for path, handler in handlers]
    return Application(routes)


@pytest.mark.gen_test
async def test_the_whole_session_travels_in_the_cookie(client: CookieClient):
    await client.get("/one/put/name?value=iris")
    await client.get("/one/flash?set=saved")
    # Another process (its own, empty, store) with the same secret reads all of it.
    assert text(await client.get("/two/read/name")) == '"iris"'
    assert text(await client.get("/two/flash")) == '"saved"'
    assert text(await client.get("/one/flash")) == "null"  # the flash was consumed, in the cookie


@pytest.mark.gen_test
async def test_the_cookie_is_opaque(client: CookieClient):
    await client.get("/one/put/name?value=iris")
    value = client.jar[COOKIE]
    assert "iris" not in value
    assert "name" not in value


@pytest.mark.gen_test
async def test_counters_and_values_change_the_cookie(client: CookieClient):
    assert [text(await client.get("/one/count")) for _ in range(3)] == ["1", "2", "3"]
    before = client.jar[COOKIE]
    response = await client.get("/two/read/count")
    assert text(response) == "3"
    assert COOKIE not in set_cookies(response)  # a read re-sends nothing
    assert client.jar[COOKIE] == before


@pytest.mark.gen_test
async def test_a_tampered_cookie_is_a_fresh_session(client: CookieClient):
    await client.get("/one/put/name?value=iris")
    value = client.jar[COOKIE]
    client.jar[COOKIE] = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]
    response = await client.get("/one/read/name")
    assert (response.code, text(response)) == (200, "null")


@pytest.mark.gen_test
async def test_the_idle_timeout_inside_the_cookie_is_enforced(client: CookieClient, clock):
    await client.get("/one/put/name?value=iris")
    clock.advance(29 * 60)
    assert text(await client.get("/one/read/name")) == '"iris"'  # and touched: the cookie is re-sent
    clock.advance(29 * 60)
    assert text(await client.get("/one/read/name")) == '"iris"'
    clock.advance(31 * 60)
    assert text(await client.get("/one/read/name")) == "null"


@pytest.mark.gen_test
async def test_destroy_deletes_the_cookie_but_cannot_revoke_a_copy(client: CookieClient, other_client: CookieClient):
    """The documented limit of a cookie-only session: nothing on the server to revoke."""
    await client.get("/one/put/name?value=iris")
    copy = client.jar[COOKIE]
    response = await client.get("/one/destroy")
    assert set_cookies(response)[COOKIE].startswith(f"{COOKIE}=; Expires=Thu, 01 Jan 1970")
    assert text(await client.get("/one/read/name")) == "null"

    other_client.jar[COOKIE] = copy
    assert text(await other_client.get("/one/read/name")) == '"iris"'


@pytest.mark.gen_test
async def test_an_oversized_set_fails_in_the_handler_naming_the_size(client: CookieClient):
    await client.get("/one/put/name?value=iris")
    kept = client.jar[COOKIE]
    response = await client.get("/one/put/big?size=5000")
    assert response.code == 413
    named = re.fullmatch(
        rf".*cookie '{COOKIE}' is (\d+) bytes, over the limit of {BROWSER_COOKIE_LIMIT} bytes", text(response)
    )
    assert named
    assert int(named[1]) > BROWSER_COOKIE_LIMIT
    assert COOKIE not in set_cookies(response)  # the refused write was not applied
    assert client.jar[COOKIE] == kept
    assert text(await client.get("/one/read/name")) == '"iris"'


@pytest.mark.gen_test
async def test_the_size_limit_is_exact(client: CookieClient):
    """The largest value set() accepts makes a Set-Cookie of at most 4096 bytes, and within one
    base64 step of it; one byte more is refused."""
    low, high, header = 0, BROWSER_COOKIE_LIMIT, ""
    while high - low > 1:
        middle = (low + high) // 2
        response = await client.get(f"/one/put/blob?size={middle}")
        if response.code == 200:
            low, header = middle, set_cookies(response)[COOKIE]
        else:
            high = middle
    assert BROWSER_COOKIE_LIMIT - 2 <= len(header) <= BROWSER_COOKIE_LIMIT
    assert (await client.get(f"/one/put/blob?size={low + 1}")).code == 413
    assert text(await client.get("/two/read/blob")) == f'"{"x" * low}"'


@pytest.mark.gen_test
async def test_growth_only_the_save_can_see_fails_loudly_and_sends_no_cookie(client: CookieClient):
    await client.get("/one/grow")  # creates the list
    kept = client.jar[COOKIE]
    response = await client.get("/one/grow")  # appends 5000 bytes in place: set() never ran
    assert response.code == 413
    assert "over the limit of 4096 bytes" in text(response)
    assert COOKIE not in set_cookies(response)
    assert client.jar[COOKIE] == kept
    assert text(await client.get("/one/read/list")) == "[]"


def test_a_cookie_store_needs_an_encrypting_codec():
    with pytest.raises(ValueError, match="encrypting codec"):
        Config(store=CookieStore())
    with pytest.raises(ValueError, match="encrypting codec"):
        SessionManager(store=CookieStore(), codec=PlainCodec())


@pytest.mark.gen_test
async def test_the_store_keeps_nothing_on_the_server():
    store = CookieStore()
    assert await store.load(NS, "A" * 43) is None
    assert await store.destroy(NS, "A" * 43) is False


@pytest.mark.gen_test
async def test_payload_round_trip():
    store = CookieStore()
    meta = Meta(created=1_800_000_000.25, touched=1_800_000_100.5, expires_at=1_800_001_900.5, user="ann")
    record = Record({"v:name": '"iris"', "f:notice": '"hi"'}, meta)
    session_id, opened = await opened_payload(store, store.payload(NS, "S" * 43, record))
    assert session_id == "S" * 43
    assert opened == record


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[]",
        '"a string"',
        '{"ns": "test", "id": "short", "meta": [1, 1, null, null, null], "fields": {}}',
        '{"ns": "test", "id": "%s", "meta": [1, 1, null, null], "fields": {}}' % ("S" * 43),
        '{"ns": "test", "id": "%s", "meta": [1.5, 1, null, null, null], "fields": {}}' % ("S" * 43),
        '{"ns": "test", "id": "%s", "meta": [null, 1, null, null, null], "fields": {}}' % ("S" * 43),
        '{"ns": "test", "id": "%s", "meta": [1, null, null, null, null], "fields": {}}' % ("S" * 43),
        '{"ns": "test", "id": "%s", "meta": [1, 1, 2.5, null, null], "fields": {}}' % ("S" * 43),
        '{"ns": "test", "id": "%s", "meta": [1, 1, null, null, 7], "fields": {}}' % ("S" * 43),
        '{"ns": "test", "id": "%s", "meta": [1, 1, null, null, null], "fields": {"v:a": 1}}' % ("S" * 43),
        '{"ns": "test", "id": "%s", "meta": [1, 1, null, null, null], "fields": []}' % ("S" * 43),
        '{"ns": "test", "id": "%s", "meta": "abcde", "fields": {}}' % ("S" * 43),
        '{"ns": "test", "meta": [1, 1, null, null, null], "fields": {}}',
        '{"id": "%s", "meta": [1, 1, null, null, null], "fields": {}}'
        % ("S" * 43),  # made before it named its namespace
        '{"ns": 7, "id": "%s", "meta": [1, 1, null, null, null], "fields": {}}' % ("S" * 43),
    ],
)
async def test_a_malformed_payload_is_no_session(payload):
    assert await CookieStore().open(NS, payload) is None


@pytest.mark.gen_test
async def test_a_payload_opened_twice_gives_the_same_record_each_time_however_the_first_was_edited():
    """What ``open`` hands out is the caller's to edit: the next ``open`` of the same text is unchanged."""
    store = CookieStore()
    meta = Meta(created=1_800_000_000.25, touched=1_800_000_100.5, expires_at=1_800_001_900.5, user="ann")
    payload = store.payload(NS, "S" * 43, Record({"v:name": '"iris"'}, meta))
    _, first = await opened_payload(store, payload)
    first.fields["v:name"] = '"edited"'
    first.meta.touched = 0.0
    first.meta.user = None
    session_id, second = await opened_payload(store, payload)
    assert session_id == "S" * 43 == store.session_id(payload)
    assert second == Record({"v:name": '"iris"'}, meta)


times = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@given(
    session_id=st.from_regex(r"[A-Za-z0-9_-]{43,128}", fullmatch=True),
    fields=st.dictionaries(st.text(), st.text()),
    times=st.tuples(times, times, st.none() | times, st.none() | times),
    user=st.none() | st.text(),
)
def test_the_payload_is_the_compact_json_of_the_record(session_id, fields, times, user):
    """``payload`` spells its JSON out by hand: it must be exactly what the json module writes, and parse back."""
    created, touched, deadline, expires_at = times
    record = Record(fields, Meta(created, touched, deadline, expires_at, user=user))
    payload = CookieStore().payload(NS, session_id, record)
    millis = [None if t is None else round(t * 1000) for t in times]
    expected = {"ns": NS, "id": session_id, "meta": [*millis, user], "fields": fields}
    assert payload == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    assert CookieStore().session_id(payload) == session_id
