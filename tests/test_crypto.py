"""The encrypted cookie codec: properties over many inputs, key rotation, binding, expiry, size."""

from __future__ import annotations

import base64
import logging
import os
import secrets
import string
import struct
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions import Decoded, EncryptedCodec, KeyRing, SessionTooLargeError
from sessions.crypto import (
    MAX_CLOCK_SKEW_SECONDS,
    MAX_VALUE_CHARS,
    MEMO_ENTRIES,
    MEMO_VALUE_CHARS,
    estimated_bits,
    new_secret,
)
from tests.support.clock import FakeClock

OLD, MIDDLE, NEW = (f"{label} secret for the codec tests, 32+ bytes" for label in ("old", "middle", "new"))
HOUR = timedelta(hours=1)
BASE64URL = string.ascii_letters + string.digits + "-_"

cookie_names = st.from_regex(r"[A-Za-z0-9_.-]{1,24}", fullmatch=True)
payloads = st.text(max_size=300)


def make_codec(*secrets: str, clock: FakeClock | None = None, max_age: timedelta = HOUR) -> EncryptedCodec:
    return EncryptedCodec(KeyRing(list(secrets)), max_age=max_age, clock=clock or FakeClock())


CODEC = make_codec(NEW)
VALID = CODEC.encode("sid", "a session id")


def unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# -- properties ---------------------------------------------------------------


@given(cookie_names, payloads)
def test_decode_returns_what_encode_was_given(name, payload):
    value = CODEC.encode(name, payload)
    assert CODEC.decode(name, value) == Decoded(payload, reissue=False)
    assert len(value) <= MAX_VALUE_CHARS
    assert set(value) <= set(BASE64URL)


@given(payloads)
def test_encoding_twice_gives_different_values(payload):
    # A fresh nonce each time: equal payloads are not recognisable in cookies.
    assert CODEC.encode("sid", payload) != CODEC.encode("sid", payload)


@given(st.text(max_size=6000))
def test_arbitrary_strings_are_no_cookie(value):
    assert CODEC.decode("sid", value) is None


@given(st.from_regex(r"[A-Za-z0-9_-]{0,400}", fullmatch=True))
def test_arbitrary_base64_is_no_cookie(value):
    assert CODEC.decode("sid", value) is None


@given(st.binary(max_size=400))
def test_arbitrary_bytes_under_a_real_key_id_are_no_cookie(tail):
    header = unb64(VALID)[:5]  # the right version and key id: reaches decryption
    assert CODEC.decode("sid", b64(header + tail)) is None


@given(payloads, st.data())
def test_any_single_character_change_is_no_cookie(payload, data):
    value = CODEC.encode("sid", payload)
    position = data.draw(st.integers(0, len(value) - 1))
    replacement = data.draw(st.characters().filter(lambda c: c != value[position]))
    assert CODEC.decode("sid", value[:position] + replacement + value[position + 1 :]) is None


@given(payloads, st.data())
def test_any_single_byte_change_of_the_envelope_is_no_cookie(payload, data):
    raw = bytearray(unb64(CODEC.encode("sid", payload)))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    assert CODEC.decode("sid", b64(bytes(raw))) is None


@settings(deadline=None)
@given(payloads)
def test_truncations_and_extensions_are_no_cookie(payload):
    value = CODEC.encode("sid", payload)
    for cut in range(len(value)):
        assert CODEC.decode("sid", value[:cut]) is None
    for extra in BASE64URL:
        assert CODEC.decode("sid", value + extra) is None


def test_every_single_change_of_one_value_is_no_cookie_exhaustively():
    for position, original in enumerate(VALID):
        for replacement in BASE64URL.replace(original, "") + "=.+/ é":
            assert CODEC.decode("sid", VALID[:position] + replacement + VALID[position + 1 :]) is None
    raw = unb64(VALID)
    for position in range(len(raw)):
        for mask in range(1, 256):
            changed = raw[:position] + bytes([raw[position] ^ mask]) + raw[position + 1 :]
            assert CODEC.decode("sid", b64(changed)) is None


@given(cookie_names, cookie_names, payloads)
def test_a_value_copied_to_another_cookie_name_is_no_cookie(name, other, payload):
    if name != other:
        assert CODEC.decode(other, CODEC.encode(name, payload)) is None


# -- key rotation ----------------------------------------------------------------


