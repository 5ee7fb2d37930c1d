"""Flash messages: values that live until the request after the one that reads them.

Two styles share one storage (the ``f:`` fields of the session record, saved in
the store with the values, so flashes survive restarts and cross processes):

* Iris's keyed flashes: ``set_flash("name", "iris")`` then ``get_flash("name")``.
* Leveled messages, as in Django's messages framework and Flask's categories:
  ``flash("Saved.", level="success")`` then ``get_messages()`` on the next page.

Lifetime, exactly: a flash that is read (``get_flash``, ``get_flash_string``,
``get_flashes``, ``get_messages``) stays readable for the rest of that request
and is deleted from the store when the request's session is saved (a save in
the middle of the request, before a ``flush()``, keeps it readable until the
request ends); ``peek_flash`` does not consume. Consumption is tracked on the
session object, which a request builds once, so starting the session twice
never consumes early (an Iris bug).
"""

from __future__ import annotations

import secrets
import time
from typing import Any, NamedTuple

from . import conversions, values
from .conversions import MISSING
from .journaled import JournaledRecord
from .limits import SizeLimit
from .record import FLASH_PREFIX, Record

LEVELS = ("debug", "info", "success", "warning", "error")
#: Keyed flashes whose key starts with this are leveled messages.
MESSAGE_MARK = "@"
_last_stamp = 0


class FlashMessage(NamedTuple):
    """One leveled message, as ``get_messages()`` returns it."""

    level: str
    message: str


class Flashes(JournaledRecord):
    """The flash half of ``Session``: flashes are the record's ``f:`` fields."""

    def __init__(self, session_id: str, record: Record, *, stored: bool, limit: SizeLimit | None = None) -> None:
        super().__init__(session_id, record, stored=stored, limit=limit)
        # Flashes this request read: the next save deletes them from the store.
        self._consumed: set[str] = set()
        # Flashes this request consumed and a save already deleted from the store:
        # still readable until the request ends.
        self._spent: dict[str, str] = {}

    def set_flash(self, key: str, value: Any) -> None:
        """Store a flash; it replaces any flash under ``key``, read or not."""
        name = FLASH_PREFIX + key
        self._write(name, values.encode(key, value))
        self._consumed.discard(name)
        self._spent.pop(name, None)

    def get_flash(self, key: str, default: Any = None) -> Any:
        """Return the flash under ``key`` and consume it, or ``default``."""
        name = FLASH_PREFIX + key
        stored = self._flash_text(name)
        if stored is None:
            return default
        self._consumed.add(name)
        return values.unpack(stored)

    def get_flash_string(self, key: str, default: Any = MISSING) -> str:
        """Like ``get_flash``, as a string; raises like the typed getters unless ``default``."""
        return conversions.converted(key, self.get_flash(key, MISSING), conversions.to_string, default)

    def peek_flash(self, key: str, default: Any = None) -> Any:
        """Return the flash under ``key`` without consuming it."""
        stored = self._flash_text(FLASH_PREFIX + key)
        return default if stored is None else values.unpack(stored)

    def peek_flashes(self) -> dict[str, Any]:
        """Return every flash readable in this request without consuming any (for debug views)."""
        start = len(FLASH_PREFIX)
        return {name[start:]: values.unpack(text) for name, text in self._readable_flashes().items()}

    def has_flash(self) -> bool:
        """Tell whether any flash is readable in this request."""
        return bool(self._flash_names())

    def get_flashes(self) -> dict[str, Any]:
        """Return every flash (leveled messages included) and consume them all."""
        flashes = self.peek_flashes()
        self._consumed.update(self._flash_names())
        return flashes

    def delete_flash(self, key: str) -> bool:
        """Remove the flash under ``key`` now; tell whether there was one."""
        name = FLASH_PREFIX + key
        spent = self._spent.pop(name, None) is not None
        return self._remove(name) or spent

    def clear_flashes(self) -> None:
        """Remove every flash now."""
        self._spent.clear()
        for name in self._flash_names():
            self._remove(name)

    def flash(self, message: str, level: str = "info") -> None:
        """Queue a message for the next page, with a level from ``LEVELS``."""
        if level not in LEVELS:
            raise ValueError(f"flash level must be one of {', '.join(LEVELS)}, not {level!r}")
        if not isinstance(message, str):
            raise TypeError(f"flash message must be a str, not {type(message).__name__}")
        self.set_flash(_message_key(), {"level": level, "message": message})

    def get_messages(self) -> list[FlashMessage]:
        """Return the queued leveled messages, oldest first, and consume them."""
        prefix = FLASH_PREFIX + MESSAGE_MARK
        readable = self._readable_flashes()
        names = sorted(name for name in readable if name.startswith(prefix))
        self._consumed.update(names)
        return [_message(values.unpack(readable[name])) for name in names]

    def _has_unsaved_consumption(self) -> bool:
        """Tell whether a flash read in this request is still in the store."""
        return bool(self._consumed) and any(name in self._fields for name in self._consumed)

    def _spend_consumed(self) -> None:
        """Delete the consumed flashes (the save sends the deletes), keeping them readable in this request."""
        for name in self._consumed:
            stored = self._fields.get(name)
            if stored is not None:
                self._spent[name] = stored
                self._remove(name)
        self._consumed = set()

    def _flash_text(self, name: str) -> str | None:
        """The stored text of a flash readable in this request, or ``None``."""
        stored = self._fields.get(name)
        return self._spent.get(name) if stored is None else stored

    def _readable_flashes(self) -> dict[str, str]:
        """Every flash readable in this request, name to stored text (fields first, then spent ones)."""
        readable = {name: text for name, text in self._fields.items() if name.startswith(FLASH_PREFIX)}
        readable.update(self._spent)
        return readable

    def _flash_names(self) -> list[str]:
        """Every flash readable in this request (``_spent`` never overlaps ``_fields``)."""
        return [name for name in self._fields if name.startswith(FLASH_PREFIX)] + list(self._spent)


def _message_key() -> str:
    """A flash key that sorts after every message this process queued before.

    The wall clock may step back (NTP, a resumed VM), so the stamp never
    repeats or decreases here; the random tail keeps two processes that flash
    to one session in the same nanosecond from overwriting each other.
    """
    global _last_stamp
    _last_stamp = max(time.time_ns(), _last_stamp + 1)
    return f"{MESSAGE_MARK}{_last_stamp:020d}{secrets.token_hex(4)}"


def _message(value: Any) -> FlashMessage:
    """Read a stored message, tolerating one written by something else."""
    if isinstance(value, dict) and value.get("level") in LEVELS:
        return FlashMessage(value["level"], str(value.get("message", "")))
    return FlashMessage("info", str(value))
