"""The store written on docs/writing-a-store.md passes the conformance suite, so the page stays honest.

The page's code block is taken from the page as it is and run; the conformance
suite's tests are imported here, where ``store`` is that page's store instead of
each of the project's stores. A conformance test pinned to named stores (a
restart, two processes, data corrupted behind a store's back) is left out: it is
about those stores' files and servers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

import tests.test_store_conformance as conformance
from sessions import SessionStore
from tests.support.clock import FakeClock
from tests.test_store_conformance import app, server_ttl, wide_client  # noqa: F401 (fixtures the tests use)

PAGE = Path(__file__).resolve().parent.parent / "docs" / "writing-a-store.md"
MARKER = "<!-- the store tests/test_writing_a_store.py runs the conformance suite against -->"


def page_code() -> str:
    """The code block that follows the page's marker."""
    after_marker = PAGE.read_text().split(MARKER, 1)[1]
    opening, rest = after_marker.lstrip("\n").split("\n", 1)
    assert opening == "```python", "the marker must sit right above the store's code block"
    return rest.split("\n```\n", 1)[0]


def page_store_class() -> Callable[..., SessionStore]:  # the page's class, built with the page's keywords
    namespace: dict[str, object] = {"__name__": "writing_a_store"}
    exec(compile(page_code(), str(PAGE), "exec"), namespace)
    (store_class,) = [
        value
        for value in namespace.values()
        if isinstance(value, type) and issubclass(value, SessionStore) and value is not SessionStore
    ]
    return store_class


def pinned_to_named_stores(test: object) -> bool:
    marks = getattr(test, "pytestmark", [])
    parametrized = {name for mark in marks if mark.name == "parametrize" for name in mark.args[0].split(",")}
    return bool(parametrized & {"kind", "any_store"})


def conformance_tests() -> dict[str, object]:
    """Every conformance test that takes the ``store`` fixture and is not pinned to named stores."""
    return {
        name: test
        for name, test in vars(conformance).items()
        if name.startswith("test_")
        and "store" in inspect.signature(test).parameters
        and not pinned_to_named_stores(test)
    }


DictStore = page_store_class()
globals().update(conformance_tests())


@pytest.fixture
def store(clock: FakeClock) -> SessionStore:
    return DictStore(clock=clock)


def test_the_page_store_runs_most_of_the_conformance_suite():
    """Guards the selection above: a change that silently left most tests out would fail here."""
    every_test = [name for name in vars(conformance) if name.startswith("test_")]
    # Left out: a restart, two processes, and three tests of data written behind SQLite's and Redis's back.
    assert len(conformance_tests()) >= len(every_test) - 5
    assert "test_a_save_applies_the_journal_exactly_like_apply_journal" in conformance_tests()
