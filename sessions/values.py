"""How session values are turned into text for the stores, and back.

Values are JSON values (``None``, ``bool``, ``int``, finite ``float``, ``str``,
``list`` and ``dict`` with ``str`` keys), never pickle: a store that someone else
can write to must not be a way to run code. A value is checked when it is set,
so a bad value fails in the handler that set it, naming the key, rather than in
a store after the response has gone.

A stored value is one line of text: the JSON, prefixed with ``!`` when the key
was set with ``set_immutable()``. Every store keeps that text as it is, so the
immutable flag and the value's type survive every store alike.
"""

from __future__ import annotations

import json
from typing import Any

_IMMUTABLE_MARK = "!"
_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_dumps = _encoder.encode


def encode(key: str, value: Any) -> str:
    """Return the JSON text of ``value``, or raise ``TypeError`` naming ``key``.

    A value must read back equal to itself: this refuses what JSON would quietly
    change, such as a tuple (it would come back a list), a dict with non-string
    keys, NaN or infinity, or an arbitrary object.
    """
    try:
        text = _dumps(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"session value for key {key!r} is not a JSON value: {exc}") from None
    if json.loads(text) != value:
        raise TypeError(
            f"session value for key {key!r} would not read back unchanged from JSON "
            f"(tuples, non-string dict keys and the like): {value!r}"
        )
    return text


def pack(text: str, immutable: bool) -> str:
    """Return the stored form of a value's JSON ``text``."""
    return _IMMUTABLE_MARK + text if immutable else text


def is_immutable(stored: str) -> bool:
    """Tell whether a stored value was set with ``set_immutable()``."""
    return stored.startswith(_IMMUTABLE_MARK)


def unpack(stored: str) -> Any:
    """Return a fresh Python object decoded from a stored value."""
    return json.loads(stored[1:] if stored.startswith(_IMMUTABLE_MARK) else stored)


def dumps(value: Any) -> str:
    """Return compact JSON for a value already known to be valid."""
    return _dumps(value)
