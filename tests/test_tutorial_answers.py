"""What the tutorial layer adds around a step's handlers, over real HTTP: a browser's view, curl's bytes.

A browser that opens a plain-text route gets the answer in a small page with a
way back; ``curl`` keeps Iris's answer. A page's button reports what the
handler wrote (how many sessions "log out everywhere" ended), a refused form
comes back with what was typed, the report's cookie stays under a browser's
4 KB whatever was posted, and a request target without ``/`` is a clean 404.
"""

from __future__ import annotations

import html
import logging

import pytest
from tornado.tcpclient import TCPClient

from app import make_app
from handlers.tutorial.last_action import COOKIE_NAME
from sessions.stores.redis import RedisStore
from tests.support.cookie_client import CookieClient, set_cookies, text
from tests.support.live_app import free_port
from tests.support.tutorial_requests import BROWSER, CURL, post_as_browser, report_in

# -- a plain-text route opened in a browser ---------------------------------------------------


@pytest.mark.gen_test
async def test_login_typed_into_a_browser_logs_in_and_shows_a_small_page(client: CookieClient):
    response = await client.get("/login", headers=BROWSER)
    assert response.code == 200
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    page = text(response)
    assert "<code>GET /login</code> answered" in page
    assert "Its answer is empty" in page
    assert 'href="/overview" data-way-back' in page
    assert text(await client.get("/secret")) == "The cake is a lie!"  # it did log in


@pytest.mark.gen_test
async def test_curl_keeps_irises_empty_answer(client: CookieClient):
    response = await client.get("/login", headers=CURL)
    assert (response.code, response.body, response.headers["Content-Type"]) == (200, b"", "text/plain; charset=UTF-8")


@pytest.mark.gen_test
@pytest.mark.parametrize(
    ("path", "answer", "way_back"),
    [
        ("/flash/get", "Empty name!!", "/flash/"),
        ("/standalone/get", "The name on the /set was: ", "/standalone/page"),
        ("/database/get", "The 'name' on the /set was: ", "/database/page"),
        (
            "/securecookie/",
            "You should navigate to the /set, /get, /delete, /clear,/destroy instead",
            "/securecookie/page",
        ),
    ],
)
async def test_the_routes_the_pages_link_answer_a_browser_in_a_page(client: CookieClient, path, answer, way_back):
    page = text(await client.get(path, headers=BROWSER))
    assert f"<pre data-plain-answer>{html.escape(answer)}</pre>" in page
    assert f'href="{way_back}" data-way-back' in page
    assert text(await client.get(path, headers=CURL)) == answer


@pytest.mark.gen_test
async def test_an_html_answer_is_left_as_iris_wrote_it(client: CookieClient):
    page = text(await client.get("/standalone/get_immutable", headers=BROWSER))
    assert page == "please navigate to the <a href='set_immutable'>/set_immutable</a> first"


# -- what a button's report says --------------------------------------------------------------


@pytest.mark.gen_test
async def test_log_out_everywhere_reports_how_many_sessions_ended(client: CookieClient, other_client: CookieClient):
    await other_client.get("/login?user=ada")
    await client.get("/login?user=ada")
    response = await post_as_browser(client, "/overview", "/logout-everywhere")
    report = report_in(response)
    assert report["answer"] == "Logged out ada everywhere: 2 session(s) ended"
    assert report["ran"] == "LogoutEverywhere.get"
    assert (await other_client.get("/secret")).code == 403
    shown = text(await client.get("/overview", headers=BROWSER))
    assert '<q data-last-action="answer">Logged out ada everywhere: 2 session(s) ended</q>' in shown


@pytest.mark.gen_test
async def test_log_out_everywhere_without_a_login_says_you_are_not_logged_in(client: CookieClient):
    response = await post_as_browser(client, "/overview", "/logout-everywhere")
    report = report_in(response)
    assert (report["refusal_status"], report["refusal"]) == (403, "Forbidden: you are not logged in")
    shown = text(await client.get("/overview", headers=BROWSER))
    assert "Forbidden: you are not logged in" in shown


@pytest.mark.gen_test
async def test_a_refused_flash_form_comes_back_with_what_was_typed(client: CookieClient):
    typed = "x" * 501
    await post_as_browser(client, "/flash/", "/flash/message", {"message": typed, "level": "warning"})
    page = text(await client.get("/flash/", headers=BROWSER))
    assert "longer than 500 characters" in page
    assert f'value="{typed[:500]}"' in page  # the form's maxlength: all a browser lets one type
    assert '<option value="warning" selected>' in page


@pytest.mark.gen_test
async def test_a_refused_value_form_comes_back_with_what_was_typed(client: CookieClient):
    fields = {"key": "age", "value": "twenty", "kind": "int"}
    await post_as_browser(client, "/database/page", "/database/value", fields)
    page = text(await client.get("/database/page", headers=BROWSER))
    assert "is not a 64-bit integer" in page
    assert 'value="twenty"' in page
    assert '<option value="int" selected>' in page


@pytest.mark.gen_test
async def test_the_report_cookie_stays_under_4_kb_whatever_was_posted(client: CookieClient):
    fields = {"key": "k" * 3000, "value": "é" * 3000, "kind": "int", **{f"f{n}": "ü" * 400 for n in range(20)}}
    response = await post_as_browser(client, "/database/page", "/database/value", fields)
    header = set_cookies(response)[COOKIE_NAME]
    assert len(f"{COOKIE_NAME}={header}".encode()) < 4096
    assert report_in(response)["refusal"].startswith("Bad Request")
    assert "Bad Request" in text(await client.get("/database/page", headers=BROWSER))  # the browser kept it


# -- odd request targets ------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("target", ["*", "secret"])
async def test_a_target_without_a_slash_is_a_clean_404(http_server, base_url: str, target: str, caplog):
    host, port = base_url.removeprefix("http://").split(":")
    caplog.set_level(logging.WARNING)
    stream = await TCPClient().connect(host, int(port))
    await stream.write(
        f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\nConnection: close\r\n\r\n".encode()
    )
    answer = await stream.read_until_close()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 404 Not Found"
    assert b"There is no page at this address." in rest
    assert "Traceback" not in caplog.text
    assert "IndexError" not in caplog.text


class TestRedisDown:
    """The 503 page says what brings this app's store back: for Redis, start redis-server again."""

    @pytest.fixture
    def app(self, clock, io_loop):
        store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", clock=clock)  # nothing listens there
        yield make_app(store=store, clock=clock)
        io_loop.run_sync(store.close)

    @pytest.mark.gen_test(timeout=30)
    async def test_the_503_page_says_to_start_redis_again(self, client: CookieClient):
        client.jar["sessionscookieid"] = "A" * 43
        page = await client.get("/database/page", headers=BROWSER)
        assert page.code == 503
        assert "Start the Redis server again (redis-server" in text(page)
