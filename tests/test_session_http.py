"""The Session API and the manager's request life cycle, over real HTTP.

Every value crosses a real save and a real load between requests, so these
tests check what a handler sees on the *next* request, not only in memory.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from sessions import SessionManager
from tests.support.api_app import CountingMemoryStore, make_api_app
from tests.support.cookie_client import CookieClient, set_cookies, text

COOKIE = "api"
NS = COOKIE  # each manager keeps its sessions in the namespace of its cookie name
HOUR = 3600


@pytest.fixture
def store(clock):
    return CountingMemoryStore(clock=clock)


@pytest.fixture
def manager(store, clock, request):
    options = getattr(request, "param", {})  # tests override config through indirect parametrization
    return SessionManager(
        cookie_name=COOKIE,
        store=store,
        clock=clock,
        expires=timedelta(hours=1),
        idle_timeout=timedelta(minutes=30),
        absolute_timeout=timedelta(hours=8),
        **options,
    )


@pytest.fixture
def app(manager):
    return make_api_app(manager)


async def post_json(client: CookieClient, path: str, value) -> dict[str, Any]:
    response = await client.fetch(path, method="POST", body=json.dumps(value))
    return json.loads(response.body)


async def get_json(client: CookieClient, path: str):
    return json.loads((await client.get(path)).body)


JSON_VALUES = {
    "none": None,
    "true": True,
    "false": False,
    "int": 42,
    "negative": -7,
    "big": 2**70,
    "float": 0.1,
    "whole_float": 2.0,
    "string": "iris",
    "unicode": "héllo ✓",
    "empty": "",
    "list": [1, "two", None, [3.5]],
    "dict": {"a": {"b": [True]}},
    "empty_list": [],
    "empty_dict": {},
}


@pytest.mark.gen_test
async def test_every_json_type_reads_back_with_its_type_on_the_next_request(client):
    for key, value in JSON_VALUES.items():
        assert await post_json(client, f"/values/{key}", value) == {"ok": True}
    body = await get_json(client, "/values")
    assert body["is_new"] is False
    assert body["len"] == len(JSON_VALUES)
    for key, value in JSON_VALUES.items():
        assert body["values"][key] == [value, type(value).__name__]


@pytest.mark.gen_test
async def test_typed_getters_read_stored_values_across_requests(client):
    await post_json(client, "/values/n", "5")
    await post_json(client, "/values/pi", "0.1")
    await post_json(client, "/values/flag", "true")
    assert await get_json(client, "/typed/get_int/n") == {"value": 5}
    assert await get_json(client, "/typed/get_float64/pi") == {"value": 0.1}
    assert await get_json(client, "/typed/get_boolean/flag") == {"value": True}
    assert await get_json(client, "/typed/get_int/pi") == {"error": "ConversionError"}
    assert await get_json(client, "/typed/get_string/nope") == {"error": "SessionKeyError"}


@pytest.mark.gen_test
async def test_a_bad_value_is_refused_at_set_time_with_the_key_named(client, store):
    body = await post_json(client, "/values/ok", "fine")
    response = await client.fetch("/values/when", method="POST", body="1e999")  # inf is not JSON
    error = json.loads(response.body)
    assert error["error"] == "TypeError"
    assert "'when'" in error["message"]
    assert body == {"ok": True}
    assert (await get_json(client, "/values"))["values"] == {"ok": ["fine", "str"]}


@pytest.mark.gen_test
async def test_delete_tells_whether_the_key_existed(client):
    await post_json(client, "/values/name", "iris")
    assert json.loads((await client.fetch("/values/name", method="DELETE")).body) == {"existed": True}
    assert json.loads((await client.fetch("/values/name", method="DELETE")).body) == {"existed": False}
    assert (await get_json(client, "/values"))["values"] == {}


@pytest.mark.gen_test
async def test_clear_removes_every_value(client):
    await post_json(client, "/values/a", 1)
    await post_json(client, "/values/b", 2)
    await client.fetch("/clear", method="POST", body="")
    assert (await get_json(client, "/values"))["len"] == 0


@pytest.mark.gen_test
async def test_increment_and_decrement(client):
    assert json.loads((await client.fetch("/decrement/missing?n=3", method="POST", body="")).body) == {"value": -3}
    assert json.loads((await client.fetch("/increment/count", method="POST", body="")).body) == {"value": 1}
    assert json.loads((await client.fetch("/increment/count?n=5", method="POST", body="")).body) == {"value": 6}
    await post_json(client, "/values/text", "10")
    assert json.loads((await client.fetch("/increment/text", method="POST", body="")).body) == {"value": 11}
    await post_json(client, "/values/word", "abc")
    assert json.loads((await client.fetch("/increment/word?n=2", method="POST", body="")).body) == {"value": 2}
    values = (await get_json(client, "/values"))["values"]
    assert values["count"] == [6, "int"]
    assert values["missing"] == [-3, "int"]
    assert values["text"] == [11, "int"]


@pytest.mark.gen_test
async def test_visit_and_python_protocols(client):
    await post_json(client, "/values/x", 1)
    await post_json(client, "/values/y", [2])
    assert await get_json(client, "/visit") == [["x", 1], ["y", [2]]]
    body = await get_json(client, "/python")
    assert body == {
        "contains_b": True,
        "contains_a": False,
        "len": 3,
        "keys": ["x", "y", "b"],
        "b": "two",
        "missing": "SessionKeyError",
    }


@pytest.mark.gen_test
async def test_set_immutable_refuses_set_and_get_returns_a_copy(client):
    record = [{"Name": "Edward"}, {"Name": "value 2"}]
    response = await client.fetch("/values/business?immutable=1", method="POST", body=json.dumps(record))
    assert json.loads(response.body) == {"ok": True}
    body = await get_json(client, "/immutable-mutate/business")
    assert body == {"refused": "ImmutableKeyError", "now": record}
    refused = await post_json(client, "/values/business", "overwrite")
    assert refused["error"] == "ImmutableKeyError"
    response = await client.fetch("/values/business?immutable=1", method="POST", body=json.dumps("replaced"))
    assert json.loads(response.body) == {"ok": True}
    assert (await get_json(client, "/values"))["values"]["business"] == ["replaced", "str"]


@pytest.mark.gen_test
async def test_a_mutated_list_from_get_is_saved(client):
    await post_json(client, "/values/cart", ["apple"])
    assert await get_json(client, "/mutate/cart") == {"same_object": True}
    assert (await get_json(client, "/values"))["values"]["cart"] == [["apple", "more"], "list"]


@pytest.mark.gen_test
async def test_starting_twice_in_one_request_gives_the_same_session(client):
    assert await get_json(client, "/double-start") == {"same": True, "value": "value", "property": True}


@pytest.mark.gen_test
@pytest.mark.parametrize(
    ("path", "via"), [("/redirect-set", "redirect"), ("/finish-set", "finish"), ("/slow-set", "async")]
)
async def test_changes_are_saved_before_the_response_leaves(client, path, via):
    response = await client.get(path)
    assert COOKIE in set_cookies(response)
    if via == "redirect":
        assert response.code == 302
        assert response.headers["Location"] == "/values"
    # The very next request (the browser following the redirect) sees the write.
    assert (await get_json(client, "/values"))["values"]["via"] == [via, "str"]


@pytest.mark.gen_test
async def test_a_handler_that_never_touches_the_session_costs_no_store_round_trip(client, store):
    await post_json(client, "/values/a", 1)
    loads, saves = store.loads, store.saves
    for _ in range(3):
        response = await client.get("/untouched")
        assert text(response) == "ok"
        assert "Set-Cookie" not in response.headers
    assert (store.loads, store.saves) == (loads, saves)


@pytest.mark.gen_test
async def test_one_load_one_save_per_request_and_no_save_when_nothing_changed(client, store):
    await post_json(client, "/values/a", 1)
    loads, saves = store.loads, store.saves
    await post_json(client, "/values/b", 2)
    assert (store.loads - loads, store.saves - saves) == (1, 1)
    response = await client.get("/values")
    assert (store.loads - loads, store.saves - saves) == (2, 1)
    assert "Set-Cookie" not in response.headers  # the cookie is sent only when it changes


@pytest.mark.gen_test
async def test_reading_an_empty_session_creates_nothing(client, store):
    body = await get_json(client, "/values")
    assert body["is_new"] is True
    assert client.jar == {}
    assert len(store) == 0
    assert store.saves == 0


@pytest.mark.gen_test
async def test_regenerate_keeps_data_and_kills_the_old_id(client, other_client, store):
    await post_json(client, "/values/name", "iris")
    old = client.jar[COOKIE]
    response = await client.fetch("/lifecycle/regenerate", method="POST", body="")
    new = json.loads(response.body)["id"]
    assert client.jar[COOKIE] == new != old
    assert (await get_json(client, "/values"))["values"] == {"name": ["iris", "str"]}
    assert await store.load(NS, old) is None
    other_client.jar[COOKIE] = old
    assert (await get_json(other_client, "/values"))["len"] == 0


@pytest.mark.gen_test
async def test_destroy_then_start_in_one_request_gives_a_fresh_session(client, store):
    await post_json(client, "/values/name", "iris")
    old = client.jar[COOKIE]
    response = await client.fetch("/lifecycle/destroy-then-start", method="POST", body="")
    assert json.loads(response.body) == {"is_new": True}
    assert client.jar[COOKIE] != old
    assert (await get_json(client, "/values"))["values"] == {"fresh": [True, "bool"]}
    assert len(store) == 1


@pytest.mark.gen_test
async def test_destroy_listeners_hear_of_destroyed_sessions(client, manager):
    heard: list[str] = []
    manager.on_destroy(heard.append)
    await post_json(client, "/values/name", "iris")
    sid = client.jar[COOKIE]
    await client.fetch("/lifecycle/destroy", method="POST", body="")
    assert heard == [sid]
    assert COOKIE not in client.jar


@pytest.mark.gen_test
async def test_expires_sets_the_cookie_max_age_and_the_server_deadline(client, clock):
    response = await client.fetch("/values/a", method="POST", body="1")
    header = set_cookies(response)[COOKIE]
    assert "Max-Age=3600" in header
    info = await get_json(client, "/lifecycle/info")
    assert info["expires_at"] == pytest.approx(clock.now + 30 * 60)  # the idle timeout comes first


@pytest.mark.gen_test
async def test_idle_timeout_expires_an_untouched_session(client, clock, store):
    await post_json(client, "/values/a", 1)
    clock.advance(29 * 60)
    assert (await get_json(client, "/values"))["len"] == 1  # activity: touched, idle window slides
    clock.advance(29 * 60)
    assert (await get_json(client, "/values"))["len"] == 1
    clock.advance(31 * 60)
    body = await get_json(client, "/values")
    assert body["len"] == 0
    assert body["is_new"] is True
    assert len(store) == 0


@pytest.mark.gen_test
async def test_expiry_from_expires_is_absolute_unless_shifted(client, clock):
    await post_json(client, "/values/a", 1)
    for _ in range(3):  # active every 20 minutes, but `expires` is 1 hour from creation
        clock.advance(20 * 60)
        await get_json(client, "/values")
    assert (await get_json(client, "/values"))["len"] == 0


@pytest.mark.gen_test
async def test_update_expiration_moves_the_server_deadline_and_the_cookie(client, clock, manager):
    await post_json(client, "/values/a", 1)
    clock.advance(25 * 60)
    await get_json(client, "/values")  # active, so the idle timeout does not end it
    clock.advance(25 * 60)
    response = await client.fetch("/lifecycle/update?seconds=7200", method="POST", body="")
    assert "Max-Age=7200" in set_cookies(response)[COOKIE]
    clock.advance(20 * 60)  # past the original hour
    assert (await get_json(client, "/values"))["len"] == 1
    response = await client.fetch("/lifecycle/shift", method="POST", body="")
    assert "Max-Age=3600" in set_cookies(response)[COOKIE]


async def stay_active_for(client, clock, seconds: int) -> None:
    """Extend the session every 15 minutes, as a busy user with "remember me" would."""
    for _ in range(seconds // (15 * 60)):
        clock.advance(15 * 60)
        await client.fetch("/lifecycle/update?seconds=7200", method="POST", body="")


@pytest.mark.gen_test
async def test_absolute_timeout_is_never_extended(client, clock):
    await post_json(client, "/values/a", 1)
    await stay_active_for(client, clock, 7 * HOUR + 45 * 60)
    assert (await get_json(client, "/values"))["len"] == 1
    await stay_active_for(client, clock, 15 * 60)  # 8 hours since creation
    assert (await get_json(client, "/values"))["len"] == 0


@pytest.mark.gen_test
async def test_cookie_max_age_never_outlives_the_absolute_timeout(client, clock):
    await post_json(client, "/values/a", 1)
    await stay_active_for(client, clock, 7 * HOUR + 15 * 60)
    clock.advance(5 * 60)
    response = await client.fetch("/lifecycle/update?seconds=7200", method="POST", body="")
    assert "Max-Age=2400" in set_cookies(response)[COOKIE]  # 40 minutes left of the 8 hours


@pytest.mark.gen_test
async def test_update_expiration_without_a_session_is_an_error_not_a_new_session(client, store):
    response = await client.fetch("/lifecycle/update?seconds=60", method="POST", body="")
    assert response.code == 404
    assert text(response) == "session not found"
    assert len(store) == 0
    assert client.jar == {}


@pytest.mark.gen_test
async def test_no_clear_site_data_on_destroy_by_default(client):
    await post_json(client, "/values/a", 1)
    response = await client.fetch("/lifecycle/destroy", method="POST", body="")
    assert "Clear-Site-Data" not in response.headers


@pytest.mark.gen_test
@pytest.mark.parametrize("manager", [{"clear_site_data": True}], indirect=True)
async def test_clear_site_data_is_sent_on_destroy_when_configured(client, manager):
    await post_json(client, "/values/a", 1)
    response = await client.fetch("/lifecycle/destroy", method="POST", body="")
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
