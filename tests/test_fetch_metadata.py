"""Fetch Metadata over real HTTP: another site cannot make the browser run a state-changing route.

The browser's ``Sec-Fetch-Site`` header is sent here by hand; ``test_browser.py``
checks that headless Chromium really sends it on a cross-site navigation.
"""

from __future__ import annotations

import copy
import re
from urllib.parse import urlencode

import pytest
from tornado.routing import URLSpec
from tornado.web import Application, RedirectHandler, StaticFileHandler

from sessions.fetch_metadata import ALLOW_SAME_SITE_SETTING, origin_refusal, refusal
from tests.support.cookie_client import CookieClient, form_xsrf_token, text

#: Every route that changes the session on GET (the curl walkthrough uses them); reading a flash consumes it.
STATE_CHANGING_GETS = [
    "/login",
    "/login?user=mallory",
    "/logout",
    "/logout-everywhere",
    *(
        f"{prefix}/{action}"
        for prefix in ("/standalone", "/securecookie")
        for action in ("set", "set_immutable", "delete", "clear", "destroy", "update")
    ),
    "/database/set",
    "/database/set/k/v",
    "/database/set/int/k/7",
    "/database/delete",
    "/database/clear",
    "/database/destroy",
    "/database/update",
    "/flash/set",
    "/flash/get",
    "/flash/test",
]
#: Routes that only read: a cross-site navigation to them is answered as usual.
READ_ONLY = {
    "/", "/overview", "/secret", "/flash/",
    "/standalone/", "/standalone/page", "/standalone/get", "/standalone/get_immutable",
    "/securecookie/", "/securecookie/page", "/securecookie/get", "/securecookie/get_immutable",
    "/database/", "/database/page", "/database/get", "/database/get/k",
}  # fmt: skip
CROSS_SITE = {"Sec-Fetch-Site": "cross-site"}
REFUSED = "Forbidden: cross-site request refused (Sec-Fetch-Site: cross-site)"
ORIGIN_REFUSED = "Forbidden: cross-origin request refused (its Origin header names another site)"


def test_the_refusal_rule():
    assert [refusal(value) for value in (None, "same-origin", "none")] == [None, None, None]
    assert refusal("cross-site") == REFUSED
    assert refusal("same-site") == "Forbidden: same-site request refused (Sec-Fetch-Site: same-site)"
    assert refusal("same-site", allow_same_site=True) is None
    assert refusal("cross-site", allow_same_site=True) == REFUSED
    assert refusal("bogus") == "Forbidden: unrecognised request refused (Sec-Fetch-Site: bogus)"


def test_the_origin_rule_without_fetch_metadata():
    host = "127.0.0.1:8080"
    assert origin_refusal(None, host) is None  # curl, scripts
    assert origin_refusal("http://127.0.0.1:8080", host) is None
    assert origin_refusal("https://127.0.0.1:8080", host) is None  # TLS ended by a proxy: the scheme is not compared
    assert origin_refusal("HTTP://127.0.0.1:8080", "127.0.0.1:8080") is None
    for hostile in ("https://evil.example", "http://127.0.0.1:8081", "http://127.0.0.1", "null", "", "http://[::1"):
        assert origin_refusal(hostile, host) == ORIGIN_REFUSED, hostile


def example_paths(app: Application) -> list[str]:
    """One path per route of the app that can reach a session (static files and redirects cannot)."""
    paths = []
    pending = list(app.wildcard_router.rules)
    while pending:
        rule = pending.pop(0)
        if hasattr(rule.target, "rules"):
            pending[:0] = rule.target.rules
        elif isinstance(rule, URLSpec) and not issubclass(rule.target, (StaticFileHandler, RedirectHandler)):
            pattern = rule.regex.pattern.rstrip("$").replace("/?", "/")
            paths.append(re.sub(r"\(\[\^/\]\+\)", "k", pattern))
    return paths


async def log_in_everywhere(client: CookieClient) -> None:
    """A victim with a session in every step, so a route that changed anything would show it."""
    for path in ("/login?user=victim", "/standalone/set", "/securecookie/set", "/database/set"):
        assert (await client.get(path)).code == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("path", STATE_CHANGING_GETS)
async def test_a_cross_site_get_is_refused_and_changes_nothing(client: CookieClient, store, path):
    await log_in_everywhere(client)
    jar, records = dict(client.jar), copy.deepcopy(store._records)

    response = await client.get(path, headers=CROSS_SITE)

    assert (response.code, text(response)) == (403, REFUSED)
    assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert "Set-Cookie" not in response.headers
    assert client.jar == jar
    assert store._records == records
    assert text(await client.get("/secret")) == "The cake is a lie!"


@pytest.mark.gen_test
@pytest.mark.parametrize("path", STATE_CHANGING_GETS)
@pytest.mark.parametrize("site", ["same-origin", "none", None])
async def test_same_origin_typed_and_headerless_gets_work_as_in_iris(client: CookieClient, path, site):
    await log_in_everywhere(client)
    response = await client.get(path, headers={} if site is None else {"Sec-Fetch-Site": site})
    assert response.code == 200
    if path.startswith("/login"):
        assert text(await client.get("/secret")) == "The cake is a lie!"
    if path.startswith("/logout"):
        assert (await client.get("/secret")).code == 403