def test_rotation_across_three_keys():
    clock = FakeClock()
    made_under_old = make_codec(OLD, clock=clock).encode("sid", "payload-1")

    # A new key goes first: old values still open, flagged for re-issue under the new key.
    two = make_codec(MIDDLE, OLD, clock=clock)
    assert two.decode("sid", made_under_old) == Decoded("payload-1", reissue=True)
    reissued = two.encode("sid", "payload-1")
    assert two.inspect("sid", reissued).key_id == two.keyring.key_ids[0]
    assert two.decode("sid", reissued) == Decoded("payload-1", reissue=False)

    # A third key: values of both older keys open; each is re-issued under the newest.
    three = make_codec(NEW, MIDDLE, OLD, clock=clock)
    assert three.decode("sid", made_under_old) == Decoded("payload-1", reissue=True)
    assert three.decode("sid", reissued) == Decoded("payload-1", reissue=True)
    newest = three.encode("sid", "payload-1")
    assert three.decode("sid", newest) == Decoded("payload-1", reissue=False)

    # The oldest key is removed: its values no longer open; the others still do.
    retired = make_codec(NEW, MIDDLE, clock=clock)
    assert retired.decode("sid", made_under_old) is None
    assert retired.decode("sid", reissued) == Decoded("payload-1", reissue=True)
    assert retired.decode("sid", newest) == Decoded("payload-1", reissue=False)


def test_key_ids_are_stable_and_distinct():
    assert KeyRing([OLD]).key_ids == KeyRing([OLD]).key_ids
    assert KeyRing([NEW, OLD]).key_ids[1] == KeyRing([OLD]).key_ids[0]
    assert len(set(KeyRing([NEW, MIDDLE, OLD]).key_ids)) == 3
    envelope = make_codec(NEW, OLD).inspect("sid", make_codec(OLD).encode("sid", "x"))
    assert (envelope.key_id, envelope.newest_key) == (KeyRing([OLD]).key_ids[0], False)


def test_a_value_from_an_unrelated_key_is_no_cookie():
    assert make_codec(NEW).decode("sid", make_codec(OLD).encode("sid", "x")) is None


@pytest.mark.parametrize("secrets", [[], "one secret", [""], [NEW, OLD, NEW]])
def test_bad_key_rings_are_refused(secrets):
    with pytest.raises(ValueError):
        KeyRing(secrets)


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("short", "at least 32 bytes"),
        ("x" * 31, "at least 32 bytes"),
        ("a" * 32, "too predictable"),
        ("password" * 4, "too predictable"),
        ("ab" * 40, "too predictable"),
        (b"\x00" * 64, "too predictable"),
    ],
)
def test_weak_secrets_are_refused_without_being_echoed(secret, reason):
    with pytest.raises(ValueError) as refused:
        KeyRing([NEW, secret])
    message = str(refused.value)
    assert message.startswith("secret #2 ")
    assert reason in message
    text = secret if isinstance(secret, str) else secret.decode("latin-1")
    assert text[:5] not in message


def test_random_secrets_of_the_minimum_length_pass():
    for _ in range(200):  # 32 random hex digits (128 bits) are the least a random secret may be
        KeyRing([secrets.token_hex(16)])
    KeyRing([secrets.token_bytes(32)])
    assert estimated_bits(b"a" * 32) == 0
    assert estimated_bits(bytes(range(32))) == 32 * 5


def test_generated_secrets_are_fresh_and_long():
    first, second = new_secret(), new_secret()
    assert first != second
    assert len(first.encode()) >= 32


# -- age -------------------------------------------------------------------------


def test_values_expire_after_max_age_and_are_refreshed_from_half_of_it():
    clock = FakeClock()
    codec = make_codec(NEW, clock=clock, max_age=timedelta(hours=2))
    value = codec.encode("sid", "x")
    clock.advance(3599)
    assert codec.decode("sid", value) == Decoded("x", reissue=False)
    clock.advance(2)
    assert codec.decode("sid", value) == Decoded("x", reissue=True)
    clock.advance(3600)
    assert codec.decode("sid", value) is None


def test_issue_time_is_inside_the_envelope():
    clock = FakeClock(start=1_800_000_000.5)
    envelope = make_codec(NEW, clock=clock).inspect("sid", make_codec(NEW, clock=clock).encode("sid", "x"))
    assert envelope.issued_at == 1_800_000_000
    assert envelope.version == 2
    assert envelope.payload == "x"
    assert envelope.newest_key


