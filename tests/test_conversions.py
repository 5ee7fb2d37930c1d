"""Iris's typed-getter conversion rules, table-driven, minus Iris's bugs."""

from __future__ import annotations

import math

import pytest

from sessions import ConversionError, Session, SessionKeyError
from sessions.record import Meta, Record
from sessions.values import encode


def new_session() -> Session:
    return Session("x" * 43, Record({}, Meta(created=0.0, touched=0.0)), stored=False)


def session_with(value) -> Session:
    session = new_session()
    session.set("k", value)
    return session


#: More digits than Python converts to an int (sys.get_int_max_str_digits() is 4300 by default).
TOO_LONG = "9" * 4301

# (getter, stored value, expected result or the exception it raises)
TABLE = [
    ("get_string", "iris", "iris"),
    ("get_string", "", ""),
    ("get_string", 5, "5"),
    ("get_string", -12, "-12"),
    ("get_string", 1.5, ConversionError),  # Iris: floats are not strings
    ("get_string", True, ConversionError),
    ("get_string", None, ConversionError),
    ("get_string", [1], ConversionError),
    ("get_int", 5, 5),
    ("get_int", "5", 5),  # Iris: a stored string "5" reads as 5
    ("get_int", "-7", -7),
    ("get_int", "+7", 7),
    ("get_int", 3.9, 3),  # truncated toward zero, as Go's int(float64)
    ("get_int", -3.9, -3),
    ("get_int", "abc", ConversionError),
    ("get_int", "5.0", ConversionError),
    ("get_int", " 5", ConversionError),
    ("get_int", "", ConversionError),
    ("get_int", True, ConversionError),  # a bool is not an int here, unlike Python's True == 1
    ("get_int", None, ConversionError),
    ("get_int", {"a": 1}, ConversionError),
    ("get_int", TOO_LONG, ConversionError),  # Python's int() refuses it with a bare ValueError
    ("get_int64", TOO_LONG, ConversionError),
    ("get_int64", 2**63 - 1, 2**63 - 1),
    ("get_int64", str(-(2**63)), -(2**63)),
    ("get_int64", 2**63, ConversionError),
    ("get_int64", "12", 12),
    ("get_float64", "0.1", 0.1),  # exactly 0.1: Iris parses it as a float32 (0.10000000149...)
    ("get_float64", 0.1, 0.1),
    ("get_float64", 2, 2.0),
    ("get_float64", "1e3", 1000.0),
    ("get_float64", "-.5", -0.5),
    ("get_float64", "abc", ConversionError),
    ("get_float64", "1_000", ConversionError),
    ("get_float64", False, ConversionError),
    ("get_float64", "9" * 400, ConversionError),  # beyond a double: Go's ParseFloat says out of range
    ("get_float64", "-inf", -math.inf),  # infinity spelt out is a float, as in Go
    ("get_float32", TOO_LONG, ConversionError),
    ("get_float32", "0.1", 0.10000000149011612),
    ("get_float32", 0.5, 0.5),
    ("get_float32", 3, 3.0),
    ("get_float32", "1e39", ConversionError),  # does not fit a float32
    ("get_float32", "x", ConversionError),
    ("get_boolean", True, True),
    ("get_boolean", False, False),
    *[("get_boolean", s, True) for s in ("1", "t", "T", "TRUE", "true", "True")],
    *[("get_boolean", s, False) for s in ("0", "f", "F", "FALSE", "false", "False")],
    ("get_boolean", "yes", ConversionError),
    ("get_boolean", 1, ConversionError),  # Iris: ints are not booleans
    ("get_boolean", None, ConversionError),
]


@pytest.mark.parametrize(("getter", "stored", "expected"), TABLE)
def test_typed_getter_conversions(getter, stored, expected):
    read = getattr(session_with(stored), getter)
    if isinstance(expected, type) and issubclass(expected, Exception):
        with pytest.raises(expected) as caught:
            read("k")
        assert isinstance(caught.value, ValueError)
        assert "'k'" in str(caught.value)
        assert read("k", default="fallback") == "fallback"
    else:
        result = read("k")
        assert result == expected
        assert type(result) is type(expected)
        assert read("k", default="fallback") == expected


@pytest.mark.parametrize("getter", ["get_string", "get_int", "get_int64", "get_float32", "get_float64", "get_boolean"])
def test_missing_key_raises_key_error_unless_a_default_is_given(getter):
    session = new_session()
    with pytest.raises(SessionKeyError) as caught:
        getattr(session, getter)("missing")
    assert isinstance(caught.value, KeyError)
    assert getattr(session, getter)("missing", default=-1) == -1
    assert getattr(session, getter)("missing", default=None) is None


@pytest.mark.parametrize(
    "value",
    [(1, 2), {1: "a"}, math.nan, math.inf, object(), {"a": (1,)}, b"bytes", {1, 2}],
    ids=["tuple", "int-key", "nan", "inf", "object", "nested-tuple", "bytes", "set"],
)
def test_a_value_that_cannot_be_stored_is_refused_at_set_time_naming_the_key(value):
    session = new_session()
    with pytest.raises(TypeError, match="'cart'"):
        session.set("cart", value)
    assert "cart" not in session


@pytest.mark.parametrize(
    "value", [None, True, False, 0, -5, 2**70, 0.1, -1e300, "", "héllo ✓", [], [1, "a", None], {"a": {"b": [1.5]}}]
)
def test_every_json_value_is_accepted(value):
    assert isinstance(encode("k", value), str)


@pytest.mark.parametrize("appended", [float("nan"), object(), (1, 2)])
def test_a_list_grown_in_place_with_what_json_cannot_hold_is_refused_naming_its_key(appended):
    session = session_with([])
    session.take_journal(Meta(created=0.0, touched=0.0), None)  # as a save would: the list is stored
    session.get("k").append(appended)
    with pytest.raises(TypeError, match="session value for key 'k'"):
        session.take_journal(Meta(created=0.0, touched=0.0), None)


def test_get_flash_string_converts_consumes_and_raises_like_the_typed_getters():
    session = new_session()
    with pytest.raises(SessionKeyError):
        session.get_flash_string("name")
    assert session.get_flash_string("name", default="none") == "none"

    session.set_flash("count", 5)
    assert session.get_flash_string("count") == "5"  # an int reads as its decimal text, as get_string
    journal = session.take_journal(Meta(created=0.0, touched=0.0), None)
    assert "f:count" in journal.deletes  # consumed: the save deletes it from the store

    session.set_flash("cart", ["a"])
    with pytest.raises(ConversionError):
        session.get_flash_string("cart")
    assert session.get_flash_string("cart", default="?") == "?"


@pytest.mark.parametrize("stored", [TOO_LONG, 10**4300 - 1], ids=["digits-beyond-4300", "count-reaching-4301-digits"])
def test_increment_of_a_number_too_long_to_convert_is_a_conversion_error_and_changes_nothing(stored):
    session = session_with(stored)
    with pytest.raises(ConversionError, match="'k'"):
        session.increment("k")
    journal = session.take_journal(Meta(created=0.0, touched=0.0), None)
    assert session.get("k") == stored
    assert not journal.increments
    assert journal.sets == {"v:k": encode("k", stored)}


def test_increment_still_counts_a_non_numeric_value_as_zero():
    assert session_with("abc").increment("k", 2) == 2
