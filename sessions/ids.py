"""Session identifiers: generation, format check and log-safe fingerprints.

OWASP asks for IDs with at least 64 bits of entropy from a CSPRNG; we use 256
bits from ``secrets`` and check the format of every ID that arrives from a
cookie before it reaches a store, so a hostile value never becomes a store key.
"""

from __future__ import annotations

import hashlib
import re
import secrets

#: URL-safe base64 alphabet; 43 characters carry 258 bits.
_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43,128}")

#: Key for log fingerprints, fresh per process: the fingerprint links log lines
#: of one session together without letting a log reader replay the ID.
_FINGERPRINT_KEY = secrets.token_bytes(32)


def new_session_id() -> str:
    """Return a fresh session ID carrying 256 random bits."""
    return secrets.token_urlsafe(32)


def is_valid_session_id(value: object) -> bool:
    """Tell whether ``value`` has the shape of an ID this package issues."""
    return isinstance(value, str) and _ID_PATTERN.fullmatch(value) is not None


def fingerprint(session_id: str) -> str:
    """Return a keyed hash of a session ID, safe to write to logs."""
    digest = hashlib.blake2b(session_id.encode(), key=_FINGERPRINT_KEY, digest_size=6)
    return digest.hexdigest()