def test_a_value_issued_in_the_future_opens_only_within_the_clock_skew(caplog):
    clock = FakeClock()
    ahead = FakeClock(start=clock() + 30 * 24 * 3600)  # a server (or a forger with a key) 30 days ahead
    assert make_codec(NEW, clock=clock).decode("sid", make_codec(NEW, clock=ahead).encode("sid", "x")) is None
    slightly_ahead = FakeClock(start=clock() + MAX_CLOCK_SKEW_SECONDS)
    assert make_codec(NEW, clock=clock).decode("sid", make_codec(NEW, clock=slightly_ahead).encode("sid", "x"))
    too_far = FakeClock(start=clock() + MAX_CLOCK_SKEW_SECONDS + 1)
    with caplog.at_level(logging.DEBUG, logger="sessions.crypto"):
        assert make_codec(NEW, clock=clock).decode("sid", make_codec(NEW, clock=too_far).encode("sid", "x")) is None
    assert "in the future" in caplog.text


@pytest.mark.parametrize("max_age", [timedelta(0), timedelta(seconds=-1)])
def test_max_age_must_be_positive(max_age):
    with pytest.raises(ValueError):
        make_codec(NEW, max_age=max_age)


# -- size and logging ------------------------------------------------------------------


def test_a_value_decode_would_refuse_is_never_made():
    with pytest.raises(SessionTooLargeError) as caught:
        CODEC.encode("sid", "x" * MAX_VALUE_CHARS)
    assert caught.value.size > MAX_VALUE_CHARS == caught.value.limit
    assert f"{caught.value.size} bytes" in str(caught.value)


def test_oversized_values_are_refused_before_decryption(caplog):
    with caplog.at_level(logging.DEBUG, logger="sessions.crypto"):
        assert CODEC.decode("sid", VALID + "A" * (MAX_VALUE_CHARS + 1 - len(VALID))) is None
    assert f"longer than {MAX_VALUE_CHARS} characters" in caplog.text


