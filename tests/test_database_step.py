"""The database step (Iris's Redis example) over real HTTP, on each of the three stores."""

from __future__ import annotations

import pytest

from sessions import SessionStore
from tests.support.cookie_client import CookieClient, set_cookies, text

COOKIE = "sessionscookieid"
NS = COOKIE  # each manager keeps its sessions in the namespace of its cookie name
pytestmark = pytest.mark.usefixtures("store")  # the app fixture is looked up late: parametrize it here


@pytest.fixture
def store(any_store: SessionStore) -> SessionStore:
    return any_store


async def body(client: CookieClient, route: str) -> tuple[int, str]:
    response = await client.get("/database" + route)
    return response.code, text(response)


@pytest.mark.gen_test
async def test_walkthrough_with_iris_texts(client: CookieClient):
    assert await body(client, "/") == (200, "You should navigate to the /set, /get, /delete, /clear,/destroy instead")
    assert await body(client, "/set") == (200, "All ok session value of the 'name' is: iris")
    assert await body(client, "/get") == (200, "The 'name' on the /set was: iris")
    assert await body(client, "/set/city/Athens") == (200, "All ok session value of the 'city' is: Athens")
    assert await body(client, "/get/city") == (200, "The 'city' on the /set was: Athens")
    assert await body(client, "/set/int/age/27") == (200, "All ok session value of the 'age' is: 27")
    assert await body(client, "/get/age") == (200, "The 'age' on the /set was: 27")
    assert await body(client, "/get/missing") == (200, "The 'missing' on the /set was: None")
    assert await body(client, "/update") == (200, "")
    assert await body(client, "/delete") == (200, "")
    assert await body(client, "/get") == (200, "The 'name' on the /set was: ")
    assert await body(client, "/clear") == (200, "")
    assert await body(client, "/get/city") == (200, "The 'city' on the /set was: None")
    assert await body(client, "/destroy") == (200, "")
    assert COOKIE not in client.jar
    assert await body(client, "/update") == (404, "session not found")


@pytest.mark.gen_test
async def test_an_increment_past_2_to_the_53_answers_the_exact_number(client: CookieClient, caplog):
    """2^53 + 1 is the first integer a double (Lua's number, in Redis scripts) cannot hold."""
    assert await body(client, "/set/int/n/9007199254740993") == (
        200,
        "All ok session value of the 'n' is: 9007199254740993",
    )
    assert await body(client, "/increment/n") == (200, "The 'n' is now: 9007199254740994")
    assert await body(client, "/get/n") == (200, "The 'n' on the /set was: 9007199254740994")
    assert "unavailable" not in caplog.text  # never a false outage


@pytest.mark.gen_test
async def test_set_int_stores_an_int_that_reads_back_as_an_int(client: CookieClient, store):
    await client.get("/database/set/int/age/-27")
    await client.get("/database/set/label/27")

    record = await store.load(NS, client.jar[COOKIE])
    assert record.fields["v:age"] == "-27"  # a JSON int, not Redis's float64 or a string
    assert record.fields["v:label"] == '"27"'


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "value",
    ["abc", "4.5", "1e3", "99999999999999999999", "9" * 4301],  # the last: more digits than Python's int() takes
    ids=lambda value: value if len(value) < 30 else f"{len(value)}-digits",
)
async def test_set_int_refuses_a_non_integer_with_400(client: CookieClient, value):
    response = await client.get(f"/database/set/int/age/{value}")
    assert response.code == 400
    assert text(response) == f"Bad Request: the value '{value}' is not a 64-bit integer (use digits, like 42 or -7)"
    assert "Set-Cookie" not in response.headers  # no session was started for it


@pytest.mark.gen_test
async def test_the_session_lasts_45_minutes_and_update_moves_the_store_and_the_cookie(client, store, clock):
    response = await client.get("/database/set")
    session_id = client.jar[COOKIE]
    assert "Max-Age=2700" in set_cookies(response)[COOKIE]
    assert (await store.load(NS, session_id)).meta.expires_at == pytest.approx(clock() + 2700)

    clock.advance(30 * 60)
    response = await client.get("/database/update")
    assert "Max-Age=2700" in set_cookies(response)[COOKIE]
    assert (await store.load(NS, session_id)).meta.expires_at == pytest.approx(clock() + 2700)

    clock.advance(30 * 60)  # 60 minutes after creation, 30 after the update
    assert await body(client, "/get") == (200, "The 'name' on the /set was: iris")
    clock.advance(16 * 60)
    assert await body(client, "/get") == (200, "The 'name' on the /set was: ")
    assert await store.load(NS, session_id) is None


@pytest.mark.gen_test
async def test_destroy_removes_the_session_from_the_store(client: CookieClient, other_client, store):
    await client.get("/database/set")
    session_id = client.jar[COOKIE]

    response = await client.get("/database/destroy")
    assert "Max-Age=0" in set_cookies(response)[COOKIE]
    assert await store.load(NS, session_id) is None
    other_client.jar[COOKIE] = session_id
    assert await body(other_client, "/get") == (200, "The 'name' on the /set was: ")
