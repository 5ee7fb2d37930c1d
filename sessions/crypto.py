"""Encrypted cookie values: AES-256-GCM-SIV with a rotating key ring.

A cookie value made here is the URL-safe base64 (no padding) of::

    version (1 byte) | key id (4) | nonce (12, random) | ciphertext + tag (16)

and the plaintext is the issue time (8 bytes, seconds) followed by the payload.
Version 2 (made now) is AES-256-GCM-SIV; version 1, AES-256-GCM, is still
opened and re-issued as version 2 on its next response. Why SIV: with random
96-bit nonces, plain GCM must stop at 2^32 values per key (NIST SP 800-38D),
which a busy cookie-only app reaches in days; a nonce that GCM-SIV meets twice
reveals only that two values carried the same plaintext, and gives away neither
the key nor the power to forge, so no rotation schedule is needed for it.
The version, the key id and the **cookie name** are authenticated as associated
data, so a value cannot be edited, re-labelled with another key id, or copied
into another cookie (a value made for ``a`` does not open as ``b``). The issue
time is inside the ciphertext, so a client cannot make an old value look new.

Keys come from secrets of any length through HKDF-SHA256; each key has a short
id derived from its secret, so decoding picks the one key that made a value
instead of trying them all. All the cryptography is the ``cryptography``
package's; this module only frames it.

**The memo of opened values.** A browser sends the same cookie value on every
request, so each codec keeps what the values it authenticated opened as (key,
issue time, payload), keyed by (cookie name, exact value), and does not decrypt
such a value again. Why this is safe:

* Only a value that passed AES-GCM authentication under this cookie name is
  put in; a forged, altered or re-labelled value never is, so a hit is a value
  this codec already proved genuine, byte for byte (the key is the whole text).
* Whatever depends on time is decided on every call, hit or not: the age
  against ``max_age`` and the re-issue of an old or stale value.
* A hit counts only while its key is still the ring's (the very ``_Key``
  object): a key removed from the ring, or a new ring given to the codec, stops
  its values at once.
* A lookup cannot help an attacker: an unknown value misses and is decrypted
  as before; a guess cannot be steered onto a memoized value's hash to time
  the comparison without knowing that value (and Python keys string hashes
  per process, unless ``PYTHONHASHSEED`` is set); and learning that a genuine
  value is memoized requires holding it already.
* It is bounded: ``MEMO_ENTRIES`` values at most, each at most
  ``MEMO_VALUE_CHARS`` long (longer ones are decrypted every time), oldest out
  first; a flood of genuine cookies only cycles it (about 2.2 MB at worst, values and payloads together).
"""

from __future__ import annotations

import base64
import collections
import logging
import math
import os
import secrets
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESGCMSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .codecs import Decoded
from .cookies import BROWSER_COOKIE_LIMIT
from .errors import SessionTooLargeError
from .memo import BoundedMemo

log = logging.getLogger("sessions.crypto")

#: The format new values are made in: AES-256-GCM-SIV.
VERSION = 2
#: The earlier format, AES-256-GCM: still opened, and re-issued in ``VERSION``.
GCM_VERSION = 1
KEY_ID_BYTES = 4
NONCE_BYTES = 12
_TAG_BYTES = 16
_ISSUED = struct.Struct(">Q")
_HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES
_SMALLEST = _HEADER_BYTES + _ISSUED.size + _TAG_BYTES
#: A value longer than this cannot have come from a browser cookie; it is refused unread.
MAX_VALUE_CHARS = BROWSER_COOKIE_LIMIT
#: The shortest secret accepted: HKDF spreads a secret's entropy, it adds none, and the key id
#: in every cookie lets whoever holds one cookie test guesses offline, without asking the server.
MIN_SECRET_BYTES = 32
#: The least estimated entropy a secret needs (see ``estimated_bits``). 32 random hex digits
#: (128 bits) are estimated at 97 bits or more; ``"a" * 32`` at 0, ``"password" * 4`` at 88.
MIN_SECRET_BITS = 90
#: How far in the future a value's issue time may be (clocks of several servers differ a little).
MAX_CLOCK_SKEW_SECONDS = 60
#: The memo's bound: how many opened values it keeps, and the longest value it keeps.
MEMO_ENTRIES = 1024
MEMO_VALUE_CHARS = 1024


