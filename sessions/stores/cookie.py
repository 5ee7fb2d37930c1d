"""The cookie-only store: the whole session travels, encrypted, in its cookie.

Nothing is kept on the server, so it needs no database and survives restarts
and any number of processes (given the same secrets). The price, stated
plainly:

* **A cookie session cannot be revoked on the server before it expires.**
  ``destroy()`` deletes the browser's cookie, but a copy of the cookie taken
  earlier keeps opening until it expires (the session's own expiry, which is
  inside the encrypted value, and the codec's ``max_age``). The only way to
  cut every copy short is to remove the secret it was made with from the key
  ring, which ends *every* session made with that secret. Use a server-side
  store when logout must be final.
* It holds what fits in one browser cookie (4096 bytes including the name and
  attributes, minus the encryption's overhead). The manager refuses a write
  that would not fit with ``SessionTooLargeError`` at the ``set()`` that made
  it, instead of letting the browser drop the cookie silently.
* Concurrent requests of one visitor each send back a whole cookie; the last
  response wins (no per-field merge, unlike the server-side stores).

Namespaces (see ``base.py``) need nothing here: the encrypting codec binds each
cookie to its name, so one manager's cookie never opens under another's name.

It must be used with an encrypting codec (``sessions.crypto.EncryptedCodec``):
``Config`` refuses ``PlainCodec``, which would let anyone read and forge it.
"""

from __future__ import annotations

import json
import logging
from json.encoder import encode_basestring
from typing import Any

from ..ids import is_valid_session_id
from ..memo import BoundedMemo
from ..record import Journal, Meta, Record
from .base import SessionStore

log = logging.getLogger("sessions.store.cookie")

#: A JSON string literal for any text, as ``json.dumps(text, ensure_ascii=False)`` writes it.
_string = encode_basestring


#: The parse memo's bound: how many payloads it keeps, and the longest payload it keeps.
MEMO_ENTRIES = 1024
MEMO_PAYLOAD_CHARS = 1024


class CookieStore(SessionStore):
    """Keeps nothing: ``payload`` writes the record into the cookie and ``open`` reads it back."""

    name = "cookie"
    cookie_only = True

    def __init__(self) -> None:
        #: Payloads parsed before, and what they held. A browser sends the same cookie until it
        #: changes, and parsing is a pure function of the text, so a hit is exactly what parsing
        #: again would give (handed out as a copy: the session edits its record in place).
        #: read-cookie 1,185k -> 1,162k, write-cookie 1,415k -> 1,392k instructions per request.
        self._parsed: BoundedMemo[str, tuple[str, Record]] = BoundedMemo(MEMO_ENTRIES)

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
        log.warning(
            "cookie sessions cannot be revoked on the server; remove their secret from the key ring to end them all"
        )

    async def destroy_user(self, namespace: str, user: str) -> list[str]:
        log.warning("cookie sessions cannot be revoked on the server: destroy_user(%r) ends none", user)
        return []

    async def open(self, namespace: str, payload: str) -> tuple[str, Record] | None:
        opened = self._parse(payload)
        if opened is None:
            return None
        session_id, record = opened
        return session_id, Record(dict(record.fields), record.meta.copy())

    def session_id(self, payload: str) -> str | None:
        opened = self._parse(payload)
        return None if opened is None else opened[0]

    def _parse(self, payload: str) -> tuple[str, Record] | None:
        """The payload's session ID and record, from the memo when this text was parsed before; never edit them."""
        opened = self._parsed.get(payload)
        if opened is None:
            opened = _parse_payload(payload)
            if opened is not None and len(payload) <= MEMO_PAYLOAD_CHARS:
                self._parsed[payload] = opened
        return opened

    def payload(self, session_id: str, record: Record) -> str:
        """Compact JSON; times in whole milliseconds, so their length stays the same from save to save.

        Spelled out around ``json``'s own string encoder rather than handed to
        ``json.dumps``, whose fixed cost per call (an encoder built each time)
        outweighs this small record: 35.6k -> 20.3k instructions per call, and a
        write pays it twice (the size check, then the save). The text is the one
        ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` writes: a test holds them equal.
        """
        meta = record.meta
        times = f"{_millis(meta.created)},{_millis(meta.touched)},{_millis(meta.deadline)},{_millis(meta.expires_at)}"
        user = "null" if meta.user is None else _string(meta.user)
        fields = ",".join([f"{_string(name)}:{_string(text)}" for name, text in record.fields.items()])
        return f'{{"id":{_string(session_id)},"meta":[{times},{user}],"fields":{{{fields}}}}}'


def _parse_payload(payload: str) -> tuple[str, Record] | None:
    try:
        return _parse(json.loads(payload))
    except (ValueError, TypeError, KeyError) as exc:
        log.debug("a decrypted cookie payload is not a session record: %s", exc)
        return None


def _millis(seconds: float | None) -> str:
    """A time as JSON: whole milliseconds, or ``null``."""
    return "null" if seconds is None else str(round(seconds * 1000))


def _seconds(millis: Any) -> float:
    """A time the metadata always has (created, touched): absent is malformed."""
    if type(millis) is not int:
        raise TypeError(f"a time must be whole milliseconds, not {millis!r}")
    return millis / 1000


def _optional_seconds(millis: Any) -> float | None:
    """A time the metadata may lack (no deadline, a browser-session cookie)."""
    return None if millis is None else _seconds(millis)


def _parse(data: Any) -> tuple[str, Record]:
    """Check every part of a decoded payload, so a bad one is refused whole."""
    session_id, meta, fields = data["id"], data["meta"], data["fields"]
    if not is_valid_session_id(session_id):
        raise ValueError("the session ID is malformed")
    created, touched, deadline, expires_at, user = meta
    if not (user is None or isinstance(user, str)):
        raise ValueError("the metadata is malformed")
    if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
        raise ValueError("the fields are malformed")
    times = Meta(_seconds(created), _seconds(touched), _optional_seconds(deadline), _optional_seconds(expires_at), user)
    return session_id, Record(fields, times)
