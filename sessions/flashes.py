"""Flash messages: values that live until the request after the one that reads them.

Two styles share one storage (the ``f:`` fields of the session record, saved in
the store with the values, so flashes survive restarts and cross processes):

* Iris's keyed flashes: ``set_flash("name", "iris")`` then ``get_flash("name")``.
* Leveled messages, as in Django's messages framework and Flask's categories:
  ``flash("Saved.", level="success")`` then ``get_messages()`` on the next page.

Lifetime, exactly: a flash that is read (``get_flash``, ``get_flash_string``,
``get_flashes``, ``get_messages``) stays readable for the rest of that request
and is deleted when the request's session is saved; ``peek_flash`` does not
consume. Consumption is tracked on the session object, which a request builds
once, so starting the session twice never consumes early (an Iris bug).
"""

from __future__ import annotations

import itertools
import time
from typing import Any, NamedTuple

from . import conversions, values
from .errors import SessionKeyError
from .record import FLASH_PREFIX

LEVELS = ("debug", "info", "success", "warning", "error")
#: Keyed flashes whose key starts with this are leveled messages.
MESSAGE_MARK = "@"
_sequence = itertools.count()
_MISSING: Any = object()


class FlashMessage(NamedTuple):
    """One leveled message, as ``get_messages()`` returns it."""

    level: str
    message: str


class FlashMixin:
    """The flash half of ``Session``; it works on the session's fields."""

    _fields: dict[str, str]
    _consumed: set[str]

    def _write(self, name: str, stored: str) -> None: ...  # provided by Session
    def _remove(self, name: str) -> bool: ...  # provided by Session

    def set_flash(self, key: str, value: Any) -> None:
        """Store a flash; it replaces any flash under ``key``, read or not."""
        name = FLASH_PREFIX + key
        self._write(name, values.encode(key, value))
        self._consumed.discard(name)

    def get_flash(self, key: str, default: Any = None) -> Any:
        """Return the flash under ``key`` and consume it, or ``default``."""
        name = FLASH_PREFIX + key
        stored = self._fields.get(name)
        if stored is None:
            return default
        self._consumed.add(name)
        return values.unpack(stored)

    def get_flash_string(self, key: str, default: Any = _MISSING) -> str:
        """Like ``get_flash``, as a string; raises like the typed getters unless ``default``."""
        if FLASH_PREFIX + key not in self._fields:
            if default is _MISSING:
                raise SessionKeyError(key)
            return default
        try:
            return conversions.to_string(key, self.get_flash(key))
        except ValueError:
            if default is _MISSING:
                raise
            return default

    def peek_flash(self, key: str, default: Any = None) -> Any:
        """Return the flash under ``key`` without consuming it."""
        stored = self._fields.get(FLASH_PREFIX + key)
        return default if stored is None else values.unpack(stored)

    def has_flash(self) -> bool:
        """Tell whether any flash is readable in this request."""
        return any(name.startswith(FLASH_PREFIX) for name in self._fields)

    def get_flashes(self) -> dict[str, Any]:
        """Return every flash (leveled messages included) and consume them all."""
        start = len(FLASH_PREFIX)
        names = self._flash_names()
        self._consumed.update(names)
        return {name[start:]: values.unpack(self._fields[name]) for name in names}

    def delete_flash(self, key: str) -> bool:
        """Remove the flash under ``key`` now; tell whether there was one."""
        return self._remove(FLASH_PREFIX + key)

    def clear_flashes(self) -> None:
        """Remove every flash now."""
        for name in self._flash_names():
            self._remove(name)

    def flash(self, message: str, level: str = "info") -> None:
        """Queue a message for the next page, with a level from ``LEVELS``."""
        if level not in LEVELS:
            raise ValueError(f"flash level must be one of {', '.join(LEVELS)}, not {level!r}")
        if not isinstance(message, str):
            raise TypeError(f"flash message must be a str, not {type(message).__name__}")
        key = f"{MESSAGE_MARK}{time.time_ns():020d}{next(_sequence) % 10**6:06d}"
        self.set_flash(key, {"level": level, "message": message})

    def get_messages(self) -> list[FlashMessage]:
        """Return the queued leveled messages, oldest first, and consume them."""
        prefix = FLASH_PREFIX + MESSAGE_MARK
        names = sorted(name for name in self._flash_names() if name.startswith(prefix))
        self._consumed.update(names)
        return [_message(values.unpack(self._fields[name])) for name in names]

    def _flash_names(self) -> list[str]:
        return [name for name in self._fields if name.startswith(FLASH_PREFIX)]


def _message(value: Any) -> FlashMessage:
    """Read a stored message, tolerating one written by something else."""
    if isinstance(value, dict) and value.get("level") in LEVELS:
        return FlashMessage(value["level"], str(value.get("message", "")))
    return FlashMessage("info", str(value))
