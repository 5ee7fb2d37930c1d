"""The flash step and the flash API over real HTTP: Iris's sequences, lifetime rules, levels, the page."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application

from app import make_app
from sessions import MemoryStore, SessionManager, SessionStore
from tests.conftest import STORE_KINDS, make_store
from tests.support.cookie_client import CookieClient, set_cookies, text
from tests.support.flash_probes import probe_routes

COOKIE = "myappsessionid"
NS = COOKIE  # each manager keeps its sessions in the namespace of its cookie name
SET_TEXT = "Message set, is available for the next request"
EMPTY = "Empty name!!"
TEST_TEXT = "Ok you are coming from /set ,the value of the name is iris, and again from the same context: iris"


@pytest.fixture
def app(store, clock):
    """The real app plus test-only probe routes on a manager of the step's cookie and store."""
    application = make_app(store=store, clock=clock)
    application.add_handlers(r".*", probe_routes(SessionManager(cookie_name=COOKIE, store=store, clock=clock)))
    return application


async def probe(client: CookieClient, operation: str, **query: Any) -> Any:
    response = await client.get(f"/probe/flash/{operation}?{urlencode(query, doseq=True)}")
    assert response.code == 200, text(response)
    return json.loads(response.body)


async def stored_fields(store: SessionStore, client: CookieClient) -> dict[str, str]:
    record = await store.load(NS, client.jar[COOKIE])
    assert record is not None
    return record.fields


def xsrf_field(page: str) -> str:
    match = re.search(r'name="_xsrf" value="([^"]+)"', page)
    assert match, "the form carries no _xsrf field"
    return match.group(1)


async def page_token(client: CookieClient) -> str:
    """Load the page as a browser would, and take its form's ``_xsrf`` field (it shows, so consumes, messages)."""
    return xsrf_field(text(await client.get("/flash/")))


async def post_message(client: CookieClient, message: str, level: str = "info", token: str | None = None):
    """Submit the page's form with ``token``, or with the token of a freshly loaded page."""
    form = {"message": message, "level": level, "_xsrf": token or await page_token(client)}
    return await client.fetch("/flash/message", method="POST", body=urlencode(form))


def shown_messages(page: str) -> list[tuple[str, str]]:
    """The (level, message HTML) pairs the page lists."""
    return re.findall(r'<li class="flash flash-(\w+)"><strong>\w+:</strong> (.*?)</li>', page)


# -- Iris's sequences -----------------------------------------------------------


@pytest.mark.gen_test
async def test_set_then_get_reads_the_flash_once(client: CookieClient):
    response = await client.get("/flash/set")
    assert (response.code, text(response)) == (200, SET_TEXT)
    assert COOKIE in set_cookies(response)
    assert text(await client.get("/flash/get")) == "Hello iris"
    assert text(await client.get("/flash/get")) == EMPTY


@pytest.mark.gen_test
async def test_test_reads_the_flash_twice_in_one_request_then_it_is_gone(client: CookieClient):
    await client.get("/flash/set")
    assert text(await client.get("/flash/test")) == TEST_TEXT
    assert text(await client.get("/flash/get")) == EMPTY
    assert text(await client.get("/flash/test")) == EMPTY


@pytest.mark.gen_test
async def test_get_with_nothing_set_creates_no_session(client: CookieClient, store: MemoryStore):
    response = await client.get("/flash/get")
    assert (response.code, text(response)) == (200, EMPTY)
    assert "Set-Cookie" not in response.headers
    assert len(store) == 0


@pytest.mark.gen_test
async def test_set_twice_then_get_reads_it_once(client: CookieClient):
    await client.get("/flash/set")
    await client.get("/flash/set")
    assert text(await client.get("/flash/get")) == "Hello iris"
    assert text(await client.get("/flash/get")) == EMPTY


@pytest.mark.gen_test
async def test_responses_are_plain_text(client: CookieClient):
    response = await client.get("/flash/set")
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"


# -- persistence ------------------------------------------------------------------


@pytest.mark.gen_test
async def test_flashes_are_saved_in_the_store_with_the_session(client: CookieClient, store: MemoryStore):
    await client.get("/flash/set")
    assert (await stored_fields(store, client))["f:name"] == '"iris"'

    await client.get("/flash/get")
    assert "f:name" not in await stored_fields(store, client)


