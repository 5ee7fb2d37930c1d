"""How large a session may grow: a limit object the manager picks once from its ``Config``.

A write that would take a session over its limit raises ``SessionTooLargeError``
in the handler that made it, unapplied, so the handler can answer 413 instead of
the browser silently dropping a cookie or the store filling up.

* ``ByteLimit``: a server-side session, measured as the bytes of its keys and
  JSON values (``Config.max_session_bytes``).
* ``CookieLimit``: a cookie-only session, measured as the ``Set-Cookie`` header
  the save would send, encrypted and with its attributes (the browser's 4096 bytes).
"""

from __future__ import annotations

from typing import Protocol

from . import expiry
from .config import Config
from .cookies import BROWSER_COOKIE_LIMIT, set_cookie_header
from .errors import SessionTooLargeError
from .record import Meta, Record
from .stores.base import SessionStore


class SizeLimit(Protocol):
    """What ``Session`` asks before a write, and the manager before a save.

    ``size`` is what the session's keys and values take (UTF-8 bytes, ``fields_bytes``)
    once the write is made: the session keeps it as a running total, adjusted by each
    change, so that a limit on bytes costs a write the same at 10 fields as at 1,000.
    """

    def check(self, session_id: str, fields: dict[str, str], meta: Meta, write: tuple[str, str], size: int) -> None:
        """Raise ``SessionTooLargeError`` if ``fields`` would be too large with ``write`` (name, text) made."""

    def check_before_save(self, session_id: str, fields: dict[str, str], meta: Meta, size: int) -> None:
        """Catch what no write went through: a list or dict from ``get()`` grown in place."""


class ByteLimit:
    """A server-side session's keys and values may take ``max_bytes`` (UTF-8) at most."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def check(self, session_id: str, fields: dict[str, str], meta: Meta, write: tuple[str, str], size: int) -> None:
        if size > self.max_bytes:
            raise SessionTooLargeError(size, self.max_bytes)

    def check_before_save(self, session_id: str, fields: dict[str, str], meta: Meta, size: int) -> None:
        if size > self.max_bytes:
            raise SessionTooLargeError(size, self.max_bytes)


class CookieLimit:
    """A cookie-only session must fit the cookie a browser keeps, built exactly as the save will build it."""

    def __init__(self, config: Config, store: SessionStore, secure: bool) -> None:
        self.config, self.store, self.secure = config, store, secure

    def check(self, session_id: str, fields: dict[str, str], meta: Meta, write: tuple[str, str], size: int) -> None:
        """Build the cookie as the save would, with the real encryption (it is under 4 KB, whatever the fields)."""
        now = self.config.clock()
        meta = meta.copy()
        expiry.touched(self.config, meta, now)
        name, text = write
        payload = self.store.payload(self.config.store_namespace, session_id, Record({**fields, name: text}, meta))
        session_cookie(self.config, self.secure, payload, meta, now)

    def check_before_save(self, session_id: str, fields: dict[str, str], meta: Meta, size: int) -> None:
        """Nothing to do: the save builds the cookie with ``session_cookie()``, which measures it."""


def fields_bytes(fields: dict[str, str]) -> int:
    """The UTF-8 bytes of every field's name and text: what ``Config.max_session_bytes`` bounds.

    The bytes of a concatenation are the sum of its parts', so two joins and two encodes
    count them in C (18 µs of CPU for 1,000 fields), once per request that writes: the
    session then adjusts the total by each change.
    """
    return len("".join(fields).encode()) + len("".join(fields.values()).encode())


def size_limit(config: Config, store: SessionStore, secure: bool) -> SizeLimit | None:
    """The limit a session of this manager is held to; ``secure``: whether its cookie gets ``Secure``."""
    if store.cookie_only:
        return CookieLimit(config, store, secure)
    return None if config.max_session_bytes is None else ByteLimit(config.max_session_bytes)


def session_cookie(config: Config, secure: bool, payload: str, meta: Meta, now: float) -> str:
    """Build the session's ``Set-Cookie`` value; raise ``SessionTooLargeError`` if a browser would drop it."""
    name = config.cookie_name
    value = config.codec.encode(name, payload)
    max_age = expiry.cookie_max_age(config, meta, now)
    header = set_cookie_header(name, value, config.cookie, secure, max_age, now)
    if len(header) > BROWSER_COOKIE_LIMIT:
        raise SessionTooLargeError(len(header), BROWSER_COOKIE_LIMIT, what=f"session cookie {name!r}")
    return header
