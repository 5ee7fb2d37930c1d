"""The complete app of docs/using-sessions.md, run as the page shows it, over real HTTP.

The page's code blocks are written to files and imported: log in (with a new
session ID), ``current_user`` and ``@authenticated``, a cart counter, a flash
after the login, the app's own JSON ``write_error`` (for a store outage at the
load and at the save too), log out; on the memory, SQLite and Redis stores.
Then the page's two-process recipe runs as a real forked server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest
from tornado.httpclient import HTTPResponse

from sessions import MemoryStore, SQLiteStore, StoreUnavailableError
from sessions.errors import STORE_UNAVAILABLE_TEXT
from sessions.stores.near_cache import NearCachedStore
from sessions.stores.redis import RedisStore
from tests.support.cookie_client import CookieClient
from tests.support.live_app import ROOT, free_port
from tests.support.redis_server import RedisServer

DOC = ROOT / "docs" / "using-sessions.md"
COOKIE = "shop_sid"
SECRET = "a test secret, never a production one"
PASSWORD = "let me in"


def example(name: str) -> str:
    """The ```python block after ``<!-- example: name -->`` in docs/using-sessions.md."""
    found = re.search(rf"<!-- example: {re.escape(name)} -->\n```python\n(.*?)```", DOC.read_text(), re.S)
    assert found, f"docs/using-sessions.md has no example {name}"
    return found[1]


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("examples")
    for name in ("shop_app.py", "forked_shop.py"):
        (folder / name).write_text(example(name))
    return folder


@pytest.fixture(scope="module")
def shop(examples: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("shop_app", examples / "shop_app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_password(name: str, password: str) -> bool:
    return password == PASSWORD


@pytest.fixture
def store(request, tmp_path, clock):
    kind = getattr(request, "param", "memory")
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "shop.sqlite3", busy_timeout=0.2)
    if kind == "redis":
        return request.getfixturevalue("redis_store")
    if kind == "own-redis":
        return NearCachedStore(RedisStore(request.getfixturevalue("own_redis").url))
    return MemoryStore()


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, so stopping it disturbs no other test."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(shop, store):
    return shop.make_app(store, SECRET, check_password)


def body(response: HTTPResponse) -> dict[str, Any]:
    assert response.headers["Content-Type"].startswith("application/json"), response.body
    return json.loads(response.body)


async def post(client: CookieClient, path: str, token: str, **fields: str) -> HTTPResponse:
    return await client.fetch(path, method="POST", body=urlencode({"_xsrf": token, **fields}))


async def log_in(client: CookieClient, name: str = "ada") -> HTTPResponse:
    token = body(await client.get("/login"))["xsrf"]
    return await post(client, "/login?next=/", token, name=name, password=PASSWORD)


async def home(client: CookieClient) -> dict[str, Any]:
    response = await client.get("/")
    assert response.code == 200, (response.code, response.body)
    return body(response)


@pytest.mark.gen_test
@pytest.mark.parametrize("store", ["memory", "sqlite", "redis"], indirect=True)
async def test_the_documented_app_logs_in_counts_flashes_and_logs_out(client: CookieClient, store):
    response = await client.get("/")
    assert (response.code, response.headers["Location"]) == (302, "/login?next=%2F")  # @authenticated

    token = body(await client.get("/login"))["xsrf"]
    refused = await post(client, "/login", token, name="ada", password="wrong")
    assert (refused.code, body(refused)) == (403, {"status": 403, "reason": "Wrong name or password"})

    response = await log_in(client)
    assert (response.code, response.headers["Location"]) == (302, "/")
    page = await home(client)
    assert (page["user"], page["cart"], page["messages"]) == ("ada", 0, ["Welcome, ada."])
    assert (await home(client))["messages"] == []  # a flash is read once

    for expected in (1, 2, 3):
        response = await post(client, "/cart", (await home(client))["xsrf"])
        assert body(response) == {"cart": expected}
    assert (await home(client))["cart"] == 3

    logged_in = client.jar[COOKIE]
    response = await post(client, "/logout", (await home(client))["xsrf"])
    assert (response.code, response.headers["Location"]) == (302, "/login")
    assert (await client.get("/")).code == 302
    client.jar[COOKIE] = logged_in  # the old cookie, replayed: the session is gone on the server
    assert (await client.get("/")).code == 302


@pytest.mark.gen_test
async def test_logging_in_gives_a_planted_session_id_a_new_one(client: CookieClient, other_client: CookieClient):
    """Session fixation: the attacker's own session ID, planted in the victim's browser, is worthless after login."""
    attacker, victim = client, other_client
    await log_in(attacker, "mallory")
    planted = attacker.jar[COOKIE]
    victim.jar[COOKIE] = planted
    await log_in(victim, "ada")
    assert victim.jar[COOKIE] != planted
    assert (await home(victim))["user"] == "ada"
    assert (await attacker.get("/")).code == 302  # the planted ID opens nothing now


@pytest.mark.gen_test
async def test_an_unauthenticated_post_is_a_json_403(client: CookieClient):
    token = body(await client.get("/login"))["xsrf"]
    response = await post(client, "/cart", token)
    assert (response.code, body(response)) == (403, {"status": 403, "reason": "Forbidden"})


# -- store outages answered by the app's own write_error ---------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("store", ["own-redis"], indirect=True)
async def test_a_store_outage_at_the_load_is_answered_in_the_apps_json(client: CookieClient, own_redis, store):
    await log_in(client)
    token = (await home(client))["xsrf"]
    own_redis.stop()
    try:
        for response in (await client.get("/"), await post(client, "/cart", token)):
            assert (response.code, body(response)) == (503, {"status": 503, "reason": STORE_UNAVAILABLE_TEXT})
    finally:
        await store.close()


@pytest.mark.gen_test
@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
async def test_a_store_outage_at_the_save_is_answered_in_the_apps_json(client: CookieClient, store, tmp_path, caplog):
    await log_in(client)
    token = (await home(client))["xsrf"]
    other_writer = sqlite3.connect(tmp_path / "shop.sqlite3", isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock: reads go on, saves fail
    try:
        response = await post(client, "/cart", token)
        assert (response.code, body(response)) == (503, {"status": 503, "reason": STORE_UNAVAILABLE_TEXT})
        assert "database is locked" in caplog.text  # the manager logged the outage, with its cause
    finally:
        other_writer.close()
    response = await post(client, "/cart", token)
    assert body(response) == {"cart": 1}  # nothing was counted during the outage
    await store.close()


def test_the_outage_errors_are_tornados_http_errors():
    from tornado.web import HTTPError

    from sessions import SessionTooLargeError

    outage, too_large = StoreUnavailableError("Redis at 127.0.0.1:1: refused"), SessionTooLargeError(70_000, 65_536)
    assert isinstance(outage, HTTPError)
    assert (outage.status_code, outage.reason) == (503, STORE_UNAVAILABLE_TEXT)
    assert str(outage) == "Redis at 127.0.0.1:1: refused"
    assert outage.log_message is None
    assert isinstance(too_large, HTTPError)
    assert too_large.status_code == 413
    assert too_large.reason == "Payload Too Large: session is 70000 bytes, over the limit of 65536 bytes"


# -- the documented recipe for several processes ---------------------------------------------


def test_the_documented_fork_recipe_serves_one_session_from_two_processes(examples: Path, tmp_path: Path):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(examples / "forked_shop.py"), str(port), str(tmp_path / "shop.sqlite3"), SECRET],
        cwd=examples,
        env={**os.environ, "PYTHONPATH": f"{examples}{os.pathsep}{ROOT}"},
        start_new_session=True,  # its own process group: the children are stopped with the parent
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        browser = SyncBrowser(f"http://127.0.0.1:{port}")
        browser.wait_until_serving(server)
        token = browser.json("/login")["xsrf"]
        browser.post("/login", token, name="ada", password=PASSWORD)
        token = browser.json("/")["xsrf"]
        counts = [browser.post("/cart", token)["cart"] for _ in range(40)]  # each on a new connection
        assert counts == list(range(1, 41))
        assert browser.json("/")["cart"] == 40
        children = [int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
        assert len(children) == 2

        # The store is built in each child after the fork and opens the file at its first request: a child
        # that served holds it open, the parent never does. Which child the kernel hands each connection to
        # is its choice (one child may take all 40), so "both served" would be a test of the scheduler.
        def has_file_open(pid: int) -> bool:
            database = str(tmp_path / "shop.sqlite3")
            return any(str(link.readlink()) == database for link in Path(f"/proc/{pid}/fd").iterdir())

        assert any(has_file_open(child) for child in children)
        assert not has_file_open(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the group this test started: the parent and its two children
        server.wait(timeout=30)


class SyncBrowser:
    """urllib with a cookie jar, not following redirects: a new connection per request."""

    def __init__(self, base_url: str) -> None:
        import http.cookiejar

        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        no_redirects = type("NoRedirects", (urllib.request.HTTPRedirectHandler,), {"redirect_request": _no_redirect})
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), no_redirects)

    def wait_until_serving(self, server: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                self.json("/login")
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the forked example did not start serving")

    def open(self, path: str, data: bytes | None = None) -> tuple[int, bytes, dict[str, str]]:
        try:
            with self.opener.open(self.base_url + path, data=data, timeout=30) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    def json(self, path: str) -> dict[str, Any]:
        status, content, _ = self.open(path)
        assert status == 200, (status, content)
        return json.loads(content)

    def post(self, path: str, token: str, **fields: str) -> dict[str, Any]:
        status, content, _ = self.open(path, urlencode({"_xsrf": token, **fields}).encode())
        assert status in (200, 302), (status, content)
        return json.loads(content) if status == 200 else {}


def _no_redirect(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN202
    return None
