"""Lifecycle events are logged, and never with a raw session ID or cookie value (OWASP)."""

from __future__ import annotations

import logging

import pytest

from tests.support.cookie_client import CookieClient

COOKIE = "mycookiesessionnameid"


@pytest.mark.gen_test
async def test_lifecycle_is_logged_with_fingerprints_only(client: CookieClient, clock, caplog):
    caplog.set_level(logging.INFO, logger="sessions")
    seen_ids = []

    await client.get("/login")
    seen_ids.append(client.jar[COOKIE])
    await client.get("/login")  # regenerate
    seen_ids.append(client.jar[COOKIE])
    await client.get("/logout")
    client.jar[COOKIE] = "planted-" + "x" * 40
    await client.get("/secret")  # a rejected cookie
    await client.get("/login")
    seen_ids.append(client.jar[COOKIE])
    clock.advance(9 * 3600)  # past the 8-hour absolute timeout
    await client.get("/secret")  # expired

    messages = [record.getMessage() for record in caplog.records if record.name == "sessions"]
    text = "\n".join(messages)
    for event in ("created", "regenerated", "destroyed", "rejected", "expired"):
        assert event in text, f"no {event!r} event in:\n{text}"
    for raw in [*seen_ids, "planted-"]:
        assert raw not in text
