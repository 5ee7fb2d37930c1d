"""One store, five managers: an ID one manager issued opens nothing under another.

Every step of the app keeps its sessions in the same store; each manager works
in its own namespace (its cookie name). These tests replay, over real HTTP on
memory, SQLite and Redis, the cross-manager attacks that once worked: a database
step's ID logging in at ``/secret``, the securecookie step's raw ID skipping its
encrypted cookie, and IDs of one step crashing another's handlers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

import app as app_module
from sessions import EncryptedCodec, KeyRing, SessionManager, SessionStore
from sessions.ids import new_session_id
from sessions.record import Journal, Meta
from tests.support.cookie_client import CookieClient, text

SECRET = "the isolation tests' secret, 32 bytes or more"
pytestmark = pytest.mark.usefixtures("store")


@pytest.fixture
def store(any_store: SessionStore) -> SessionStore:
    return any_store


@pytest.fixture
def app(store, clock):
    return app_module.make_app(store=store, clock=clock, secrets=[SECRET])


def as_cookie(client: CookieClient, name: str, value: str) -> CookieClient:
    """The same browser presenting ``value`` under another cookie name (what an attacker can type)."""
    client.jar.clear()
    client.jar[name] = value
    return client


@pytest.mark.gen_test
async def test_a_database_session_does_not_log_in_at_secret(client: CookieClient):
    await client.get("/database/set/authenticated/true")
    database_id = client.jar["sessionscookieid"]

    response = await as_cookie(client, "mycookiesessionnameid", database_id).get("/secret")

    assert (response.code, text(response)) == (403, "Forbidden")


@pytest.mark.gen_test
async def test_the_securecookie_session_opens_only_through_its_encrypted_cookie(client: CookieClient, clock):
    await client.get("/securecookie/set")
    codec = EncryptedCodec(KeyRing([SECRET]), max_age=timedelta(hours=2), clock=clock)
    raw_id = codec.decode("mycustomsessionid", client.jar["mycustomsessionid"]).payload

    response = await as_cookie(client, "mysessionid", raw_id).get("/standalone/get")

    assert text(response) == "The name on the /set was: "


@pytest.mark.gen_test
async def test_a_standalone_id_at_the_database_step_is_a_fresh_session(client: CookieClient):
    await client.get("/standalone/set_immutable")
    standalone_id = client.jar["mysessionid"]

    response = await as_cookie(client, "sessionscookieid", standalone_id).get("/database/set/businessEdit/x")

    assert (response.code, text(response)) == (200, "All ok session value of the 'businessEdit' is: x")
    assert client.jar["sessionscookieid"] != standalone_id


@pytest.mark.gen_test
@pytest.mark.parametrize("route", ["/standalone/get_immutable", "/standalone/page"])
async def test_a_database_id_at_the_standalone_step_is_a_fresh_session(client: CookieClient, route: str):
    await client.get("/database/set/businessEdit/a-string")
    database_id = client.jar["sessionscookieid"]

    response = await as_cookie(client, "mysessionid", database_id).get(route)

    assert response.code == 200
    assert "a-string" not in text(response)  # the database session's value is not in this session
    if route.endswith("get_immutable"):
        assert "please navigate to" in text(response)


# -- the store interface: namespaces are disjoint -----------------------------------


def journal(user: str | None = None, **changes) -> Journal:
    now = 1_000.0
    return Journal(Meta(created=now, touched=now, expires_at=None, user=user), create=True, **changes)


@pytest.mark.gen_test
async def test_the_same_id_in_two_namespaces_is_two_records(store: SessionStore):
    session_id = new_session_id()
    await store.save("one", session_id, journal(sets={"v:who": '"one"'}))

    assert await store.load("two", session_id) is None
    await store.save("two", session_id, journal(sets={"v:who": '"two"'}))
    assert (await store.load("one", session_id)).fields == {"v:who": '"one"'}
    assert await store.destroy("two", session_id) is True
    assert (await store.load("one", session_id)).fields == {"v:who": '"one"'}


@pytest.mark.gen_test
async def test_destroy_all_and_destroy_user_reach_one_namespace(store: SessionStore):
    mine, theirs, their_user = new_session_id(), new_session_id(), new_session_id()
    await store.save("mine", mine, journal(user="ann"))
    await store.save("theirs", theirs, journal())
    await store.save("theirs", their_user, journal(user="ann"))

    assert await store.destroy_user("mine", "ann") == [mine]
    await store.destroy_all("mine")

    assert await store.load("theirs", theirs) is not None
    assert await store.load("theirs", their_user) is not None
    assert await store.destroy_user("theirs", "ann") == [their_user]


@pytest.mark.gen_test
async def test_log_out_everywhere_ends_the_users_sessions_of_this_manager_only(store: SessionStore, clock):
    overview = SessionManager(cookie_name="a", store=store, clock=clock)
    other = SessionManager(cookie_name="b", store=store, clock=clock)
    for manager in (overview, other):
        await store.save(manager.namespace, new_session_id(), journal(user="ann"))

    assert await overview.destroy_user("ann") == 1
    assert await other.destroy_user("ann") == 1  # still there: the first call did not reach it


def test_the_namespace_defaults_to_the_cookie_name_and_can_be_set():
    assert SessionManager(cookie_name="shop").namespace == "shop"
    assert SessionManager(cookie_name="shop", namespace="shop-v2").namespace == "shop-v2"
    with pytest.raises(ValueError, match="namespace"):
        SessionManager(namespace="has:colon")