@pytest.fixture(params=STORE_KINDS)
def open_shared_store(request, clock, tmp_path) -> Callable[[], SessionStore]:
    """Open the store a second app instance would open on the same backend.

    SQLite and Redis give a new store object on the same data each call (the
    same file, the same server), as a second process would. Memory can only be
    shared by instances in one process, through one object.
    """
    if request.param == "memory":
        shared = MemoryStore(clock=clock)
        return lambda: shared
    return lambda: make_store(request.param, clock, tmp_path, request)


@asynccontextmanager
async def serving(application: Application) -> AsyncIterator[str]:
    """Serve an app instance on its own port; yield its base URL."""
    sock, port = bind_unused_port()
    server = HTTPServer(application)
    server.add_sockets([sock])
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        await server.close_all_connections()
        await application.settings["session_store"].close()


@pytest.mark.gen_test(timeout=30)  # on a Redis Cluster each store opens connections to every node: seconds under load
async def test_a_flash_set_in_one_app_instance_is_read_in_another(open_shared_store, http_client, clock):
    first_app = make_app(store=open_shared_store(), clock=clock)
    second_app = make_app(store=open_shared_store(), clock=clock)
    async with serving(first_app) as first_url, serving(second_app) as second_url:
        on_first = CookieClient(http_client, first_url)
        on_second = CookieClient(http_client, second_url, jar=on_first.jar)  # one browser, two instances

        await on_first.get("/flash/set")
        assert text(await on_second.get("/flash/get")) == "Hello iris"
        assert text(await on_first.get("/flash/get")) == EMPTY

        assert (await post_message(on_first, "Saved on the first instance.", "success")).code == 302
        assert shown_messages(text(await on_second.get("/flash/"))) == [("success", "Saved on the first instance.")]
        assert shown_messages(text(await on_first.get("/flash/"))) == []


# -- the rest of the API ------------------------------------------------------------


@pytest.mark.gen_test
async def test_get_flashes_returns_every_flash_then_none(client: CookieClient):
    await probe(client, "set_flash", key="a", value="one")
    await probe(client, "set_flash", key="b", value="two")
    await probe(client, "flash", level="warning", message="Careful.")

    flashes = await probe(client, "get_flashes")
    leveled = {key: value for key, value in flashes.items() if key.startswith("@")}
    assert {key: flashes[key] for key in ("a", "b")} == {"a": "one", "b": "two"}
    assert list(leveled.values()) == [{"level": "warning", "message": "Careful."}]
    assert len(flashes) == 3

    assert await probe(client, "get_flashes") == {}
    assert await probe(client, "messages") == []


@pytest.mark.gen_test
async def test_peek_flash_does_not_consume(client: CookieClient):
    await client.get("/flash/set")
    assert await probe(client, "peek", key="name") == "iris"
    assert await probe(client, "peek", key="name") == "iris"
    assert await probe(client, "has") is True
    assert text(await client.get("/flash/get")) == "Hello iris"
    assert await probe(client, "peek", key="name") is None
    assert await probe(client, "has") is False


@pytest.mark.gen_test
async def test_delete_flash_removes_one_flash(client: CookieClient):
    await client.get("/flash/set")
    await probe(client, "set_flash", key="other", value="kept")
    assert await probe(client, "delete", key="name") is True
    assert await probe(client, "delete", key="name") is False
    assert text(await client.get("/flash/get")) == EMPTY
    assert await probe(client, "get_flashes") == {"other": "kept"}


@pytest.mark.gen_test
async def test_clear_flashes_removes_both_styles(client: CookieClient):
    await client.get("/flash/set")
    await probe(client, "flash", level="info", message="Hello.")
    await probe(client, "clear_flashes")
    assert await probe(client, "has") is False
    assert await probe(client, "get_flashes") == {}
    assert shown_messages(text(await client.get("/flash/"))) == []


@pytest.mark.gen_test
async def test_levels_come_back_in_order_with_their_levels_then_are_gone(client: CookieClient):
    await probe(client, "flash", level=["warning", "info", "error"], message=["w", "i", "e"])
    await probe(client, "flash", level=["success", "debug"], message=["s", "d"])
    expected = [["warning", "w"], ["info", "i"], ["error", "e"], ["success", "s"], ["debug", "d"]]
    assert await probe(client, "messages") == expected
    assert await probe(client, "messages") == []


@pytest.mark.gen_test
async def test_set_flash_on_a_consumed_key_replaces_it_and_its_consumed_mark(client: CookieClient):
    await client.get("/flash/set")
    assert await probe(client, "get_then_set", key="name", value="tornado") == "iris"
    assert text(await client.get("/flash/get")) == "Hello tornado"
    assert text(await client.get("/flash/get")) == EMPTY


