"""Cookie codecs: how a session's cookie value is made from its payload and read back.

The manager asks a codec to ``encode`` the payload (the session ID) for the
``Set-Cookie`` header and to ``decode`` the value a request sends. A codec that
cannot read a value returns ``None``: a bad cookie is "no cookie", never an
error for the handler. This is Iris's ``Encoding`` hook; ``PlainCodec`` sends the
ID as it is (it is already unguessable), and ``sessions.crypto`` adds an
encrypting codec with key rotation.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


class Decoded(NamedTuple):
    """A cookie value a codec accepted."""

    payload: str
    #: True when the value should be sent again in a fresher form (e.g. made
    #: under a retired key), so the manager re-issues the cookie.
    reissue: bool = False


class CookieCodec(Protocol):
    """Turns payloads into cookie values and back, bound to the cookie's name."""

    def encode(self, cookie_name: str, payload: str) -> str: ...

    def decode(self, cookie_name: str, value: str) -> Decoded | None: ...


class PlainCodec:
    """The cookie value is the payload itself."""

    def encode(self, cookie_name: str, payload: str) -> str:
        return payload

    def decode(self, cookie_name: str, value: str) -> Decoded | None:
        return Decoded(value) if value else None
