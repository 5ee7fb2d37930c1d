"""The tutorial's HTML pages over real HTTP: navigation, the overview forms, the inspector."""

from __future__ import annotations

import re
import urllib.request
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from app import STEPS
from handlers.tutorial.readable import describe_time
from tests.support.cookie_client import CookieClient, set_cookies, text
from tests.support.live_app import LiveApp

COOKIE = "mycookiesessionnameid"


def inspector(html: str, field: str) -> str:
    """The text of the inspector element marked ``data-inspector="field"``."""
    match = re.search(rf'data-inspector="{field}">(.*?)</', html, re.S)
    assert match, f"no inspector field {field!r} in the page"
    return re.sub(r"<[^>]+>", "", match[1]).strip()


async def post_form(client: CookieClient, page: str, action: str, fields: dict[str, str] | None = None):
    """Load ``page`` and submit its form to ``action`` as a browser does, with the form's ``_xsrf`` field.

    The field, not the ``_xsrf`` cookie: once there is a session, the token is bound to it.
    """
    token = re.search(r'name="_xsrf" value="([^"]+)"', text(await client.get(page)))
    assert token, f"{page} has no form with an _xsrf field"
    return await client.fetch(action, method="POST", body=urlencode({"_xsrf": token[1], **(fields or {})}))


@pytest.mark.gen_test
async def test_index_lists_the_steps_in_teaching_order(client: CookieClient):
    response = await client.get("/")
    html = text(response)
    assert response.code == 200
    positions = [html.index(f'<a href="{step["path"]}">{step["title"]}</a>: {step["teaches"]}') for step in STEPS]
    assert positions == sorted(positions)
    assert f'rel="next" href="{STEPS[0]["path"]}"' in html


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/"] + [step["path"] for step in STEPS])
async def test_every_page_links_home_and_onwards_and_names_the_store(client: CookieClient, path: str):
    html = text(await client.get(path))
    assert '<a href="/">↑ All steps</a>' in html
    assert "<strong data-store-name>memory</strong>" in html
    paths = ["/"] + [step["path"] for step in STEPS]
    following = paths[paths.index(path) + 1] if path != paths[-1] else None
    if following:
        assert f'rel="next" href="{following}"' in html
    else:
        assert "You have reached the last step." in html


@pytest.mark.gen_test
async def test_the_overview_page_creates_no_session_for_a_visitor(client: CookieClient, store):
    response = await client.get("/overview")
    html = text(response)
    assert response.code == 200
    assert COOKIE not in set_cookies(response)
    assert len(store) == 0
    assert 'data-secret-status="403"' in html
    assert "Forbidden" in html
    assert inspector(html, "cookie") == "none"
    assert inspector(html, "is-new") == "True"
    assert inspector(html, "values") == "No values."


@pytest.mark.gen_test
async def test_the_overview_forms_log_in_and_out(client: CookieClient, store):
    await client.get("/overview")

    response = await post_form(client, "/overview", "/login")
    assert (response.code, response.headers["Location"]) == (303, "/overview")
    assert COOKIE in client.jar

    html = text(await client.get("/overview"))
    assert 'data-secret-status="200"' in html
    assert "The cake is a lie!" in html
    assert inspector(html, "cookie") == client.jar[COOKIE]
    assert inspector(html, "is-new") == "False"
    assert inspector(html, "state") == "a stored session"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in 30 min\)", inspector(html, "expires"))
    assert "<td><code>authenticated</code></td><td>bool</td><td><code>true</code></td>" in html
    assert text(await client.get("/secret")) == "The cake is a lie!"

    response = await post_form(client, "/overview", "/logout")
    assert (response.code, response.headers["Location"]) == (303, "/overview")
    assert COOKIE not in client.jar
    assert len(store) == 0
    html = text(await client.get("/overview"))
    assert 'data-secret-status="403"' in html
    assert (await client.get("/secret")).code == 403


@pytest.mark.gen_test
async def test_a_second_login_through_the_form_changes_the_session_id(client: CookieClient):
    await client.get("/overview")
    await post_form(client, "/overview", "/login")
    first = client.jar[COOKIE]
    await post_form(client, "/overview", "/login")
    assert client.jar[COOKIE] != first
    assert inspector(text(await client.get("/overview")), "cookie") == client.jar[COOKIE]


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/login", "/logout"])
async def test_forms_without_the_xsrf_token_are_refused(client: CookieClient, store, path: str):
    response = await client.fetch(path, method="POST", body="")
    assert response.code == 403
    assert COOKIE not in set_cookies(response)
    assert len(store) == 0