def new_secret() -> str:
    """Return a fresh random secret (256 bits, URL-safe text), for ``--generate-secret``."""
    return secrets.token_urlsafe(32)


def estimated_bits(secret: bytes) -> float:
    """A rough upper estimate of a secret's entropy: its length times the Shannon entropy of its own bytes.

    It catches what a person typing a secret tends to do (a character
    repeated, a short word repeated, a tiny alphabet); it cannot see that a
    phrase is made of dictionary words, so a secret should still come from a
    random source (``python app.py --generate-secret``).
    """
    counts = collections.Counter(secret).values()
    return sum(count * math.log2(len(secret) / count) for count in counts)


def weakness(secret: bytes) -> str | None:
    """Why ``secret`` is too weak to key cookies, or ``None``; the message never contains the secret."""
    if len(secret) < MIN_SECRET_BYTES:
        return f"is {len(secret)} bytes long; a secret needs at least {MIN_SECRET_BYTES} bytes from a random source"
    bits = estimated_bits(secret)
    if bits < MIN_SECRET_BITS:
        return (
            f"is too predictable (about {bits:.0f} bits estimated, {MIN_SECRET_BITS} needed: repeated "
            "or too few different characters); use a random secret, as --generate-secret makes"
        )
    return None


def _hkdf(secret: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret)


@dataclass(frozen=True)
class _Key:
    key_id: bytes
    aead: AESGCMSIV
    #: The envelope's first bytes, version and key id: sent in clear and authenticated.
    header: bytes
    #: The same secret's key for values made in the earlier format (``GCM_VERSION``).
    gcm: AESGCM
    gcm_header: bytes


class KeyRing:
    """The keys cookie values are made and opened with, newest first.

    The newest key encrypts; every key decrypts the values it made. To rotate:
    put a new secret first and keep the old ones after it; values made under an
    old key keep working and are re-issued under the newest one on their next
    response. Remove an old secret once every value made with it has expired
    (or at once, to log everybody out).

    A secret that is easy to guess is refused with ``ValueError`` (see
    ``weakness``): the key id each cookie carries lets anyone holding one
    cookie test guesses of the secret offline.
    """

    def __init__(self, secrets_newest_first: Sequence[str | bytes]) -> None:
        if isinstance(secrets_newest_first, (str, bytes)) or not secrets_newest_first:
            raise ValueError("KeyRing needs a sequence of one or more secrets, newest first")
        self._keys: dict[bytes, _Key] = {}
        for position, secret in enumerate(secrets_newest_first, start=1):
            key = self._derive(position, secret)
            if key.key_id in self._keys:
                raise ValueError(f"secret #{position} repeats an earlier secret (same key id)")
            self._keys[key.key_id] = key
        self._newest = next(iter(self._keys.values()))

    @staticmethod
    def _derive(position: int, secret: str | bytes) -> _Key:
        if not isinstance(secret, (str, bytes)):
            raise TypeError(f"secret #{position} is a {type(secret).__name__}, not text or bytes")
        material = secret.encode() if isinstance(secret, str) else bytes(secret)
        if not material:
            raise ValueError(f"secret #{position} is empty")
        why = weakness(material)
        if why is not None:
            raise ValueError(f"secret #{position} {why}")
        siv_key = _hkdf(material, b"sessions.crypto/v2 AES-256-GCM-SIV key", 32)
        gcm_key = _hkdf(material, b"sessions.crypto/v1 AES-256-GCM key", 32)
        key_id = _hkdf(material, b"sessions.crypto/v1 key id", KEY_ID_BYTES)
        return _Key(
            key_id, AESGCMSIV(siv_key), bytes([VERSION]) + key_id, AESGCM(gcm_key), bytes([GCM_VERSION]) + key_id
        )

    @property
    def newest(self) -> _Key:
        """The key new values are encrypted with."""
        return self._newest

    def key(self, key_id: bytes) -> _Key | None:
        """The key with this id, or ``None`` when the ring no longer holds it."""
        return self._keys.get(key_id)

    @property
    def key_ids(self) -> list[str]:
        """The key ids in hex, newest first (safe to show: they reveal nothing about a key)."""
        return [key_id.hex() for key_id in self._keys]


