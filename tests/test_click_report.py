"""The report of a click and the error pages, over real HTTP: what a browser gets, and that curl gets what it got.

A browser is a request that accepts ``text/html`` (``BROWSER``); ``curl`` sends
``Accept: */*`` and keeps Iris's plain-text answers, byte for byte.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from tornado.web import create_signed_value

from app import make_app
from handlers.tutorial.last_action import (
    COOKIE_NAME,
    Change,
    CookieChange,
    LastAction,
    SessionView,
    classify_cookie,
    expiry_change,
    mask_cookie,
    session_diff,
    shorten,
)
from sessions.errors import STORE_UNAVAILABLE_TEXT
from sessions.stores.sqlite import SQLiteStore
from tests.support.cookie_client import CookieClient, form_xsrf_token, set_cookies, text
from tests.support.tutorial_requests import BROWSER, CURL, post_as_browser, report_in

TORNADO_404 = "<html><title>404: Not Found</title><body>404: Not Found</body></html>"
TORNADO_405 = "<html><title>405: Method Not Allowed</title><body>405: Method Not Allowed</body></html>"


@pytest.mark.gen_test
async def test_curl_posts_get_no_report_cookie(client: CookieClient):
    response = await client.fetch("/standalone/set", method="POST", body="", headers=CURL)
    assert response.code == 403  # no _xsrf: as before
    await client.get("/standalone/page", headers=CURL)
    token = form_xsrf_token(await client.get("/standalone/page"))
    response = await client.fetch("/standalone/set", method="POST", body=f"_xsrf={token}", headers=CURL)
    assert (response.code, response.headers["Location"]) == (303, "/standalone/page")
    assert list(set_cookies(response)) == ["mysessionid"]


@pytest.mark.gen_test
async def test_a_browser_post_carries_a_masked_report_to_its_page_once(client: CookieClient):
    response = await post_as_browser(client, "/standalone/page", "/standalone/set")
    assert (response.code, response.headers["Location"]) == (303, "/standalone/page")
    header = set_cookies(response)[COOKIE_NAME]
    for attribute in ("HttpOnly", "Max-Age=60", "Path=/standalone/page", "SameSite=Lax"):
        assert attribute in header
    session_id = client.jar["mysessionid"]
    report = report_in(response)
    assert session_id not in json.dumps(report)  # masked: never a session ID in the report
    assert (report["request"], report["status"], report["fate"]) == ("POST /standalone/set", 303, "created")
    assert report["cookie"]["kind"] == "new"
    assert report["cookie"]["header"].startswith(f"mysessionid={session_id[:6]}…;")
    assert report["changes"] == [
        {"what": "value", "change": "added", "key": "name", "before": None, "after": '"iris"', "note": ""}
    ]

    page = await client.get("/standalone/page", headers=BROWSER)
    assert 'data-last-action="request">POST /standalone/set</code>' in text(page)
    assert set_cookies(page)[COOKIE_NAME].startswith(f'{COOKIE_NAME}=""; expires=')  # read once: cleared
    assert "data-last-action" not in text(await client.get("/standalone/page", headers=BROWSER))


@pytest.mark.gen_test
async def test_a_forged_or_misplaced_report_is_ignored(client: CookieClient):
    response = await post_as_browser(client, "/standalone/page", "/standalone/set")
    signed = set_cookies(response)[COOKIE_NAME].split(";")[0].split("=", 1)[1].strip('"')
    client.jar[COOKIE_NAME] = signed[:-1] + ("0" if signed[-1] != "0" else "1")  # one digit of the signature
    page = await client.get("/standalone/page", headers=BROWSER)
    assert page.code == 200
    assert "data-last-action" not in text(page)

    client.jar[COOKIE_NAME] = signed  # genuine, but about another page
    page = await client.get("/securecookie/page", headers=BROWSER)
    assert page.code == 200
    assert "data-last-action" not in text(page)


@pytest.mark.gen_test
async def test_a_refused_browser_post_goes_back_to_the_page_and_curl_keeps_its_400(client: CookieClient, store):
    fields = {"key": "age", "value": "twenty", "kind": "int"}
    response = await post_as_browser(client, "/database/page", "/database/value", fields)
    assert (response.code, response.headers["Location"]) == (303, "/database/page")
    report = report_in(response)
    assert report["refusal_status"] == 400
    assert report["refusal"].startswith("Bad Request: the value 'twenty'")
    assert report["fields"] == "key=age value=twenty kind=int"  # without the _xsrf token
    assert len(store) == 0
    assert "sessionscookieid" not in client.jar

    token = form_xsrf_token(await client.get("/database/page"))
    response = await client.fetch("/database/value", method="POST", body=urlencode({"_xsrf": token, **fields}))
    assert (response.code, text(response)) == (
        400,
        "Bad Request: the value 'twenty' is not a 64-bit integer (use digits, like 42 or -7)",
    )


@pytest.mark.gen_test
@pytest.mark.parametrize(
    ("path", "status", "curl_body", "way_back"),
    [
        ("/database/missing", 404, TORNADO_404, '<a class="button-link" href="/database/page" data-way-back>'),
        ("/nowhere", 404, TORNADO_404, '<a class="button-link" href="/" data-way-back>'),
        ("/database/value", 405, TORNADO_405, '<a class="button-link" href="/database/page" data-way-back>'),
        ("/flash/message", 405, TORNADO_405, '<a class="button-link" href="/flash/" data-way-back>'),
    ],
)
async def test_error_pages_in_the_layout_for_a_browser_and_tornados_answer_for_curl(
    client: CookieClient, path, status, curl_body, way_back
):
    page = await client.get(path, headers=BROWSER)
    assert page.code == status
    html = text(page)
    assert f'data-error-status="{status}"' in html
    assert way_back in html
    assert '<link rel="stylesheet" href="/static/style.css?v=' in html
    curl = await client.get(path, headers=CURL)
    assert (curl.code, text(curl)) == (status, curl_body)


@pytest.mark.gen_test
async def test_a_stale_form_goes_back_to_its_page_refused_and_filled_in(client: CookieClient, store):
    token = form_xsrf_token(await client.get("/overview", headers=BROWSER))
    await client.get("/login?user=ada")  # a login in another tab: the form's token belongs to no session now
    body = urlencode({"_xsrf": token, "user": "grace"})
    response = await client.fetch("/login", method="POST", body=body, headers=BROWSER)
    assert (response.code, response.headers["Location"]) == (303, "/overview")
    report = report_in(response)
    assert (report["refusal_status"], report["ran"]) == (403, "")
    assert report["refusal"].startswith("Forbidden: XSRF token does not match this session. The form was loaded")
    assert report["typed"] == {"user": "grace"}
    page = text(await client.get("/overview", headers=BROWSER))
    assert 'value="grace"' in page
    assert "Logged in as <strong data-user>ada</strong>" in page
    curl = await client.fetch("/login", method="POST", body=body, headers=CURL)
    assert curl.code == 403


@pytest.mark.gen_test
async def test_a_form_without_its_token_is_refused_without_acting(client: CookieClient, store):
    response = await client.fetch("/login", method="POST", body="user=iris", headers=BROWSER)
    assert response.code == 303
    assert report_in(response)["refusal"].startswith("Forbidden: '_xsrf' argument missing from POST.")
    assert len(store) == 0


@pytest.mark.gen_test
async def test_the_favicon_is_served(client: CookieClient):
    response = await client.get("/favicon.ico")
    assert response.code == 200
    assert response.body[:4] == b"\x00\x00\x01\x00"


class TestStoreOutage:
    @pytest.fixture
    def app(self, clock, tmp_path, io_loop):
        store = SQLiteStore(tmp_path / "not-mounted" / "sessions.sqlite3", clock=clock)
        yield make_app(store=store, clock=clock)
        io_loop.run_sync(store.close)

    @pytest.mark.gen_test
    async def test_a_store_outage_is_a_page_for_a_browser_and_the_exact_text_for_curl(self, client: CookieClient):
        client.jar["sessionscookieid"] = "A" * 43
        page = await client.get("/database/page", headers=BROWSER)
        assert page.code == 503
        assert 'data-error-status="503"' in text(page)
        assert ">Try again</a>" in text(page)
        assert STORE_UNAVAILABLE_TEXT in text(page)
        assert "Make the SQLite file&#x27;s directory exist and writable again" in text(page)
        curl = await client.get("/database/page", headers=CURL)
        assert (curl.code, text(curl)) == (503, STORE_UNAVAILABLE_TEXT)


# -- the report's parts --------------------------------------------------------------------------------

ID_A, ID_B = "a" * 43, "b" * 43


@pytest.mark.parametrize(
    ("set_cookies_", "sent", "before", "after", "kind", "why"),
    [
        ([], None, None, None, "none", "your browser holds no cookie"),
        ([], ID_A, ID_A, ID_A, "none", "keeps the cookie it has"),
        ([f"sid={ID_A}; Path=/"], None, None, ID_A, "new", "a new session was stored"),
        ([f"sid={ID_B}; Path=/"], ID_A, ID_A, ID_B, "changed", "a new session ID"),
        (["sid=sealedagain; Path=/"], "sealed", ID_A, ID_A, "changed", "sealed afresh"),
        ([f"sid={ID_A}; Max-Age=7200"], ID_A, ID_A, ID_A, "changed", "new expiry"),
        (["sid=; Max-Age=0; Path=/"], ID_A, ID_A, None, "deleted", "drops the cookie"),
        (["other=x", f"sid={ID_A}"], None, None, ID_A, "new", "a new session"),  # another cookie is not it
    ],
)
def test_the_set_cookie_is_classified(set_cookies_, sent, before, after, kind, why):
    change = classify_cookie("sid", set_cookies_, sent, SessionView(before), SessionView(after))
    assert change.kind == kind
    assert why in change.why
    assert ID_A not in change.header
    assert ID_B not in change.header


def test_a_cookie_value_is_masked_to_its_first_characters():
    assert mask_cookie(f"sid={ID_A}; Path=/; HttpOnly") == "sid=aaaaaa…; Path=/; HttpOnly"
    assert mask_cookie("sid=; Max-Age=0") == "sid=; Max-Age=0"


def test_the_session_diff_names_added_changed_and_removed_values_and_flashes():
    before = SessionView(ID_A, {"a": "1", "b": "2"}, {"@0001": '{"level": "info"}'}, None, 100.0)
    after = SessionView(ID_A, {"a": "1", "b": "3", "c": "4"}, {}, "ada", 160.0)
    changes = [(c.what, c.change, c.key, c.before, c.after) for c in session_diff(before, after, now=0.0)]
    assert changes[:5] == [
        ("value", "changed", "b", "2", "3"),
        ("value", "added", "c", None, "4"),
        ("flash", "removed", "@0001", '{"level": "info"}', None),
        ("user", "changed", "", None, "ada"),
        ("expiry", "changed", "", changes[4][3], changes[4][4]),
    ]
    assert session_diff(before, after, now=0.0)[4].note == "1 min later"


def test_a_report_that_does_not_parse_is_none():
    assert LastAction.from_json("not json") is None
    assert LastAction.from_json('{"page": "/x"}') is None
    assert LastAction.from_json("[]") is None
    fine = LastAction("/p", "POST /x", "", 303, "kept", CookieChange("none", "", ""), [])
    assert LastAction.from_json(fine.to_json()) == fine
    assert LastAction.from_json(fine.to_json().replace("303", "999")) is None


def test_a_report_of_long_non_ascii_values_still_fits_a_cookie():
    wide = "😀" * 1000
    report = LastAction(
        "/database/page",
        "POST /database/value",
        shorten(f"key=k value={wide}", 96),
        303,
        "kept",
        CookieChange("changed", "sessionscookieid=abcdef…; Path=/", "why"),
        [Change("value", "changed", shorten(f"{i}{wide}", 64), shorten(wide), shorten(wide)) for i in range(8)],
        refusal=shorten(wide, 192),
        refusal_status=400,
    )
    report.fit()
    cookie = create_signed_value("a secret", COOKIE_NAME, report.to_json())
    assert len(cookie) + 120 < 4096  # the attributes and the name take less than 120 bytes
    assert 0 < len(report.changes) < 8
    assert report.more == 8 - len(report.changes)


def test_an_expiry_moved_by_less_than_a_second_says_so():
    """A quick second click slides the idle timeout by milliseconds: "0 s later" read like a bug."""
    assert expiry_change(100.0, 100.2, now=0.0).note == "under a second later"
    assert expiry_change(100.0, 99.7, now=0.0).note == "under a second earlier"
    assert expiry_change(100.0, 101.6, now=0.0).note == "2 s later"
    assert expiry_change(100.0, 40.0, now=0.0).note == "1 min earlier"