@pytest.mark.gen_test
async def test_the_inspector_shows_a_stale_cookie_and_adopts_nothing(client: CookieClient, store):
    client.jar[COOKIE] = "A" * 43  # well-formed, never issued
    response = await client.get("/overview")
    html = text(response)
    assert inspector(html, "cookie") == "A" * 43
    assert inspector(html, "is-new") == "True"
    assert len(store) == 0
    # An unknown ID is not proof the browser's cookie is dead (a concurrent
    # login may have just renamed it), so nothing is deleted; the next write replaces the cookie.
    assert COOKIE not in set_cookies(response)

    client.jar[COOKIE] = "junk"  # malformed: proven dead, so the browser is told to drop it
    assert set_cookies(await client.get("/overview"))[COOKIE].startswith(f"{COOKIE}=;")


@pytest.mark.gen_test
async def test_the_inspector_escapes_what_it_shows(client: CookieClient):
    client.jar[COOKIE] = "<b>x</b>"
    html = text(await client.get("/overview"))
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


@pytest.mark.gen_test
async def test_the_inspector_shows_flashes_without_consuming_them(client: CookieClient):
    await client.get("/flash/set")  # Iris's keyed flash: name = iris
    html = text(await client.get("/flash/"))  # the page reads only leveled messages
    assert "<td><code>name</code></td><td>str</td><td><code>&quot;iris&quot;</code></td>" in html
    assert text(await client.get("/flash/get")) == "Hello iris"  # the inspector's look consumed nothing
    assert 'data-inspector="flashes"' not in text(await client.get("/flash/"))


@pytest.mark.gen_test
async def test_the_flash_page_inspector_lists_a_message_once(client: CookieClient):
    await client.get("/flash/")
    response = await post_form(client, "/flash/", "/flash/message", {"message": "Saved.", "level": "success"})
    assert response.code == 302
    html = text(await client.get("/flash/"))
    assert '<li class="flash flash-success"><strong>success:</strong> Saved.</li>' in html
    assert "&quot;message&quot;: &quot;Saved.&quot;" in html
    html = text(await client.get("/flash/"))
    assert 'class="flash ' not in html
    assert 'data-inspector="flashes"' not in html


@pytest.mark.gen_test
async def test_the_login_form_names_the_user_and_logs_out_everywhere(client: CookieClient, other_client: CookieClient):
    await post_form(client, "/overview", "/login", {"user": "ada"})
    await post_form(other_client, "/overview", "/login", {"user": "ada"})
    html = text(await client.get("/overview"))
    assert "Logged in as <strong data-user>ada</strong>" in html
    assert inspector(html, "user") == "ada"

    response = await post_form(client, "/overview", "/logout-everywhere")
    assert (response.code, response.headers["Location"]) == (303, "/overview")
    assert (await other_client.get("/secret")).code == 403


@pytest.mark.gen_test
async def test_a_bad_user_name_from_the_form_is_a_clear_400(client: CookieClient, store):
    response = await post_form(client, "/overview", "/login", {"user": "no spaces"})
    assert (response.code, text(response)) == (400, "Bad Request: user must be 1-64 letters, digits or _.@-")
    assert len(store) == 0


# -- the standalone and securecookie pages ---------------------------------------------------------

TWO_HOUR_STEPS = [("/standalone", "mysessionid"), ("/securecookie", "mycustomsessionid")]


@pytest.mark.gen_test
@pytest.mark.parametrize(("prefix", "cookie"), TWO_HOUR_STEPS)
async def test_the_two_hour_page_creates_nothing_for_a_visitor(client: CookieClient, store, prefix, cookie):
    response = await client.get(f"{prefix}/page")
    html = text(response)
    assert response.code == 200
    assert cookie not in set_cookies(response)
    assert len(store) == 0
    assert 'data-answer="get">The name on the /set was: </p>' in html
    assert 'data-answer="get_immutable">please navigate to the /set_immutable first</p>' in html
    assert inspector(html, "cookie") == "none"