@dataclass(frozen=True)
class Envelope:
    """What an accepted cookie value contained, for the tutorial's inspector."""

    version: int
    key_id: str  # hex
    issued_at: int  # seconds since the epoch
    payload: str
    newest_key: bool  # False: made under an older key, re-issued on the next response


class _Opened(NamedTuple):
    """What an authenticated value opens as."""

    key: _Key
    issued_at: int
    #: True for a value in the earlier format (AES-GCM): re-issued in the current one.
    outdated: bool
    #: Its payload as ``decode`` returns it while no re-issue is due: made once per memoized value.
    decoded: Decoded


class _Rejected(Exception):
    """Why a value was refused; logged at debug level, never shown to the client."""


class EncryptedCodec:
    """A ``CookieCodec`` that encrypts and authenticates cookie values.

    ``max_age`` bounds how long a value opens after it was made. So that a
    session in use never ages out of its cookie, a value older than half of
    ``max_age`` is re-issued on the next response (as is one made under an old
    key): ``max_age`` is how long a cookie may go *unused*. Sessions still
    expire on the server by their own rules.
    """

    def __init__(
        self,
        keyring: KeyRing,
        *,
        max_age: timedelta,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_age <= timedelta(0):
            raise ValueError(f"max_age must be positive, not {max_age}")
        self.keyring = keyring
        self._max_age_seconds = max_age.total_seconds()
        self._clock = clock
        #: Values this codec authenticated, and what they opened as (see the module's docstring).
        # Decrypting every value instead costs securecookie 1,148k -> 1,183k (3.0 %) and read-cookie 1,166k ->
        # 1,216k (4.1 %) instructions per request (bench/instructions.py, means of two runs; bare Tornado 884k).
        self._memo: BoundedMemo[tuple[str, str], _Opened] = BoundedMemo(MEMO_ENTRIES)

    def encode(self, cookie_name: str, payload: str) -> str:
        """Encrypt ``payload`` for cookie ``cookie_name`` under the newest key.

        Raises ``SessionTooLargeError`` when the value would be longer than
        ``decode`` accepts, instead of making a cookie that can never be read.
        """
        key = self.keyring.newest
        nonce = os.urandom(NONCE_BYTES)
        plaintext = _ISSUED.pack(int(self._clock())) + payload.encode()
        sealed = key.aead.encrypt(nonce, plaintext, key.header + cookie_name.encode())
        value = _base64(key.header + nonce + sealed)
        if len(value) > MAX_VALUE_CHARS:
            what = f"the encrypted value of cookie {cookie_name!r}"
            raise SessionTooLargeError(len(value), MAX_VALUE_CHARS, what=what)
        return value

    def decode(self, cookie_name: str, value: str) -> Decoded | None:
        """Return the payload, or ``None`` for anything this codec did not make (never raises)."""
        found = self._try_open(cookie_name, value)
        if found is None:
            return None
        opened, age = found
        if age >= self._max_age_seconds / 2 or opened.key is not self.keyring.newest or opened.outdated:
            return Decoded(opened.decoded.payload, reissue=True)
        return opened.decoded

    def inspect(self, cookie_name: str, value: str) -> Envelope | None:
        """Return the opened envelope of a value ``decode`` accepts, else ``None``."""
        found = self._try_open(cookie_name, value)
        if found is None:
            return None
        (key, issued_at, outdated, decoded), _ = found
        version = GCM_VERSION if outdated else VERSION
        return Envelope(version, key.key_id.hex(), issued_at, decoded.payload, key is self.keyring.newest)

    def _try_open(self, cookie_name: str, value: str) -> tuple[_Opened, float] | None:
        """What ``value`` opens as and its age now, or ``None`` (the reason logged at debug level).

        From the memo when this exact value was authenticated before and its key
        is still the ring's; the age is checked on every call, hit or not.
        """
        memo_key = (cookie_name, value)
        opened = self._memo.get(memo_key)
        try:
            if opened is None or self.keyring.key(opened.key.key_id) is not opened.key:
                opened = self._decrypt(cookie_name, value)  # a retired key: refused here, with the reason
                if len(value) <= MEMO_VALUE_CHARS:
                    self._memo[memo_key] = opened
        except _Rejected as reason:
            self._memo.pop(memo_key, None)
            log.debug("refused a %s cookie value (%d chars): %s", cookie_name, len(value), reason)
            return None
        age = self._clock() - opened.issued_at
        if age < -MAX_CLOCK_SKEW_SECONDS:
            log.debug(
                "refused a %s cookie value (%d chars): issued %.0f s in the future, more than clocks differ",
                *(cookie_name, len(value), -age),
            )
            return None
        if age > self._max_age_seconds:
            log.debug(
                "refused a %s cookie value (%d chars): expired: issued %.0f s ago, max age %.0f s",
                *(cookie_name, len(value), age, self._max_age_seconds),
            )
            return None
        return opened, age

    def _decrypt(self, cookie_name: str, value: str) -> _Opened:
        """Return the key that made ``value``, its issue time and its payload, or raise ``_Rejected``."""
        raw = _unbase64(value)
        if len(raw) < _SMALLEST:
            raise _Rejected("too short to be an envelope")
        if raw[0] not in (VERSION, GCM_VERSION):
            raise _Rejected(f"unknown format version {raw[0]}")
        key_id = raw[1 : 1 + KEY_ID_BYTES]
        key = self.keyring.key(key_id)
        if key is None:
            raise _Rejected(f"made under key id {key_id.hex()}, which is not in the key ring")
        nonce, sealed = raw[1 + KEY_ID_BYTES : _HEADER_BYTES], raw[_HEADER_BYTES:]
        outdated = raw[0] == GCM_VERSION
        aead, header = (key.gcm, key.gcm_header) if outdated else (key.aead, key.header)
        try:
            plaintext = aead.decrypt(nonce, sealed, header + cookie_name.encode())
        except InvalidTag:
            raise _Rejected("authentication failed: altered, or made for another cookie name") from None
        (issued_at,) = _ISSUED.unpack_from(plaintext)
        try:
            payload = plaintext[_ISSUED.size :].decode()
        except UnicodeDecodeError:
            raise _Rejected("payload is not UTF-8") from None
        return _Opened(key, issued_at, outdated, Decoded(payload))


def _base64(raw: bytes) -> str:
    """Unpadded URL-safe base64: the alphabet a cookie value may use, without ``=``."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unbase64(value: str) -> bytes:
    """Decode unpadded URL-safe base64, accepting only the one spelling ``encode`` makes.

    The decoder skips characters outside the alphabet and ignores the unused
    low bits of the last character, so several spellings could open as the
    same bytes; re-encoding and comparing refuses all but one, which keeps
    "any change to a value is refused" true.
    """
    if len(value) > MAX_VALUE_CHARS:
        raise _Rejected(f"longer than {MAX_VALUE_CHARS} characters")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:  # binascii.Error (a ValueError), or non-ASCII text
        raise _Rejected("not URL-safe base64") from None
    if _base64(raw) != value:
        raise _Rejected("not canonical URL-safe base64")
    return raw