def flip_unused_bit(last_char: str) -> str:
    """The character whose lowest bit differs: for a value of length 3 mod 4, that bit carries no data."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(VALID) % 4 == 3
    return alphabet[alphabet.index(last_char) ^ 1]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (VALID[:30] + ("A" if VALID[30] != "A" else "B") + VALID[31:], "authentication failed"),  # in the ciphertext
        (make_codec(OLD).encode("sid", "x"), "not in the key ring"),
        ("not base64!", "not URL-safe base64"),
        (VALID[:-1] + flip_unused_bit(VALID[-1]), "not canonical URL-safe base64"),  # same bytes, other spelling
        ("AQ", "too short"),
        (b64(b"\x03" + unb64(VALID)[1:]), "unknown format version"),
    ],
)
def test_refusals_are_logged_at_debug_with_a_reason_and_without_the_value(caplog, value, reason):
    with caplog.at_level(logging.DEBUG, logger="sessions.crypto"):
        assert CODEC.decode("sid", value) is None
    assert reason in caplog.text
    assert value not in caplog.text
    assert all(record.levelno == logging.DEBUG for record in caplog.records)


# -- the memo of opened values ---------------------------------------------------


def counting_decryptions(codec: EncryptedCodec, monkeypatch) -> list[str]:
    """Record every value the codec really decrypts (a memo hit decrypts nothing)."""
    decrypted: list[str] = []
    decrypt = codec._decrypt

    def counted(cookie_name: str, value: str):
        decrypted.append(value)
        return decrypt(cookie_name, value)

    monkeypatch.setattr(codec, "_decrypt", counted)
    return decrypted


def test_a_resent_value_is_decrypted_once(monkeypatch):
    codec = make_codec(NEW)
    value = codec.encode("sid", "payload")
    decrypted = counting_decryptions(codec, monkeypatch)
    assert [codec.decode("sid", value) for _ in range(3)] == [Decoded("payload")] * 3
    assert decrypted == [value]
    assert codec.decode("other", value) is None  # the name is part of the memo's key: not a hit
    assert decrypted == [value, value]


def test_a_memoized_value_stops_opening_when_its_key_leaves_the_ring(monkeypatch):
    clock = FakeClock()
    made_under_old = make_codec(OLD, clock=clock).encode("sid", "payload")
    codec = make_codec(NEW, OLD, clock=clock)
    assert codec.decode("sid", made_under_old) == Decoded("payload", reissue=True)  # memoized now
    codec.keyring = KeyRing([NEW])  # OLD retired
    assert codec.decode("sid", made_under_old) is None
    codec.keyring = KeyRing([NEW, OLD])  # a new ring holding OLD again: opens, by decrypting afresh
    decrypted = counting_decryptions(codec, monkeypatch)
    assert codec.decode("sid", made_under_old) == Decoded("payload", reissue=True)
    assert decrypted == [made_under_old]


def test_a_memoized_value_past_max_age_is_refused(caplog):
    clock = FakeClock(start=1_800_000_000.0)
    codec = make_codec(NEW, clock=clock, max_age=timedelta(hours=2))
    value = codec.encode("sid", "x")
    assert codec.decode("sid", value) == Decoded("x")  # memoized now
    clock.advance(2 * 3600 + 1)
    with caplog.at_level(logging.DEBUG, logger="sessions.crypto"):
        assert codec.decode("sid", value) is None
        assert codec.inspect("sid", value) is None
    assert "expired: issued 7201 s ago, max age 7200 s" in caplog.text
    clock.now -= 2  # a clock that steps back: the memoized value opens again, as a fresh decryption would
    assert codec.decode("sid", value) == Decoded("x", reissue=True)


def test_a_memoized_value_is_reissued_near_max_age_and_under_an_old_key():
    clock = FakeClock()
    codec = make_codec(NEW, OLD, clock=clock, max_age=timedelta(hours=2))
    fresh = codec.encode("sid", "new")
    made_under_old = make_codec(OLD, clock=clock).encode("sid", "old")
    assert codec.decode("sid", fresh) == Decoded("new", reissue=False)
    for _ in range(2):  # the second is a hit
        assert codec.decode("sid", made_under_old) == Decoded("old", reissue=True)
    clock.advance(3600)
    assert codec.decode("sid", fresh) == Decoded("new", reissue=True)


def test_every_altered_copy_of_a_memoized_value_is_refused():
    codec = make_codec(NEW)
    value = codec.encode("sid", "a session id")
    assert codec.decode("sid", value) == Decoded("a session id")  # memoized now
    for position in range(len(value)):
        for replacement in {"A", "-", "z"} - {value[position]}:
            assert codec.decode("sid", value[:position] + replacement + value[position + 1 :]) is None
    assert codec.decode("sid", value + "A") is None
    assert codec.decode("sid", value[:-1]) is None
    assert codec.decode("sid", value) == Decoded("a session id")


def test_the_memo_stays_bounded_under_a_flood_of_genuine_values(monkeypatch):
    codec = make_codec(NEW)
    made = [codec.encode("sid", f"payload {n}") for n in range(MEMO_ENTRIES + 200)]
    long_value = codec.encode("sid", "x" * MEMO_VALUE_CHARS)
    assert all(codec.decode("sid", value) is not None for value in [*made, long_value])
    assert len(codec._memo) == MEMO_ENTRIES
    decrypted = counting_decryptions(codec, monkeypatch)
    assert codec.decode("sid", made[-1]) == Decoded(f"payload {MEMO_ENTRIES + 199}")  # the newest stay
    assert codec.decode("sid", made[0]) == Decoded("payload 0")  # the oldest went: decrypted again
    assert codec.decode("sid", long_value) == Decoded("x" * MEMO_VALUE_CHARS)  # too long to keep
    assert decrypted == [made[0], long_value]


# -- the earlier format (AES-GCM) ----------------------------------------------------------


def gcm_value(secret: str, cookie_name: str, payload: str, issued_at: int) -> str:
    """A value as the codec made it before it moved to AES-GCM-SIV (format version 1), built from its spec."""

    def hkdf(info: bytes, length: int) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(secret.encode())

    header = b"\x01" + hkdf(b"sessions.crypto/v1 key id", 4)
    nonce = os.urandom(12)
    plaintext = struct.pack(">Q", issued_at) + payload.encode()
    sealed = AESGCM(hkdf(b"sessions.crypto/v1 AES-256-GCM key", 32)).encrypt(
        nonce, plaintext, header + cookie_name.encode()
    )
    return b64(header + nonce + sealed)


def test_values_of_the_earlier_gcm_format_still_open_and_are_reissued_in_the_current_one():
    clock = FakeClock()
    codec = make_codec(NEW, OLD, clock=clock)
    old_value = gcm_value(NEW, "sid", "a session id", int(clock()))
    assert codec.decode("sid", old_value) == Decoded("a session id", reissue=True)
    assert codec.inspect("sid", old_value).version == 1
    assert codec.decode("sid", gcm_value(OLD, "sid", "older key", int(clock()))) == Decoded("older key", reissue=True)
    assert codec.decode("other", old_value) is None  # still bound to its cookie name
    assert codec.decode("sid", gcm_value(MIDDLE, "sid", "x", int(clock()))) is None  # a key the ring lacks
    fresh = codec.encode("sid", "a session id")
    assert unb64(fresh)[0] == 2
    assert codec.decode("sid", fresh) == Decoded("a session id")


def test_a_gcm_value_relabelled_as_the_current_format_is_refused():
    clock = FakeClock()
    raw = bytearray(unb64(gcm_value(NEW, "sid", "x", int(clock()))))
    raw[0] = 2
    assert make_codec(NEW, clock=clock).decode("sid", b64(bytes(raw))) is None
