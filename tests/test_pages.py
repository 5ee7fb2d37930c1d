"""The tutorial's HTML pages over real HTTP: navigation, the overview forms, the inspector."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from app import STEPS
from tests.cookie_client import CookieClient, set_cookies, text

COOKIE = "mycookiesessionnameid"


def inspector(html: str, field: str) -> str:
    """The text of the inspector element marked ``data-inspector="field"``."""
    match = re.search(rf'data-inspector="{field}">(.*?)</', html, re.S)
    assert match, f"no inspector field {field!r} in the page"
    return re.sub(r"<[^>]+>", "", match[1]).strip()


async def post_form(client: CookieClient, path: str, fields: dict[str, str] | None = None):
    """Submit a form the way the page does: with the _xsrf token from the page's cookie."""
    body = urlencode({"_xsrf": client.jar["_xsrf"], **(fields or {})})
    return await client.fetch(path, method="POST", body=body)


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
    assert 'data-secret-status="403"' in html and "Forbidden" in html
    assert inspector(html, "cookie") == "none"
    assert inspector(html, "is-new") == "True"
    assert inspector(html, "values") == "No values."


@pytest.mark.gen_test
async def test_the_overview_forms_log_in_and_out(client: CookieClient, store):
    await client.get("/overview")

    response = await post_form(client, "/login")
    assert (response.code, response.headers["Location"]) == (303, "/overview")
    assert COOKIE in client.jar

    html = text(await client.get("/overview"))
    assert 'data-secret-status="200"' in html and "The cake is a lie!" in html
    assert inspector(html, "cookie") == client.jar[COOKIE]
    assert inspector(html, "is-new") == "False"
    assert inspector(html, "state") == "a stored session"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in 30 min\)", inspector(html, "expires"))
    assert "<td><code>authenticated</code></td><td>bool</td><td><code>true</code></td>" in html
    assert text(await client.get("/secret")) == "The cake is a lie!"

    response = await post_form(client, "/logout")
    assert (response.code, response.headers["Location"]) == (303, "/overview")
    assert COOKIE not in client.jar
    assert len(store) == 0
    html = text(await client.get("/overview"))
    assert 'data-secret-status="403"' in html
    assert (await client.get("/secret")).code == 403


@pytest.mark.gen_test
async def test_a_second_login_through_the_form_changes_the_session_id(client: CookieClient):
    await client.get("/overview")
    await post_form(client, "/login")
    first = client.jar[COOKIE]
    await post_form(client, "/login")
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
    assert set_cookies(response)[COOKIE].startswith(f"{COOKIE}=;")  # the browser is told to drop it


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
    response = await post_form(client, "/flash/message", {"message": "Saved.", "level": "success"})
    assert response.code == 302
    html = text(await client.get("/flash/"))
    assert '<li class="flash flash-success"><strong>success:</strong> Saved.</li>' in html
    assert "&quot;message&quot;: &quot;Saved.&quot;" in html
    html = text(await client.get("/flash/"))
    assert 'class="flash ' not in html and 'data-inspector="flashes"' not in html
