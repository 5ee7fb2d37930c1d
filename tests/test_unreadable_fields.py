"""A field that is not JSON, as a store something else wrote to may hold: each way of reading it.

Loads do not parse every field (``sessions/record.py``); ``Session`` finds such a
field when it is read. Every reader treats it as absent, with a warning naming the
field, and nothing else in the session changes. The stores' side (a real SQLite file
and a real Redis holding one) is in tests/test_store_conformance.py.
"""

from __future__ import annotations

import logging

import pytest

from sessions import ConversionError, SessionKeyError
from sessions.flashes import MESSAGE_MARK, FlashMessage
from sessions.limits import ByteLimit
from sessions.record import Meta, Record
from sessions.session import Session

BROKEN = "{not json"
GOOD = {"v:name": '"iris"', "v:cart": '["book"]', "f:notice": '"saved"'}


def loaded(fields: dict[str, str]) -> Session:
    record = Record({**GOOD, **fields}, Meta(created=0.0, touched=0.0))
    return Session("s" * 43, record, stored=True, limit=ByteLimit(64 * 1024))


def test_get_gives_the_default_and_logs_the_field(caplog):
    session = loaded({"v:bad": BROKEN})
    with caplog.at_level(logging.WARNING, logger="sessions"):
        assert session.get("bad") is None
        assert session.get("bad", "fallback") == "fallback"
    assert "field 'v:bad' is not JSON: read as absent" in caplog.text
    assert session.get("name") == "iris"


def test_a_request_that_reads_it_many_ways_logs_it_once(caplog):
    session = loaded({"v:bad": BROKEN, "v:worse": BROKEN})
    with caplog.at_level(logging.WARNING, logger="sessions"):
        session.get("bad")
        session.get_all()
        len(session)
        assert "bad" not in session
        list(session)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2  # one per unreadable field
    assert sum("field 'v:bad' is not JSON" in line for line in lines) == 1
    assert sum("field 'v:worse' is not JSON" in line for line in lines) == 1


def test_typed_getters_treat_it_as_missing():
    session = loaded({"v:bad": BROKEN})
    assert session.get_int("bad", 7) == 7
    with pytest.raises(SessionKeyError):
        session.get_string("bad")
    with pytest.raises(SessionKeyError):
        session["bad"]


def test_listings_leave_it_out():
    session = loaded({"v:bad": BROKEN, "v:huge": "9" * 5000})  # JSON, but more digits than Python reads
    assert session.get_all() == {"name": "iris", "cart": ["book"]}
    assert sorted(session) == ["cart", "name"]
    assert len(session) == 2
    assert "bad" not in session
    assert "name" in session


def test_flashes_that_are_not_json_read_as_absent():
    session = loaded(
        {"f:bad": BROKEN, f"f:{MESSAGE_MARK}1": "[1", f"f:{MESSAGE_MARK}2": '{"level":"error","message":"x"}'}
    )
    assert session.peek_flash("bad", "none") == "none"
    assert session.peek_flashes() == {"notice": "saved", f"{MESSAGE_MARK}2": {"level": "error", "message": "x"}}
    assert session.get_messages() == [FlashMessage("error", "x")]
    assert session.get_flash("bad") is None


def test_a_set_replaces_it_even_behind_an_immutable_mark():
    session = loaded({"v:bad": BROKEN, "v:locked": "!" + BROKEN})
    session.set("bad", 1)
    session.set("locked", 2)  # not a readable immutable value: nothing to protect
    assert session.get_all() == {"name": "iris", "cart": ["book"], "bad": 1, "locked": 2}


def test_increment_counts_it_as_zero_and_a_number_too_long_for_python_is_refused():
    session = loaded({"v:bad": BROKEN, "v:huge": "9" * 5000})
    assert session.increment("bad", 2) == 2
    with pytest.raises(ConversionError, match="fewer digits than Python converts"):
        session.increment("huge")


def test_a_save_sends_only_what_changed():
    session = loaded({"v:bad": BROKEN})
    session.get("bad")
    session.set("name", "ada")
    journal = session.take_journal(session.meta.copy(), None)
    assert journal.sets == {"v:name": '"ada"'}
    assert not journal.deletes