@pytest.mark.gen_test
async def test_starting_the_session_twice_does_not_consume_early(client: CookieClient):
    await client.get("/flash/set")
    assert await probe(client, "start_twice", key="name") == ["iris", "iris"]
    assert text(await client.get("/flash/get")) == EMPTY


@pytest.mark.gen_test
async def test_a_save_mid_request_keeps_a_read_flash_readable_until_the_request_ends(
    client: CookieClient, store: MemoryStore
):
    await client.get("/flash/set")
    assert await probe(client, "read_save_read", key="name") == ["iris", "iris", "iris", True]
    assert "f:name" not in await stored_fields(store, client)
    assert text(await client.get("/flash/get")) == EMPTY


@pytest.mark.gen_test
async def test_clear_of_values_keeps_flashes(client: CookieClient):
    await client.get("/flash/set")
    await probe(client, "set_value", key="colour", value="blue")
    await probe(client, "clear_values")
    assert await probe(client, "values") == {}
    assert text(await client.get("/flash/get")) == "Hello iris"


@pytest.mark.gen_test
async def test_destroy_removes_flashes(client: CookieClient, store: MemoryStore):
    await client.get("/flash/set")
    await probe(client, "flash", level="info", message="Never shown.")
    await probe(client, "destroy")
    assert COOKIE not in client.jar
    assert len(store) == 0
    assert text(await client.get("/flash/get")) == EMPTY
    assert shown_messages(text(await client.get("/flash/"))) == []


# -- the page and its form ------------------------------------------------------------


@pytest.mark.gen_test
async def test_the_index_lists_the_step(client: CookieClient):
    assert 'href="/flash/"' in text(await client.get("/"))


@pytest.mark.gen_test
async def test_the_page_for_a_new_visitor_creates_no_session(client: CookieClient, store: MemoryStore):
    response = await client.get("/flash/")
    assert response.code == 200
    assert "<form" in text(response)
    assert shown_messages(text(response)) == []
    assert COOKIE not in set_cookies(response)
    assert len(store) == 0


@pytest.mark.gen_test
async def test_form_post_redirects_then_the_page_shows_the_message_once(client: CookieClient):
    response = await post_message(client, "Profile saved.", "success")
    assert response.code == 302
    assert response.headers["Location"] == "/flash/"
    assert COOKIE in set_cookies(response)  # saved before the redirect left

    assert shown_messages(text(await client.get("/flash/"))) == [("success", "Profile saved.")]
    assert shown_messages(text(await client.get("/flash/"))) == []


@pytest.mark.gen_test
async def test_messages_posted_before_a_visit_are_shown_in_order(client: CookieClient):
    assert (await post_message(client, "zeroth", "info")).code == 302  # creates the session
    token = await page_token(client)  # the session's token: it stays valid for every post below
    for message, level in [("first", "error"), ("second", "debug"), ("third", "warning")]:
        assert (await post_message(client, message, level, token)).code == 302
    page = text(await client.get("/flash/"))
    assert shown_messages(page) == [("error", "first"), ("debug", "second"), ("warning", "third")]


@pytest.mark.gen_test
async def test_a_hostile_message_is_escaped_in_the_page(client: CookieClient):
    hostile = '<script>alert("owned")</script><img src=x onerror=alert(1)>'
    await post_message(client, hostile, "info")
    page = text(await client.get("/flash/"))
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert shown_messages(page) == [
        ("info", "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;")
    ]


@pytest.mark.gen_test
async def test_a_post_without_the_xsrf_token_is_refused(client: CookieClient, store: MemoryStore):
    await page_token(client)  # the browser holds an _xsrf cookie; the forged form lacks the field
    assert "_xsrf" in client.jar
    body = urlencode({"message": "Forged.", "level": "error"})
    response = await client.fetch("/flash/message", method="POST", body=body)
    assert response.code == 403
    assert len(store) == 0
    assert shown_messages(text(await client.get("/flash/"))) == []


@pytest.mark.gen_test
@pytest.mark.parametrize(
    ("message", "level", "says"),
    [
        ("Hi.", "critical", "level must be one of debug, info, success, warning, error"),
        ("   ", "info", "the message is empty"),
        ("x" * 501, "info", "the message is longer than 500 characters"),
    ],
)
async def test_a_bad_form_is_a_clear_400_and_flashes_nothing(client: CookieClient, store, message, level, says):
    response = await post_message(client, message, level)
    assert (response.code, text(response)) == (400, f"Bad Request: {says}")
    assert len(store) == 0