@pytest.mark.gen_test
async def test_every_route_the_app_has_is_guarded_or_only_reads(client: CookieClient, store, app):
    """Walks the app's router, so a state-changing route added later without the guard fails here."""
    await log_in_everywhere(client)
    jar, records = dict(client.jar), copy.deepcopy(store._records)
    paths = example_paths(app)
    assert set(STATE_CHANGING_GETS) - {"/login?user=mallory"} - set(paths) <= {
        "/database/set/k/v",
        "/database/set/int/k/7",  # fmt: skip
    }

    for path in paths:
        response = await client.get(path, headers=CROSS_SITE)
        if path in READ_ONLY:
            assert response.code in (200, 403), path
            assert text(response) != REFUSED, path
        else:
            assert (path, response.code) in ((path, 403), (path, 405)), text(response)
            assert response.code == 405 or text(response) == REFUSED, path
    client.jar.pop("_xsrf", None)  # Tornado's token cookie, which a page with a form may set: not a session
    assert client.jar == jar
    assert store._records == records


@pytest.mark.gen_test
async def test_same_site_is_refused_unless_the_app_allows_it(client: CookieClient, app):
    await client.get("/login?user=victim")
    same_site = {"Sec-Fetch-Site": "same-site"}
    response = await client.get("/logout", headers=same_site)
    assert (response.code, text(response)) == (403, "Forbidden: same-site request refused (Sec-Fetch-Site: same-site)")
    assert (await client.get("/flash/set", headers=same_site)).code == 403

    app.settings[ALLOW_SAME_SITE_SETTING] = True
    assert (await client.get("/flash/set", headers=same_site)).code == 200
    assert (await client.get("/logout", headers=same_site)).code == 200
    assert (await client.get("/secret")).code == 403
    assert (await client.get("/login", headers=CROSS_SITE)).code == 403  # cross-site stays refused


@pytest.mark.gen_test
@pytest.mark.parametrize(("page", "action"), [("/overview", "/logout"), ("/flash/", "/flash/message")])
async def test_a_cross_site_post_is_refused_even_with_a_valid_token(client: CookieClient, page, action):
    """XSRF tokens already guard POST; Fetch Metadata refuses it too (defence in depth)."""
    await client.get("/login")
    token = form_xsrf_token(await client.get(page))
    body = urlencode({"_xsrf": token, "message": "hi", "level": "info"})

    response = await client.fetch(action, method="POST", body=body, headers=CROSS_SITE)
    assert response.code == 403  # by Tornado's cross_origin_protection, before the handler's own guard
    assert text(await client.get("/secret")) == "The cake is a lie!"

    response = await client.fetch(action, method="POST", body=body, headers={"Sec-Fetch-Site": "same-origin"})
    assert response.code in (302, 303)


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/logout", "/logout-everywhere", "/login?user=mallory", "/flash/set"])
async def test_without_fetch_metadata_a_get_with_another_sites_origin_is_refused(client: CookieClient, store, path):
    """An older browser (or plain HTTP to a non-local host) sends no Sec-Fetch-Site: its Origin decides."""
    await client.get("/login?user=victim")
    records = copy.deepcopy(store._records)
    for origin in ("https://evil.example", "null"):
        response = await client.get(path, headers={"Origin": origin})
        assert (response.code, text(response)) == (403, ORIGIN_REFUSED)
    assert store._records == records
    own = client.base_url.split("/")[0] + "//" + client.base_url.split("/")[2]
    assert (await client.get(path, headers={"Origin": own})).code in (200, 302, 303)


@pytest.mark.gen_test
@pytest.mark.parametrize(("page", "action"), [("/overview", "/logout"), ("/flash/", "/flash/message")])
async def test_without_fetch_metadata_a_post_from_another_origin_is_refused_even_with_a_valid_token(
    client: CookieClient, page, action
):
    await client.get("/login")
    token = form_xsrf_token(await client.get(page))
    body = urlencode({"_xsrf": token, "message": "hi", "level": "info"})
    response = await client.fetch(action, method="POST", body=body, headers={"Origin": "https://evil.example"})
    assert response.code == 403
    assert text(await client.get("/secret")) == "The cake is a lie!"
    own = client.base_url.split("/")[0] + "//" + client.base_url.split("/")[2]
    response = await client.fetch(action, method="POST", body=body, headers={"Origin": own})
    assert response.code in (302, 303)


def test_the_app_turns_on_tornados_cross_origin_protection(app):
    assert app.settings["cross_origin_protection"] is True


@pytest.mark.gen_test
@pytest.mark.parametrize("reader", ["/flash/get", "/flash/test"])
async def test_a_cross_site_get_cannot_consume_a_flash(client: CookieClient, reader: str):
    """A hostile page that makes the browser open /flash/get must not eat the message meant for the user."""
    assert text(await client.get("/flash/set")) == "Message set, is available for the next request"

    refused = await client.get(reader, headers=CROSS_SITE)
    assert (refused.code, text(refused)) == (403, REFUSED)

    assert text(await client.get("/flash/get", headers={"Sec-Fetch-Site": "same-origin"})) == "Hello iris"
    assert text(await client.get("/flash/get")) == "Empty name!!"  # curl, no Fetch Metadata: Iris's answer
