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
        # call, and a copy is made on every session load and save (see the benchmarks).
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


def well_formed(record: Record) -> bool:
    """Tell whether a loaded record is one this package writes.

    Stores that something else can write to (SQLite, Redis) check what they load,
    so a corrupted record is treated as no session instead of failing a request
    later (a text timestamp would break the expiry check, a NaN one would never expire).
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
    """Every field has a known prefix and holds JSON text."""
    for name, stored in fields.items():
        if not name.startswith((VALUE_PREFIX, FLASH_PREFIX)) or not isinstance(stored, str):
            return False
        try:
            values.unpack(stored)
        except ValueError:
            return False
    return True


def increment_text(stored: str | None, delta: int, key: str = "") -> str:
    """Return the stored text of a counter after adding ``delta``.

    A missing or non-numeric value counts as 0, as in Iris's ``Increment``. A
    count with more digits than Python converts to text raises ``ConversionError``
    (``key`` names the value in its message).
    """
    current = 0 if stored is None else conversions.to_counter(key, values.unpack(stored))
    try:
        return values.dumps(current + delta)
    except ValueError:
        raise ConversionError(key, stored, "a counter with fewer digits than Python converts") from None


def apply_journal(fields: dict[str, str], journal: Journal) -> dict[str, str]:
    """Apply ``journal`` to ``fields`` in place; return the incremented fields' new text.

    Used by the stores that hold records in Python objects; a store with its own
    query language (SQL, Redis) implements the same steps there.
    """
    if journal.clear_values:
        for name in [name for name in fields if name.startswith(VALUE_PREFIX)]:
            del fields[name]
    for name in journal.deletes:
        fields.pop(name, None)
    fields.update(journal.sets)
    counted = {}
    for name, delta in journal.increments.items():
        counted[name] = fields[name] = increment_text(fields.get(name), delta)
    return counted
