"""Stored value text: the shortcut for counters writes exactly what JSON would."""

from __future__ import annotations

import json

import pytest

from sessions import values


@pytest.mark.parametrize("value", [0, 7, -42, 10**30, True, False, None, 1.5, "7", [1, 2], {"a": 1}])
def test_dumps_writes_compact_json_for_every_kind_of_value(value):
    # bool is an int subclass: it must still be written "true"/"false", never "True".
    assert values.dumps(value) == json.dumps(value, separators=(",", ":"))
    assert values.unpack(values.dumps(value)) == value