@pytest.mark.gen_test
@pytest.mark.parametrize(("prefix", "cookie"), TWO_HOUR_STEPS)
async def test_the_two_hour_page_forms_drive_the_iris_routes(client: CookieClient, store, prefix, cookie):
    page = f"{prefix}/page"
    response = await post_form(client, page, f"{prefix}/set")
    assert (response.code, response.headers["Location"]) == (303, page)
    html = text(await client.get(page))
    assert 'data-answer="get">The name on the /set was: iris</p>' in html
    assert "<td><code>name</code></td><td>str</td><td><code>&quot;iris&quot;</code></td>" in html
    assert re.search(r"UTC \(in 1[12]\d min\)", inspector(html, "expires"))  # two hours
    assert text(await client.get(f"{prefix}/get")) == "The name on the /set was: iris"  # the same session

    await post_form(client, page, f"{prefix}/set_immutable")
    html = text(await client.get(page))
    assert 'data-answer="get_immutable">[]businessModel[0].Name remains: Edward</p>' in html
    assert "<td><code>businessEdit</code></td><td>list</td>" in html

    await post_form(client, page, f"{prefix}/delete")
    assert 'data-answer="get">The name on the /set was: </p>' in text(await client.get(page))

    await post_form(client, page, f"{prefix}/destroy")
    assert cookie not in client.jar
    assert len(store) == 0


@pytest.mark.gen_test
async def test_the_update_form_moves_the_expiry(client: CookieClient, clock):
    await post_form(client, "/standalone/page", "/standalone/set")
    clock.advance(3600)
    assert "(in 60 min)" in inspector(text(await client.get("/standalone/page")), "expires")
    response = await post_form(client, "/standalone/page", "/standalone/update")
    assert "Max-Age=7200" in set_cookies(response)["mysessionid"]
    assert "(in 120 min)" in inspector(text(await client.get("/standalone/page")), "expires")


@pytest.mark.gen_test
async def test_the_securecookie_inspector_opens_the_envelope(client: CookieClient, store, clock):
    await post_form(client, "/securecookie/page", "/securecookie/set")
    opaque = client.jar["mycustomsessionid"]
    html = text(await client.get("/securecookie/page"))
    assert inspector(html, "cookie") == opaque
    session_id = inspector(html, "payload")
    assert session_id not in opaque  # the ID travels encrypted
    assert await store.load("mycustomsessionid", session_id) is not None
    assert re.fullmatch(r"[0-9a-f]{8}", inspector(html, "key-id"))
    issued = datetime.fromtimestamp(int(clock.now), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert inspector(html, "issued").startswith(issued)

    # The standalone step's cookie is not encrypted: its page shows no envelope.
    await post_form(client, "/standalone/page", "/standalone/set")
    assert 'data-inspector="envelope"' not in text(await client.get("/standalone/page"))


@pytest.mark.gen_test
async def test_the_securecookie_inspector_refuses_a_tampered_cookie(client: CookieClient, store):
    await post_form(client, "/securecookie/page", "/securecookie/set")
    opaque = client.jar["mycustomsessionid"]
    client.jar["mycustomsessionid"] = opaque[:40] + ("B" if opaque[40] == "A" else "A") + opaque[41:]
    response = await client.get("/securecookie/page")
    html = text(response)
    assert response.code == 200
    assert inspector(html, "refused").startswith("does not open")
    assert inspector(html, "is-new") == "True"
    assert 'data-answer="get">The name on the /set was: </p>' in html
    assert set_cookies(response)["mycustomsessionid"].startswith("mycustomsessionid=;")


# -- the database page -------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_the_database_page_names_the_store_and_creates_nothing(client: CookieClient, store):
    response = await client.get("/database/page")
    html = text(response)
    assert response.code == 200
    assert "sessionscookieid" not in set_cookies(response)
    assert len(store) == 0
    assert "runs on the <strong data-store>memory</strong> store" in html
    assert 'data-answer="get">The &#x27;name&#x27; on the /set was: </p>' in html


@pytest.mark.gen_test
@pytest.mark.parametrize(("kind", "python_type", "json_text"), [("int", "int", "27"), ("str", "str", "&quot;27&quot;")])
async def test_the_value_form_stores_with_the_chosen_type(client: CookieClient, kind, python_type, json_text):
    response = await post_form(client, "/database/page", "/database/value", {"key": "age", "value": "27", "kind": kind})
    assert (response.code, response.headers["Location"]) == (303, "/database/page")
    html = text(await client.get("/database/page"))
    assert f"<td><code>age</code></td><td>{python_type}</td><td><code>{json_text}</code></td>" in html
    assert text(await client.get("/database/get/age")) == "The 'age' on the /set was: 27"


@pytest.mark.gen_test
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"key": "age", "value": "twenty", "kind": "int"}, "Bad Request: the value 'twenty' is not a 64-bit integer"),
        ({"key": "", "value": "x"}, "Bad Request: the key must be a non-empty name without '/'"),
        ({"key": "a/b", "value": "x"}, "Bad Request: the key must be a non-empty name without '/'"),
    ],
)
async def test_a_bad_value_form_is_a_clear_400_and_stores_nothing(client: CookieClient, store, fields, message):
    response = await post_form(client, "/database/page", "/database/value", fields)
    assert response.code == 400
    assert text(response).startswith(message)
    assert len(store) == 0


