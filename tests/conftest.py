"""Shared fixtures: the real app on a real port, a cookie-keeping client, a clock."""

from __future__ import annotations

import pytest

from app import make_app
from sessions import MemoryStore
from tests.clock import FakeClock
from tests.cookie_client import CookieClient


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def app(store, clock):
    return make_app(store=store, clock=clock)


@pytest.fixture
def client(http_client, base_url) -> CookieClient:
    return CookieClient(http_client, base_url)


@pytest.fixture
def other_client(http_client, base_url) -> CookieClient:
    """A second browser, with its own cookie jar."""
    return CookieClient(http_client, base_url)
