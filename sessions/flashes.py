"""Flash messages' vocabulary: levels, the leveled message, and how one is keyed and read back.

``Session`` keeps the flashes themselves (its ``f:`` fields) and their lifetime;
this module holds what a template or a handler names: ``LEVELS``,
``FlashMessage`` and ``MESSAGE_MARK``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, NamedTuple

LEVELS = ("debug", "info", "success", "warning", "error")
#: Keyed flashes whose key starts with this are leveled messages.
MESSAGE_MARK = "@"
_last_stamp = 0


class FlashMessage(NamedTuple):
    """One leveled message, as ``get_messages()`` returns it."""

    level: str
    message: str


def message_key() -> str:
    """A flash key that sorts after every message this process queued before.

    The wall clock may step back (NTP, a resumed VM), so the stamp never
    repeats or decreases here; the random tail keeps two processes that flash
    to one session in the same nanosecond from overwriting each other.
    """
    global _last_stamp
    _last_stamp = max(time.time_ns(), _last_stamp + 1)
    return f"{MESSAGE_MARK}{_last_stamp:020d}{secrets.token_hex(4)}"


def read_message(value: Any) -> FlashMessage:
    """Read a stored message, tolerating one written by something else."""
    if isinstance(value, dict) and value.get("level") in LEVELS:
        return FlashMessage(value["level"], str(value.get("message", "")))
    return FlashMessage("info", str(value))
