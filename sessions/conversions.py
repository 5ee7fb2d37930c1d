"""Iris's typed-getter conversion rules, without Iris's bugs.

Each function takes the key (for the error message) and the stored value, and
returns the converted value or raises ``ConversionError``. The rules follow
Iris's ``GetInt``/``GetFloat64``/... so an Iris user finds what they expect: a
stored string ``"5"`` reads as the int 5. Where Iris is wrong we are not:
``"0.1"`` reads as exactly 0.1 (Iris parses it as a float32), and a bool never
reads as an int (Python's ``True == 1`` would otherwise leak through).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from typing import Any, TypeVar, cast

from .errors import ConversionError, SessionKeyError

T = TypeVar("T")
#: Stands for "no such key" and "no default given" (``None`` is a value and a default).
MISSING: Any = object()

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Go's strconv.Atoi and ParseFloat syntax: no spaces, no underscores.
_INT_SYNTAX = re.compile(r"[+-]?[0-9]+")
_FLOAT_SYNTAX = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)",
    re.IGNORECASE,
)
# Go's strconv.ParseBool.
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def converted(key: str, value: Any, convert: Callable[[str, Any], T], default: Any) -> T:
    """What a typed getter returns for ``value`` (``MISSING`` when the key is absent).

    The converted value; with a ``default``, the default instead of an error
    for a missing key or a value that does not convert. The default is returned
    as the caller gave it (Iris's getters take any default), hence the casts.
    """
    if value is MISSING:
        if default is MISSING:
            raise SessionKeyError(key)
        return cast(T, default)
    try:
        return convert(key, value)
    except ValueError:
        if default is MISSING:
            raise
        return cast(T, default)


def to_string(key: str, value: Any) -> str:
    """A string as is; an int in decimal (Iris's GetString)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ConversionError(key, value, "a string")


def to_int(key: str, value: Any) -> int:
    """An int as is, a float truncated toward zero, a decimal string parsed."""
    if isinstance(value, bool):
        raise ConversionError(key, value, "an int")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and _INT_SYNTAX.fullmatch(value):
        try:
            return int(value)
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits(), 4300 by default)
            raise ConversionError(key, value, "an int") from None
    raise ConversionError(key, value, "an int")


def to_int64(key: str, value: Any) -> int:
    """Like ``to_int``, refusing what does not fit in 64 signed bits."""
    number = to_int(key, value)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise ConversionError(key, value, "a 64-bit int")
    return number


def to_float64(key: str, value: Any) -> float:
    """A number as a float; a string parsed at full double precision."""
    if isinstance(value, bool):
        raise ConversionError(key, value, "a float")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            raise ConversionError(key, value, "a float") from None
    if isinstance(value, str) and _FLOAT_SYNTAX.fullmatch(value):
        number = float(value)
        if math.isinf(number) and "inf" not in value.lower():
            raise ConversionError(key, value, "a float")  # Go's ParseFloat: out of range, not infinity
        return number
    raise ConversionError(key, value, "a float")


def to_float32(key: str, value: Any) -> float:
    """Like ``to_float64``, rounded to the nearest single-precision float."""
    number = to_float64(key, value)
    single: float = struct.unpack("f", struct.pack("f", number))[0]
    if math.isinf(single) and not math.isinf(number):
        raise ConversionError(key, value, "a 32-bit float")  # Go's ParseFloat(s, 32): out of range
    return single


def to_boolean(key: str, value: Any) -> bool:
    """A bool as is; the strings Go's ``strconv.ParseBool`` accepts."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    raise ConversionError(key, value, "a boolean")


def to_counter(key: str, value: Any) -> int:
    """The number ``increment()`` starts from: the int reading, else 0 (as Iris).

    A string of digits too long to convert raises ``ConversionError``: counting
    it as 0 would silently replace a number with a small one.
    """
    try:
        return to_int(key, value)
    except ConversionError:
        if isinstance(value, str) and _INT_SYNTAX.fullmatch(value):
            raise
        return 0
