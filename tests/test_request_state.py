"""A request's session state: one small object on the handler, and no reference cycle left behind.

A handler, its session and its state are freed by reference counting when the
request ends; a cycle among them would wait for the garbage collector, which
under load means memory growth and collection pauses.
"""

from __future__ import annotations

import gc

import pytest
from tornado.web import RequestHandler

from sessions import Session
from sessions.manager import RequestState
from tests.support.cookie_client import CookieClient


@pytest.mark.gen_test
async def test_a_request_leaves_no_cycle_through_its_handler_session_or_state(client: CookieClient):
    await client.get("/standalone/set")  # a first request fills caches that live on
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds stays in gc.garbage, for us to look at
    try:
        # Plain-text answers: a rendered template has cycles of Tornado's own (its UI modules hold the handler).
        for path in ("/standalone/set", "/standalone/get", "/standalone/update", "/standalone/destroy"):
            await client.get(path)
        gc.collect()
        caught = [type(obj).__name__ for obj in gc.garbage if isinstance(obj, (RequestHandler, Session, RequestState))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert caught == []