@pytest.mark.gen_test
async def test_the_database_buttons_drive_the_iris_routes(client: CookieClient, store):
    response = await post_form(client, "/database/page", "/database/update")
    assert (response.code, text(response)) == (404, "session not found")  # as GET /database/update answers
    await post_form(client, "/database/page", "/database/set")
    assert 'data-answer="get">The &#x27;name&#x27; on the /set was: iris</p>' in text(
        await client.get("/database/page")
    )
    response = await post_form(client, "/database/page", "/database/update")
    assert "Max-Age=2700" in set_cookies(response)["sessionscookieid"]
    await post_form(client, "/database/page", "/database/destroy")
    assert "sessionscookieid" not in client.jar
    assert len(store) == 0


@pytest.mark.gen_test
async def test_the_value_form_route_takes_only_posts(client: CookieClient, store):
    response = await client.get("/database/value?key=a&value=b")
    assert response.code == 405
    assert len(store) == 0


@pytest.mark.gen_test
async def test_the_stylesheet_is_served_locally_and_a_nul_path_is_a_404(client: CookieClient):
    html = text(await client.get("/"))
    stylesheet = re.search(r'<link rel="stylesheet" href="(/static/style\.css\?v=\w+)">', html)
    assert stylesheet, "the page links no local stylesheet"
    response = await client.get(stylesheet[1])
    assert response.code == 200
    assert b".inspector" in response.body
    assert "//" not in html.split("<body>")[0].replace("http://www.w3.org", "")  # no CDN in the head
    assert (await client.get("/static/%00")).code == 404


def test_the_inspector_tells_a_cookie_sealed_under_an_older_key(tmp_path):
    """Key rotation, seen on the page: a cookie from before a new secret opens, under the older key."""
    old, new = "an old secret for the tutorial test", "a new secret for the tutorial test"
    database = ["--store=sqlite", f"--sqlite-path={tmp_path / 'sessions.sqlite3'}"]  # the session outlives the app
    with (
        LiveApp(*database, env={"SESSION_SECRETS": old}) as app,
        urllib.request.urlopen(f"{app.url}/securecookie/set") as response,
    ):
        cookie = response.headers["Set-Cookie"].split(";")[0]
    with LiveApp(*database, env={"SESSION_SECRETS": f"{new},{old}"}) as app:
        request = urllib.request.Request(f"{app.url}/securecookie/page", headers={"Cookie": cookie})
        with urllib.request.urlopen(request) as response:
            html = response.read().decode()
            reissued = response.headers["Set-Cookie"]
    assert "(an older key: re-sealed under the newest on the next response)" in html
    assert 'data-answer="get">The name on the /set was: iris</p>' in html
    assert reissued.startswith("mycustomsessionid=")
    assert cookie not in reissued


def test_remaining_time_is_rounded_to_the_nearest_minute():
    # A 2-hour session read a moment after its save still says 120 min (it said 119, and flaked a test).
    assert describe_time(7199.4, 0.0).endswith("(in 120 min)")
    assert describe_time(2699.0, 0.0).endswith("(in 45 min)")
    assert describe_time(-90.0, 0.0).endswith("(2 min ago)")
    assert describe_time(30.0, 0.0).endswith("(in 30 s)")


@pytest.mark.gen_test
async def test_the_session_bound_token_is_made_once_per_request_like_tornados(client: CookieClient):
    await client.get("/standalone/set")  # a session: its forms' tokens are bound to it
    tokens = re.findall(r'name="_xsrf" value="([^"]+)"', text(await client.get("/standalone/page")))
    assert len(tokens) > 1
    assert len(set(tokens)) == 1
