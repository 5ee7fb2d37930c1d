"""The session object a handler works with: Iris's API in snake_case.

A ``Session`` is a view over one record, built for one request. Reads are plain
dict look-ups; every write both updates the view and is noted in a change
journal (``record.py``) that the manager sends to the store when the response
is finished, so a request writes only what it changed, and every write is held
to the size limit the manager chose (``limits.py``) before it is applied.

Values are the record's ``v:`` fields, flashes its ``f:`` fields, in two styles:

* Iris's keyed flashes: ``set_flash("name", "iris")`` then ``get_flash("name")``.
* Leveled messages, as in Django's messages framework and Flask's categories:
  ``flash("Saved.", level="success")`` then ``get_messages()`` on the next page.

A flash's lifetime, exactly: a flash that is read (``get_flash``,
``get_flash_string``, ``get_flashes``, ``get_messages``) stays readable for the
rest of that request and is deleted from the store when the request's session
is saved (a save in the middle of the request, before a ``flush()``, keeps it
readable until the request ends); ``peek_flash`` does not consume. Consumption
is tracked on the session object, which a request builds once, so starting the
session twice never consumes early (an Iris bug).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from . import conversions, values
from .conversions import MISSING
from .errors import ImmutableKeyError, SessionKeyError
from .flashes import LEVELS, MESSAGE_MARK, FlashMessage, message_key, read_message
from .ids import fingerprint
from .limits import SizeLimit, fields_bytes
from .record import FLASH_PREFIX, VALUE_PREFIX, Journal, Meta, Record, increment_text

T = TypeVar("T")

log = logging.getLogger("sessions")


class Session:
    """Values and flash messages of one visitor, as seen by one request.

    Typed getters follow Iris's conversion rules: without a ``default`` they raise
    ``SessionKeyError`` (a ``KeyError``) for a missing key and ``ConversionError``
    (a ``ValueError``) for a value of the wrong kind; with one, they return it.
    """

    def __init__(self, session_id: str, record: Record, *, stored: bool, limit: SizeLimit | None = None) -> None:
        """Wrap ``record``; ``stored`` tells whether it came from the store or is new.

        ``limit`` (chosen by the manager from its config) holds the session to a
        size: a write that would exceed it raises ``SessionTooLargeError``, unapplied.
        """
        self._id = session_id
        self._stored = stored
        self._fields = record.fields
        self._meta = record.meta
        self._limit = limit
        # The fields' UTF-8 bytes (``fields_bytes``) for the limit: counted at the request's
        # first write, then adjusted by every change, so no write measures the whole session.
        self._bytes: int | None = None
        self._journal = Journal(record.meta)  # its meta is set when the manager takes it
        self._is_new = not stored
        # Mutable values handed to the caller: compared at save time, so that
        # ``session.get("cart").append(item)`` is saved like a set() would be.
        self._handed_out: dict[str, Any] = {}
        self._user_changed = False
        # Flashes this request read: the next save deletes them from the store.
        self._consumed: set[str] = set()
        # Flashes this request consumed and a save already deleted from the store:
        # still readable until the request ends.
        self._spent: dict[str, str] = {}
        # Fields found not to be JSON and logged: one WARNING per field and request, however often read.
        self._unreadable: set[str] = set()

    # -- identity -----------------------------------------------------------

    @property
    def id(self) -> str:
        """The session ID (the server-side value, never the encoded cookie)."""
        return self._id

    @property
    def is_new(self) -> bool:
        """True when no stored session existed for this request's cookie."""
        return self._is_new

    @property
    def created_at(self) -> float:
        """When the session was created (seconds since the epoch)."""
        return self._meta.created

    @property
    def user(self) -> str | None:
        """Who this session belongs to, for ``SessionManager.destroy_user()``; set it at login."""
        return self._meta.user

    @user.setter
    def user(self, name: str | None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"session user must be a str or None, not {type(name).__name__}")
        if name != self._meta.user:
            self._meta.user = name
            self._user_changed = True

    @property
    def expires_at(self) -> float | None:
        """When the server forgets the session unless activity extends it, or ``None``."""
        return self._meta.expires_at

    # -- reading ------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value of ``key``, or ``default`` when there is none.

        A value stored with ``set_immutable()`` comes back as a fresh copy, so
        changing what you got cannot change what is stored.
        """
        name = VALUE_PREFIX + key
        if name in self._handed_out:
            return self._handed_out[name]
        value = self._read(name, self._fields.get(name))
        if value is MISSING:
            return default
        if isinstance(value, (list, dict)) and not values.is_immutable(self._fields[name]):
            self._handed_out[name] = value
        return value

    def get_string(self, key: str, default: Any = MISSING) -> str:
        """A string, or an int written in decimal."""
        return self._typed(key, conversions.to_string, default)

    def get_int(self, key: str, default: Any = MISSING) -> int:
        """An int; a float is truncated, a decimal string is parsed."""
        return self._typed(key, conversions.to_int, default)

    def get_int64(self, key: str, default: Any = MISSING) -> int:
        """Like ``get_int``, within 64 signed bits."""
        return self._typed(key, conversions.to_int64, default)

    def get_float32(self, key: str, default: Any = MISSING) -> float:
        """A number rounded to single precision."""
        return self._typed(key, conversions.to_float32, default)

    def get_float64(self, key: str, default: Any = MISSING) -> float:
        """A number, or a numeric string parsed at full precision."""
        return self._typed(key, conversions.to_float64, default)

    def get_boolean(self, key: str, default: Any = MISSING) -> bool:
        """A bool, or one of the strings Go's ``ParseBool`` accepts (``"true"``, ``"1"``...)."""
        return self._typed(key, conversions.to_boolean, default)

    def get_all(self) -> dict[str, Any]:
        """Return a new dict of every value (not the flash messages)."""
        found = {key: self.get(key, MISSING) for key in self._stored_keys()}
        return {key: value for key, value in found.items() if value is not MISSING}

    def visit(self, callback: Callable[[str, Any], object]) -> None:
        """Call ``callback(key, value)`` for every value (Iris's ``VisitAll``)."""
        for key, value in self.get_all().items():
            callback(key, value)

    def len(self) -> int:
        """How many values the session holds (Iris's ``Len``); same as ``len(session)``."""
        return len(self._readable_keys())

    # -- writing ------------------------------------------------------------

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``.

        Raises ``TypeError`` naming the key if the value is not a JSON value, and
        ``ImmutableKeyError`` if the key was stored with ``set_immutable()``.
        """
        name = VALUE_PREFIX + key
        if self._is_immutable(name):
            raise ImmutableKeyError(key)
        self._write(name, values.encode(key, value))

    def set_immutable(self, key: str, value: Any) -> None:
        """Store ``value`` so that a later ``set()`` is refused and reads are copies."""
        self._write(VALUE_PREFIX + key, values.pack(values.encode(key, value), immutable=True))

    def delete(self, key: str) -> bool:
        """Remove ``key``; tell whether it existed."""
        return self._remove(VALUE_PREFIX + key)

    def clear(self) -> None:
        """Remove every value. Flash messages stay (as in Iris)."""
        names = list(self._value_names())
        if not self._stored and not names:
            return
        for name in names:
            self._drop(name)
        self._journal.note_clear_values()
        self._handed_out.clear()

    def increment(self, key: str, n: int = 1) -> int:
        """Add ``n`` to the int under ``key`` and return the result.

        A missing or non-numeric value counts as 0. The store applies the
        addition atomically, so concurrent requests never lose an increment.
        """
        name = VALUE_PREFIX + key
        if self._is_immutable(name):
            raise ImmutableKeyError(key)
        text = increment_text(self._fields.get(name), n, key)
        if self._journal.replaces(name) or not self._stored:
            self._write(name, text)  # nothing in the store to add to: the result is the value
        else:
            self._admit(name, text)
            self._fields[name] = text
            self._journal.note_increment(name, n)
            self._handed_out.pop(name, None)
        return int(text)

    def decrement(self, key: str, n: int = 1) -> int:
        """Subtract ``n``; a missing key becomes ``-n``."""
        return self.increment(key, -n)

    # -- flashes ---------------------------------------------------------------

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
        self._consumed.add(name)  # one that is not JSON goes too: no read could ever show it
        value = self._read(name, stored)
        return default if value is MISSING else value

    def get_flash_string(self, key: str, default: Any = MISSING) -> str:
        """Like ``get_flash``, as a string; raises like the typed getters unless ``default``."""
        return conversions.converted(key, self.get_flash(key, MISSING), conversions.to_string, default)

    def peek_flash(self, key: str, default: Any = None) -> Any:
        """Return the flash under ``key`` without consuming it."""
        name = FLASH_PREFIX + key
        value = self._read(name, self._flash_text(name))
        return default if value is MISSING else value

    def peek_flashes(self) -> dict[str, Any]:
        """Return every flash readable in this request without consuming any (for debug views)."""
        start = len(FLASH_PREFIX)
        found = {name[start:]: self._read(name, text) for name, text in self._readable_flashes().items()}
        return {key: value for key, value in found.items() if value is not MISSING}

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
        self.set_flash(message_key(), {"level": level, "message": message})

    def get_messages(self) -> list[FlashMessage]:
        """Return the queued leveled messages, oldest first, and consume them."""
        prefix = FLASH_PREFIX + MESSAGE_MARK
        readable = self._readable_flashes()
        names = sorted(name for name in readable if name.startswith(prefix))
        self._consumed.update(names)
        found = [self._read(name, readable[name]) for name in names]
        return [read_message(value) for value in found if value is not MISSING]

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

    # -- Python conveniences ------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, MISSING)
        if value is MISSING:
            raise SessionKeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        if not self.delete(key):
            raise SessionKeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._readable(VALUE_PREFIX + key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._readable_keys())

    def __len__(self) -> int:
        return self.len()

    def __repr__(self) -> str:
        return f"<Session new={self._is_new} values={self.len()}>"

    # -- every change goes through _write or _remove -------------------------

    def _typed(self, key: str, convert: Callable[[str, Any], T], default: Any) -> T:
        name = VALUE_PREFIX + key
        return conversions.converted(key, self._read(name, self._fields.get(name)), convert, default)

    def _read(self, name: str, stored: str | None) -> Any:
        """The value ``stored`` holds, or ``MISSING``: there is none, or it is not JSON.

        A store that something else can write to (SQLite, Redis) may hold a field that is
        not JSON: a hand edit, a bug, an attacker. Each field is checked here, when it is
        read, rather than every field on every load (2.5 µs a field on SQLite); the field
        reads as absent, with a warning, and the session's other data stays as it is.
        """
        if stored is None:
            return MISSING
        try:
            return values.unpack(stored)
        except ValueError:
            if name not in self._unreadable:
                self._unreadable.add(name)
                log.warning("session %s: field %r is not JSON: read as absent", fingerprint(self._id), name)
            return MISSING

    def _is_immutable(self, name: str) -> bool:
        """Tell whether ``name`` holds a readable value stored with ``set_immutable()``."""
        stored = self._fields.get(name)
        return stored is not None and values.is_immutable(stored) and self._readable(name)

    def _readable(self, name: str) -> bool:
        return self._read(name, self._fields.get(name)) is not MISSING

    def _stored_keys(self) -> list[str]:
        start = len(VALUE_PREFIX)
        return [name[start:] for name in self._value_names()]

    def _readable_keys(self) -> list[str]:
        return [key for key in self._stored_keys() if self._readable(VALUE_PREFIX + key)]

    def _value_names(self) -> Iterator[str]:
        return (name for name in self._fields if name.startswith(VALUE_PREFIX))

    def _admit(self, name: str, stored: str) -> None:
        """Raise ``SessionTooLargeError`` if ``name`` holding ``stored`` would take the session over its limit.

        Else count the write in the session's size: the caller makes it next.
        """
        if self._limit is not None:
            size = self._size_with(name, stored)
            self._limit.check(self._id, self._fields, self._meta, (name, stored), size)
            self._bytes = size

    def _write(self, name: str, stored: str) -> None:
        self._admit(name, stored)
        self._fields[name] = stored
        self._journal.note_set(name, stored)
        self._handed_out.pop(name, None)

    def _remove(self, name: str) -> bool:
        """Delete ``name``; tell whether it existed."""
        self._handed_out.pop(name, None)
        if not self._drop(name):
            return False
        self._journal.note_delete(name)
        return True

    # -- the running size: every change to _fields is counted by _admit, _put or _drop --

    def _put(self, name: str, stored: str) -> None:
        """Set ``name`` without the limit's check (a list grown in place: the save checks it)."""
        if self._bytes is not None:
            self._bytes = self._size_with(name, stored)
        self._fields[name] = stored

    def _drop(self, name: str) -> bool:
        """Delete ``name`` from the fields; tell whether it was there."""
        if self._bytes is not None:
            self._bytes = self._size_with(name, None)
        return self._fields.pop(name, None) is not None

    def _size(self) -> int:
        """The fields' UTF-8 bytes: counted in full once (``fields_bytes``), then kept by each change."""
        if self._bytes is None:
            self._bytes = fields_bytes(self._fields)
        return self._bytes

    def _size_with(self, name: str, stored: str | None) -> int:
        """The fields' UTF-8 bytes once ``name`` holds ``stored`` (``None``: once it is gone)."""
        old = self._fields.get(name)
        old_bytes = 0 if old is None else len(name.encode()) + len(old.encode())
        new_bytes = 0 if stored is None else len(name.encode()) + len(stored.encode())
        return self._size() - old_bytes + new_bytes

    # -- the manager's side ---------------------------------------------------
    # Public to the package: what ``SessionManager`` needs to save a session.
    # A handler has no use for them.

    @property
    def stored(self) -> bool:
        """True once the record exists in the store (loaded, or saved by this request)."""
        return self._stored

    @property
    def meta(self) -> Meta:
        """The timestamps and owner the next save writes; the manager moves its expiry."""
        return self._meta

    @property
    def user_changed(self) -> bool:
        """True when this request set ``user`` to someone else since the last save."""
        return self._user_changed

    def has_changes(self) -> bool:
        """Tell whether a save would change the stored record's fields or owner."""
        self._note_mutated_values()
        return bool(self._journal) or self._has_unsaved_consumption() or self._user_changed

    def check_size(self) -> None:
        """Hold the session to its limit before a save: values grown in place show only now.

        Every other write was held to the limit when it was made, so with no list or dict
        handed out there is nothing new to check.
        """
        if self._limit is not None and self._handed_out:
            self._limit.check_before_save(self._id, self._fields, self._meta, self._size())

    def take_journal(self, meta: Meta, previous_id: str | None) -> Journal:
        """Return the journal of this request's changes, saved with ``meta``, and start a new one."""
        self._note_mutated_values()
        self._spend_consumed()
        self._user_changed = False
        journal, self._journal = self._journal, Journal(self._meta)
        journal.meta, journal.create, journal.previous_id = meta, not self._stored, previous_id
        return journal

    def saved(self, counted: dict[str, str]) -> None:
        """Take in the store's view after a save: the record exists, counters are exact."""
        self._stored = True
        self._fields.update(counted)
        if counted:
            self._bytes = None  # the store's counts: recounted at the next write, if any

    def record(self, meta: Meta) -> Record:
        """The session as the store now holds it, with ``meta`` (for the cookie's payload; not to be changed)."""
        return Record(self._fields, meta)

    def rename(self, session_id: str) -> None:
        """Take a new ID (``regenerate()``); the store moves the record at the next save."""
        self._id = session_id

    def restart(self, record: Record) -> None:
        """Hold ``record`` instead of what was loaded: the loaded session vanished (see the manager)."""
        self._fields, self._meta = record.fields, record.meta
        self._bytes = None
        self._handed_out.clear()

    def _note_mutated_values(self) -> None:
        """Journal the lists and dicts ``get()`` handed out that the handler changed in place.

        Called on every save check, so an unchanged value costs one ``dumps``;
        a changed one is checked as ``set()`` would check it: something appended
        that JSON cannot hold raises ``TypeError`` naming the key, at the save.
        """
        for name, value in self._handed_out.items():
            try:
                text = values.dumps(value)
            except (TypeError, ValueError):  # not JSON any more: encode() below says why
                text = None
            if text != self._fields.get(name):
                stored = values.encode(name[len(VALUE_PREFIX) :], value)
                self._put(name, stored)
                self._journal.note_set(name, stored)
