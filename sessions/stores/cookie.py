"""The cookie-only store: the whole session travels, encrypted, in its cookie.

Nothing is kept on the server, so it needs no database and survives restarts
and any number of processes (given the same secrets). The price, stated
plainly:

* **Logging out does not end a copy of the cookie.** ``destroy()`` deletes the
  browser's cookie, but a copy taken earlier keeps opening, and each save
  re-issues it, until the absolute timeout inside it (``Config`` refuses a
  cookie-only store without one). Given a ``Revocations`` table
  (``sessions.revocations``), ``destroy_user()`` and ``destroy_all()`` record a
  "valid after" time on the server and every cookie written before it is
  refused; without one, the only way to cut copies short is to remove their
  secret from the key ring, which ends *every* session made with it.
* It holds what fits in one browser cookie (4096 bytes including the name and
  attributes, minus the encryption's overhead). The manager refuses a write
  that would not fit with ``SessionTooLargeError`` at the ``set()`` that made
  it, instead of letting the browser drop the cookie silently.
* Concurrent requests of one visitor each send back a whole cookie; the last
  response wins (no per-field merge, unlike the server-side stores).

The payload names its namespace (see ``base.py``), inside the encryption: two
managers that share a cookie name and a secret (``shop`` and ``admin`` on
one domain) never open each other's cookies. A cookie made before the payload
named it opens under no namespace: its visitor starts a fresh session.

It must be used with an encrypting codec (``sessions.crypto.EncryptedCodec``):
``Config`` refuses ``PlainCodec``, which would let anyone read and forge it.
"""

from __future__ import annotations

import json
import logging
from typing import Any, NamedTuple

from ..ids import is_valid_session_id
from ..record import Journal, Meta, Record
from ..revocations import Revocations
from .base import SessionStore

log = logging.getLogger("sessions.store.cookie")

#: Compact JSON, as ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` writes it, built once.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class CookieStore(SessionStore):
    """Keeps nothing: ``payload`` writes the record into the cookie and ``open`` reads it back."""

    name = "cookie"
    cookie_only = True

    def __init__(self, revocations: Revocations | None = None) -> None:
        #: Where ``destroy_user``/``destroy_all`` record their "valid after" times; ``None``: they end nothing.
        self.revocations = revocations

    async def load(self, namespace: str, session_id: str) -> Record | None:
        """There is nothing to look up by ID: the record is only ever in the cookie."""
        return None

    async def save(self, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        """Nothing to write: the manager sends the updated record in ``Set-Cookie``.

        The session object already holds every change (only this request can
        see this cookie's record), so there are no incremented texts to report.
        """
        return {}

    async def destroy(self, namespace: str, session_id: str) -> bool:
        """Nothing on the server to delete; the manager still expires the cookie."""
        return False

    async def destroy_all(self, namespace: str) -> None:
        """Refuse every cookie of ``namespace`` written until now, given a revocations table."""
        if self.revocations is None:
            log.warning(
                "cookie sessions cannot be revoked without a revocations table; "
                "remove their secret from the key ring to end them all"
            )
            return
        await self.revocations.revoke(namespace, None)

    async def destroy_user(self, namespace: str, user: str) -> list[str]:
        """Refuse every cookie of ``user`` written until now, given a revocations table.

        Returns no IDs: the sessions are not known here, only ended.
        """
        if self.revocations is None:
            log.warning(
                "cookie sessions cannot be revoked without a revocations table: destroy_user(%r) ends none", user
            )
        else:
            await self.revocations.revoke(namespace, user)
        return []

    async def open(self, namespace: str, payload: str) -> tuple[str, Record] | None:
        opened = _parse_payload(payload)
        if opened is None:
            return None
        bound_to, session_id, record = opened
        if bound_to != namespace:
            log.debug("a cookie of namespace %r was sent to namespace %r: refused", bound_to, namespace)
            return None
        if self.revocations is not None:
            valid_after = await self.revocations.valid_after(namespace, record.meta.user)
            if valid_after is not None and record.meta.touched <= valid_after:
                log.info("a cookie-only session written before its user's (or namespace's) revocation: refused")
                return None
        return session_id, record

    def session_id(self, payload: str) -> str | None:
        opened = _parse_payload(payload)
        return None if opened is None else opened.session_id

    def payload(self, namespace: str, session_id: str, record: Record) -> str:
        """Compact JSON; times in whole milliseconds, so their length stays the same from save to save."""
        meta = record.meta
        times = [_millis(meta.created), _millis(meta.touched), _millis(meta.deadline), _millis(meta.expires_at)]
        return _encode({"ns": namespace, "id": session_id, "meta": [*times, meta.user], "fields": record.fields})


class _Parsed(NamedTuple):
    """What a payload holds: the namespace it was made for, the session ID and the record."""

    namespace: str
    session_id: str
    record: Record


def _parse_payload(payload: str) -> _Parsed | None:
    try:
        return _parse(json.loads(payload))
    except (ValueError, TypeError, KeyError) as exc:
        log.debug("a decrypted cookie payload is not a session record: %s", exc)
        return None


def _millis(seconds: float | None) -> int | None:
    """A time in whole milliseconds, or ``None``."""
    return None if seconds is None else round(seconds * 1000)


def _seconds(millis: Any) -> float:
    """A time the metadata always has (created, touched): absent is malformed."""
    if type(millis) is not int:
        raise TypeError(f"a time must be whole milliseconds, not {millis!r}")
    return millis / 1000


def _optional_seconds(millis: Any) -> float | None:
    """A time the metadata may lack (no deadline, a browser-session cookie)."""
    return None if millis is None else _seconds(millis)


def _parse(data: Any) -> _Parsed:
    """Check every part of a decoded payload, so a bad one is refused whole."""
    namespace, session_id, meta, fields = data["ns"], data["id"], data["meta"], data["fields"]
    if not isinstance(namespace, str):
        raise ValueError("the namespace is malformed")
    if not is_valid_session_id(session_id):
        raise ValueError("the session ID is malformed")
    created, touched, deadline, expires_at, user = meta
    if not (user is None or isinstance(user, str)):
        raise ValueError("the metadata is malformed")
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        raise ValueError("the fields are malformed")
    times = Meta(_seconds(created), _seconds(touched), _optional_seconds(deadline), _optional_seconds(expires_at), user)
    return _Parsed(namespace, session_id, Record(fields, times))
