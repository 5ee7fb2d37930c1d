"""A session record as one request changes it: each write applied to the fields and noted in a journal.

``Session`` (values) and ``Flashes`` (flash messages) both write through this
layer, so everything a request changed reaches the store as one ``Journal``
(``record.py``), and every write is held to the size limit the manager chose
(``limits.py``) before it is applied.
"""

from __future__ import annotations

from .limits import SizeLimit
from .record import Journal, Meta, Record


class JournaledRecord:
    """The fields and metadata of one session, and the journal of this request's changes to them."""

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
        self._journal = Journal(record.meta)  # its meta is set when the manager takes it

    def _admit(self, name: str, stored: str) -> None:
        """Raise ``SessionTooLargeError`` if ``name`` holding ``stored`` would take the session over its limit."""
        if self._limit is not None:
            self._limit.check(self._id, {**self._fields, name: stored}, self._meta)

    def _write(self, name: str, stored: str) -> None:
        self._admit(name, stored)
        self._fields[name] = stored
        self._journal.note_set(name, stored)

    def _remove(self, name: str) -> bool:
        """Delete ``name``; tell whether it existed."""
        if self._fields.pop(name, None) is None:
            return False
        self._journal.note_delete(name)
        return True

    def _next_journal(self, meta: Meta, previous_id: str | None) -> Journal:
        """Return the journal so far, to be saved with ``meta``, and start a new one."""
        journal, self._journal = self._journal, Journal(self._meta)
        journal.meta, journal.create, journal.previous_id = meta, not self._stored, previous_id
        return journal
