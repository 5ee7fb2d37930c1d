"""The overview step over real HTTP: Iris's login/secret/logout, and what we do better."""

from __future__ import annotations

import pytest

from tests.support.cookie_client import CookieClient, set_cookies, text

COOKIE = "mycookiesessionnameid"
NS = COOKIE  # each manager keeps its sessions in the namespace of its cookie name


@pytest.mark.gen_test
async def test_walkthrough_login_secret_logout(client: CookieClient):
    response = await client.get("/secret")
    assert (response.code, text(response)) == (403, "Forbidden")

    response = await client.get("/login")
    assert response.code == 200
    assert COOKIE in set_cookies(response)

    response = await client.get("/secret")
    assert (response.code, text(response)) == (200, "The cake is a lie!")

    response = await client.get("/logout")
    assert response.code == 200
    assert COOKIE not in client.jar

    response = await client.get("/secret")
    assert (response.code, text(response)) == (403, "Forbidden")


@pytest.mark.gen_test
async def test_anonymous_secret_creates_no_session_and_no_cookie(client: CookieClient, store):
    for _ in range(5):
        response = await client.get("/secret")
        assert response.code == 403
        assert "Set-Cookie" not in response.headers
    assert len(store) == 0


@pytest.mark.gen_test
async def test_session_cookie_has_safe_default_attributes(client: CookieClient):
    header = set_cookies(await client.get("/login"))[COOKIE]
    name_value, *attributes = header.split("; ")
    assert len(name_value.split("=", 1)[1]) >= 43  # 256 bits of url-safe base64
    assert set(attributes) == {"Path=/", "HttpOnly", "SameSite=Lax"}  # host-only, browser-session


@pytest.mark.gen_test
async def test_session_responses_are_not_cached(client: CookieClient):
    response = await client.get("/secret")
    assert response.headers["Cache-Control"] == "no-store"
    assert "Cookie" in response.headers.get_list("Vary")


@pytest.mark.gen_test
async def test_login_regenerates_an_existing_session_id(client: CookieClient, other_client: CookieClient):
    await client.get("/login")
    first_id = client.jar[COOKIE]

    response = await client.get("/login")
    second_id = client.jar[COOKIE]
    assert COOKIE in set_cookies(response)
    assert second_id != first_id
    assert text(await client.get("/secret")) == "The cake is a lie!"

    # The old cookie value, replayed by someone else, no longer authenticates.
    other_client.jar[COOKIE] = first_id
    response = await other_client.get("/secret")
    assert response.code == 403


@pytest.mark.gen_test
async def test_logout_invalidates_the_session_on_the_server(client: CookieClient, other_client: CookieClient):
    await client.get("/login")
    stolen = client.jar[COOKIE]
    await client.get("/logout")

    other_client.jar[COOKIE] = stolen
    response = await other_client.get("/secret")
    assert response.code == 403


@pytest.mark.gen_test
async def test_logout_expires_the_cookie_with_the_attributes_it_was_set_with(client: CookieClient):
    set_header = set_cookies(await client.get("/login"))[COOKIE]
    delete_header = set_cookies(await client.get("/logout"))[COOKIE]
    assert delete_header.startswith(f"{COOKIE}=;")
    assert "Max-Age=0" in delete_header
    assert "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in delete_header
    kept = {"Path=/", "HttpOnly", "SameSite=Lax"}
    assert kept <= set(set_header.split("; "))
    assert kept <= set(delete_header.split("; "))


@pytest.mark.gen_test
@pytest.mark.parametrize(
    "planted",
    [
        "made-up-value",
        "A" * 43,  # well-formed, but never issued by this server
        "../../etc/passwd",
        "*",
    ],
)
async def test_a_cookie_the_server_did_not_issue_is_never_adopted(client: CookieClient, store, planted):
    client.jar[COOKIE] = planted
    response = await client.get("/secret")
    assert response.code == 403

    response = await client.get("/login")
    assert response.code == 200
    issued = client.jar[COOKIE]
    assert issued != planted
    assert text(await client.get("/secret")) == "The cake is a lie!"
    assert await store.load(NS, planted) is None


@pytest.mark.gen_test
async def test_other_clients_do_not_share_a_session(client: CookieClient, other_client: CookieClient):
    await client.get("/login")
    assert (await other_client.get("/secret")).code == 403


@pytest.mark.gen_test
async def test_log_out_everywhere_ends_every_session_of_the_user(client, other_client, http_client, base_url, store):
    third = CookieClient(http_client, base_url)
    await client.get("/login?user=alice")
    await other_client.get("/login?user=alice")  # alice on a second device
    await third.get("/login?user=bob")

    response = await client.get("/logout-everywhere")
    assert (response.code, text(response)) == (200, "Logged out alice everywhere: 2 session(s) ended")
    assert COOKIE not in client.jar
    assert (await client.get("/secret")).code == 403
    assert (await other_client.get("/secret")).code == 403
    assert text(await third.get("/secret")) == "The cake is a lie!"  # bob is untouched
    assert len(store) == 1


@pytest.mark.gen_test
async def test_log_out_everywhere_needs_a_login(client):
    response = await client.get("/logout-everywhere")
    assert (response.code, text(response)) == (403, "Forbidden: you are not logged in")


@pytest.mark.gen_test
async def test_a_bad_user_name_is_refused(client, store):
    response = await client.get("/login?user=" + "x" * 65)
    assert response.code == 400
    assert "user must be" in text(response)
    assert len(store) == 0
