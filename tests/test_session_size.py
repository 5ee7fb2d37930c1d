"""The byte limit's running total: after any sequence of changes it is the session's exact size.

``Session`` counts its fields' bytes once and then adjusts the count by each change
(``sessions/limits.py``), so these tests drive every kind of change (sets, immutable
sets, deletes, clears, increments, flashes read and spent by a save, lists grown in
place, counters the store sent back) and then check the limit at its exact edge: a
value that brings the session to the limit is accepted, one byte more is refused,
with the size the whole session measured from scratch would have.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions import ImmutableKeyError, SessionTooLargeError
from sessions.limits import ByteLimit
from sessions.record import Meta, Record, apply_journal, increment_text
from sessions.session import Session

LIMIT = 20_000
KEYS = ["a", "clé", "ключ", "cart", "n"]  # non-ASCII keys: bytes, not characters, are counted
texts = st.text(alphabet=st.sampled_from("xé€😀"), max_size=12)
json_values = st.one_of(st.integers(-(10**6), 10**6), texts, st.lists(texts, max_size=3))

operations = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(KEYS), json_values),
    st.tuples(st.just("set_immutable"), st.sampled_from(KEYS), json_values),
    st.tuples(st.just("delete"), st.sampled_from(KEYS), st.none()),
    st.tuples(st.just("clear"), st.none(), st.none()),
    st.tuples(st.just("increment"), st.sampled_from(KEYS), st.integers(-5, 5)),
    st.tuples(st.just("set_flash"), st.sampled_from(KEYS), json_values),
    st.tuples(st.just("get_flash"), st.sampled_from(KEYS), st.none()),
    st.tuples(st.just("grow"), st.sampled_from(KEYS), texts),
    st.tuples(st.just("save"), st.none(), st.none()),
)


def measured(session: Session) -> int:
    """The session's keys and values in UTF-8 bytes, counted from scratch."""
    fields = session.record(session.meta).fields
    return sum(len(name.encode()) + len(text.encode()) for name, text in fields.items())


def apply(session: Session, stored: dict[str, str], operation: tuple[str, Any, Any]) -> None:
    """Make one change; ``stored`` plays the store, so a save hands back real counters."""
    action, key, argument = operation
    try:
        if action in ("set", "set_immutable", "set_flash"):
            getattr(session, action)(key, argument)
        elif action in ("delete", "get_flash"):
            getattr(session, action)(key)
        elif action == "clear":
            session.clear()
        elif action == "increment":
            session.increment(key, argument)
        elif action == "grow":
            value = session.get(key)
            if isinstance(value, list):
                value.append(argument)  # in place: only the save sees it
        else:
            session.has_changes()
            session.check_size()
            journal = session.take_journal(session.meta.copy(), None)
            journal.create = not stored
            for name in journal.increments:  # another request counted meanwhile: the store's count is longer
                stored[name] = increment_text(stored.get(name), 10**6)
            session.saved(apply_journal(stored, journal))
    except ImmutableKeyError:
        pass


def new_session() -> Session:
    return Session("s" * 43, Record({}, Meta(created=0.0, touched=0.0)), stored=False, limit=ByteLimit(LIMIT))


@settings(max_examples=300, deadline=None)
@given(st.lists(operations, max_size=40))
def test_the_limit_holds_at_its_exact_edge_after_any_changes(changes):
    session, stored = new_session(), dict[str, str]()
    for change in changes:
        apply(session, stored, change)
    session.has_changes()  # lists grown in place are written now, as a save would
    session.delete("pad")
    room = LIMIT - measured(session) - len(b'v:pad""')

    session.set("pad", "x" * room)  # exactly at the limit: accepted
    assert measured(session) == LIMIT
    with pytest.raises(SessionTooLargeError) as refused:
        session.set("pad", "x" * (room + 1))
    assert refused.value.size == LIMIT + 1
    assert session.get("pad") == "x" * room  # the refused write was not applied


def test_a_list_grown_past_the_limit_is_refused_at_the_save_with_its_size():
    session = new_session()
    session.set("cart", [])
    session.get("cart").append("é" * (LIMIT // 2))  # two bytes a character: over the limit only in bytes
    session.has_changes()
    with pytest.raises(SessionTooLargeError) as refused:
        session.check_size()
    assert refused.value.size == measured(session) > LIMIT


def test_a_value_set_then_grown_in_place_in_one_request_is_saved_grown():
    session = new_session()
    session.set("cart", [])
    session.get("cart").append("book")
    assert session.has_changes()
    assert session.take_journal(session.meta.copy(), None).sets == {"v:cart": '["book"]'}


def test_a_loaded_session_is_counted_with_what_it_already_holds():
    fields = {"v:big": '"' + "€" * 6000 + '"', "f:note": '"ok"'}  # 18,002 bytes of text
    session = Session("s" * 43, Record(fields, Meta(created=0.0, touched=0.0)), stored=True, limit=ByteLimit(LIMIT))
    room = LIMIT - measured(session) - len(b'v:pad""')
    session.set("pad", "x" * room)
    with pytest.raises(SessionTooLargeError):
        session.set("more", 1)
    session.delete("big")
    session.set("more", 1)  # the delete made room
    assert measured(session) == room + len(b'v:pad""') + len(b"f:note") + 4 + len(b"v:more1")
