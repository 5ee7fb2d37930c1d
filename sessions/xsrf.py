"""XSRF tokens bound to a session, in the masked form Tornado's templates use.

The token is an HMAC of the session ID keyed with the newest secret of the ring, so
it is the same for every page of one session, different for every session, and
new after ``regenerate()``. Like Tornado's own token it is masked with a fresh
random value in every response (a defence against BREACH-style compression
attacks), and the format is Tornado's version 2: ``2|mask|masked token|0``.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from typing import Any

_TOKEN_BYTES = 16

Secret = str | bytes
#: Where the ring used to be given (an application setting); a manager's ``xsrf_secrets`` now.
#: Still present, it is refused rather than ignored: ignored, the tokens would quietly be keyed
#: with ``cookie_secret``, or not bound to the session at all without one.
MOVED_SETTING = "xsrf_session_secrets"


def token_secrets(ring: Sequence[Secret], settings: Mapping[str, Any]) -> list[Secret]:
    """The secrets that key the tokens, newest first: the manager's ``xsrf_secrets``, else Tornado's ``cookie_secret``.

    New tokens are made under the newest, a token made under any of them is
    accepted, so a form rendered before a secret rotation still posts after
    it. ``cookie_secret`` given as a dict of versions counts as a ring, the
    highest version newest. Empty when there is neither.
    """
    if MOVED_SETTING in settings:
        raise TypeError(f"the application setting {MOVED_SETTING} moved: give SessionManager(xsrf_secrets=[NEW, OLD])")
    if ring:
        return list(ring)
    secret = settings.get("cookie_secret")
    if isinstance(secret, dict):  # Tornado's versioned secrets
        return [secret[version] for version in sorted(secret, reverse=True)]
    return [secret] if secret else []


def binding(secret: Secret, session_id: str) -> bytes:
    """The unmasked token of a session under one secret."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, b"sessions.xsrf|" + session_id.encode(), hashlib.sha256).digest()[:_TOKEN_BYTES]


def mask(token: bytes) -> bytes:
    """A fresh masked spelling of ``token`` for one response."""
    key = os.urandom(4)
    masked = _xor(key, token)
    return b"|".join([b"2", binascii.b2a_hex(key), binascii.b2a_hex(masked), b"0"])


def matches(submitted: str, token: bytes) -> bool:
    """Tell whether a submitted masked token spells ``token``."""
    try:
        version, key_hex, masked_hex, _ = submitted.split("|")
        key, masked = binascii.a2b_hex(key_hex), binascii.a2b_hex(masked_hex)
    except (ValueError, binascii.Error):
        return False
    if version != "2" or len(key) != 4:
        return False
    return hmac.compare_digest(_xor(key, masked), token)


def _xor(key: bytes, data: bytes) -> bytes:
    return bytes(byte ^ key[i % 4] for i, byte in enumerate(data))
