"""What a store keeps for one session, and the change journal a request sends it.

A record is a flat mapping of *fields* to stored text plus a little metadata.
Values live under ``v:<key>`` and flash messages under ``f:<key>``, so one
record (one Redis hash, one set of SQLite rows) holds both and a store never
needs to know which is which.

A request never writes a whole record back. It sends a ``Journal`` of what it
changed (per-field sets and deletes, atomic increments, a clear of the values,
new metadata), so two concurrent requests that touch different keys both keep
their changes, and an increment is applied by the store, not read-modified-written.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from . import conversions, values
from .errors import ConversionError

VALUE_PREFIX = "v:"
FLASH_PREFIX = "f:"


@dataclass
class Meta:
    """Timestamps (seconds since the epoch) that drive expiry, plus the owner.

    ``expires_at`` is derived from the others by the manager and stored so that a
    store can drop the record on its own (Redis TTL, SQLite purge, memory sweep).
    """

    created: float
    touched: float
    deadline: float | None = None  # Iris's expiration, moved by update_expiration()
    expires_at: float | None = None  # when the store may forget the record
    user: str | None = None  # who logged in, for "log out everywhere"

    def copy(self) -> Meta:
        # Field by field: dataclasses.replace() re-reads the class's fields on every
        # call (2.4 µs against 0.3 µs per copy), and a copy is made on every session load
        # and save: read-memory 1,116k -> 1,108k instructions per request (docs/benchmarks.md).
        return Meta(self.created, self.touched, self.deadline, self.expires_at, self.user)


@dataclass
class Record:
    """One session as a store holds it."""

    fields: dict[str, str]
    meta: Meta


@dataclass
class Journal:
    """The changes one request made to one session, in the order they apply.

    ``create`` is true only for a session this request brought into being; a
    save with ``create`` false must not recreate a record that has gone.
    ``previous_id`` asks the store to move the record from that ID first
    (``regenerate()``), so the old ID stops working in the same step.
    """

    meta: Meta
    create: bool = False
    previous_id: str | None = None
    clear_values: bool = False
    sets: dict[str, str] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)
    increments: dict[str, int] = field(default_factory=dict)

    # A ``Session`` notes its writes here as they happen; each method keeps the
    # journal meaning, under ``apply_journal``, what the handler's calls meant.

    def note_set(self, name: str, stored: str) -> None:
        """``name`` now holds ``stored``, whatever it held or was counting before."""
        self.sets[name] = stored
        self.deletes.discard(name)
        self.increments.pop(name, None)

    def note_delete(self, name: str) -> None:
        self.sets.pop(name, None)
        self.increments.pop(name, None)
        self.deletes.add(name)

    def note_increment(self, name: str, delta: int) -> None:
        self.increments[name] = self.increments.get(name, 0) + delta

    def note_clear_values(self) -> None:
        """Every value goes; the changes noted to values before are void (flashes keep theirs)."""
        self.clear_values = True
        self.sets = {name: text for name, text in self.sets.items() if not name.startswith(VALUE_PREFIX)}
        self.deletes = {name for name in self.deletes if not name.startswith(VALUE_PREFIX)}
        self.increments = {name: n for name, n in self.increments.items() if not name.startswith(VALUE_PREFIX)}

    def replaces(self, name: str) -> bool:
        """Tell whether the store's current text of ``name`` no longer matters to this journal."""
        return name in self.sets or name in self.deletes or self.clear_values

    def __bool__(self) -> bool:
        """True when applying it would change a record's fields."""
        return bool(self.sets or self.deletes or self.increments or self.clear_values)


def well_formed(record: Record) -> bool:
    """Tell whether a loaded record is one this package writes.

    Stores that something else can write to (SQLite, Redis) check what they load,
    so a corrupted record is treated as no session instead of failing a request
    later (a text timestamp would break the expiry check, a NaN one would never expire).
    A field's JSON is checked when the field is read (``Session``), not here: parsing
    every field on every load cost 2.5 µs a field on SQLite, 1.2 on Redis.
    """
    meta = record.meta
    return (
        all(_is_time(stamp) for stamp in (meta.created, meta.touched))
        and all(stamp is None or _is_time(stamp) for stamp in (meta.deadline, meta.expires_at))
        and (meta.user is None or isinstance(meta.user, str))
        and _fields_well_formed(record.fields)
    )


def _is_time(stamp: object) -> bool:
    return isinstance(stamp, (int, float)) and not isinstance(stamp, bool) and math.isfinite(stamp)


def _fields_well_formed(fields: dict[str, str]) -> bool:
    """Every field has a known prefix and holds text."""
    return all(
        isinstance(name, str) and name.startswith((VALUE_PREFIX, FLASH_PREFIX)) and isinstance(stored, str)
        for name, stored in fields.items()
    )


def increment_text(stored: str | None, delta: int, key: str = "") -> str:
    """Return the stored text of a counter after adding ``delta``.

    A missing or non-numeric value counts as 0, as in Iris's ``Increment``, and so
    does text that is not JSON (written by something else). A count with more digits
    than Python converts to text raises ``ConversionError`` (``key`` names the value
    in its message).
    """
    current = 0 if stored is None else _counter_start(stored, key)
    try:
        return values.dumps(current + delta)
    except ValueError:
        raise ConversionError(key, stored, "a counter with fewer digits than Python converts") from None


def _counter_start(stored: str, key: str) -> int:
    try:
        value = values.unpack(stored)
    except json.JSONDecodeError:
        return 0
    except ValueError:  # a JSON integer with more digits than Python converts
        raise ConversionError(key, stored, "a counter with fewer digits than Python converts") from None
    return conversions.to_counter(key, value)


def apply_journal(fields: dict[str, str], journal: Journal) -> dict[str, str]:
    """Apply ``journal`` to ``fields`` in place; return the incremented fields' new text.

    This is the one definition of what a journal means. The stores that hold
    records in Python objects call it; those with a query language of their own
    follow its four steps in the same order, numbered the same way (SQLite's
    ``_apply``, Redis's ``redis_scripts.SAVE``), and the conformance suite checks every
    store against this function.
    """
    # 1. A clear removes every value (never a flash).
    if journal.clear_values:
        for name in [name for name in fields if name.startswith(VALUE_PREFIX)]:
            del fields[name]
    # 2. Deletes.
    for name in journal.deletes:
        fields.pop(name, None)
    # 3. Sets.
    fields.update(journal.sets)
    # 4. Increments, on whatever the record holds now (a missing or non-numeric value counts as 0).
    counted = {}
    for name, delta in journal.increments.items():
        counted[name] = fields[name] = increment_text(fields.get(name), delta)
    return counted
