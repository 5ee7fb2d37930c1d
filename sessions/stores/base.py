"""The store interface: a handful of coroutines and a name.

Kept as small as aiohttp-session's: the manager does everything that is the same
for every store (cookies, expiry rules, typed values, flashes) and a store only
keeps records. Every method is a coroutine because real stores do network or
disk I/O; the in-memory store simply never waits.

One store may serve several managers (an app has one per cookie name), so every
record lives in a *namespace*, the manager's (``Config.namespace``, by default
its cookie name), and every method names it: a session ID that one manager
issued is an unknown ID to every other, and a manager's ``destroy_all`` or
``destroy_user`` never reaches another manager's sessions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..ids import is_valid_session_id
from ..record import Journal, Record


class SessionStore(ABC):
    """Keeps session records by ID.

    Contract, checked by the conformance suite in ``tests/`` against every store:

    * A record is identified by ``(namespace, session_id)``: the same ID in two
      namespaces is two unrelated records (or one and none).
    * ``load`` returns the record or ``None``; it never creates one.
    * ``save`` applies a journal atomically with respect to other saves of the
      same record, and returns the new text of every incremented field. When
      ``journal.create`` is false and the record (or ``journal.previous_id``'s
      record) is gone, it raises ``SessionGoneError`` and writes nothing, so a
      request cannot bring a destroyed session back. A session moving from
      ``journal.previous_id`` has an ID that ``successor_id`` gave it.
    * A store may forget a record once ``meta.expires_at`` has passed.
    * Failures to reach the backing service raise ``StoreUnavailableError``.
    """

    #: Shown on the tutorial pages and in logs.
    name: str = "store"
    #: True when the whole session travels in the cookie (``open``/``payload``
    #: below); the manager then holds every write to the browser's cookie limit.
    cookie_only: bool = False
    #: True from a failure to reach the backing service until the next success. Kept on the
    #: store, which several managers may share, so the managers log an outage once and its end once.
    unavailable: bool = False

    @abstractmethod
    async def load(self, namespace: str, session_id: str) -> Record | None:
        """Return the record stored under ``session_id`` in ``namespace``, or ``None``."""

    @abstractmethod
    async def save(self, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        """Apply ``journal`` to the record under ``session_id`` (``journal.previous_id`` is in the same namespace)."""

    @abstractmethod
    async def destroy(self, namespace: str, session_id: str) -> bool:
        """Delete a record; tell whether there was one."""

    @abstractmethod
    async def destroy_all(self, namespace: str) -> None:
        """Delete every record of ``namespace``."""

    @abstractmethod
    async def destroy_user(self, namespace: str, user: str) -> list[str]:
        """Delete every record of ``namespace`` whose ``meta.user`` is ``user``; return the IDs of those still live.

        One past its expiry that the store has not dropped yet is deleted too,
        but not returned: it had ended already.
        """

    def successor_id(self, session_id: str, fresh_id: str) -> str:
        """The ID ``regenerate()`` gives a session now called ``session_id``, given a ``fresh_id`` to use.

        ``fresh_id`` itself by default; a store may keep part of the old ID (the
        Redis store on a cluster keeps its hash slot), never so much that the new
        ID is guessable from the old one.
        """
        return fresh_id

    async def close(self) -> None:  # noqa: B027 (a hook with a default, not an abstract method)
        """Release connections or files; the default has none."""

    # -- what the cookie carries ------------------------------------------------
    # A server-side store puts only the session ID in the cookie. A store that
    # keeps the whole session in the cookie overrides these two methods.

    async def open(self, namespace: str, payload: str) -> tuple[str, Record] | None:
        """Return ``(session ID, record)`` for a decoded cookie payload, or ``None``.

        The ID's format is checked before it reaches ``load``, so a hostile
        value never becomes a store key.
        """
        session_id = self.session_id(payload)
        if session_id is None:
            return None
        record = await self.load(namespace, session_id)
        return None if record is None else (session_id, record)

    def session_id(self, payload: str) -> str | None:
        """Return the session ID a payload names, without I/O (``None`` if malformed)."""
        return payload if is_valid_session_id(payload) else None

    def payload(self, namespace: str, session_id: str, record: Record) -> str:
        """Return what the cookie carries for a session of ``namespace`` after a save."""
        return session_id
