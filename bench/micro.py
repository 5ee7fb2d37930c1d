"""Micro benchmarks: the codec, each store's load+save, memory per idle session.

    python bench/micro.py [--quick] [--redis-url=redis://127.0.0.1:PORT/0] [--json]

``bench/run.py`` runs it after the HTTP scenarios (with the redis-server it
started). Each throughput figure is operations per second over a fixed time
on one core; a store that cannot run here (Redis without redis-server) is
printed as skipped with the reason, never as a number.
"""

from __future__ import annotations

import argparse
import asyncio
import binascii
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import stores  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from sessions import MemoryStore, PlainCodec, new_session_id  # noqa: E402
from sessions.record import Journal, Meta  # noqa: E402

COOKIE_NAME = "benchsid"
NAMESPACE = COOKIE_NAME  # what a manager with this cookie name would use
#: What an idle logged-in session of the overview step holds.
LOGGED_IN = {"v:authenticated": "true"}
#: A memory store bound that the measurement never reaches (evictions would free memory while it counts).
UNBOUNDED = 2**40


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Calls of ``operation`` per second, over about ``seconds``."""
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(100):
            operation()
        calls += 100
    return calls / elapsed


async def async_rate(operation: Callable[[], Awaitable[object]], seconds: float) -> float:
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(20):
            await operation()
        calls += 20
    return calls / elapsed


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


class AesGcmFloor:
    """The floor of any AES-GCM cookie codec in Python: the primitives and base64 alone.

    No version, key id, issue time, size or canonical-spelling checks: what is
    left is what the ``cryptography`` calls and the encoding cost, so the real
    codec's distance from it is its own overhead.
    """

    def __init__(self) -> None:
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))

    def encode(self, cookie_name: str, payload: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, payload.encode(), cookie_name.encode())
        return binascii.b2a_base64(nonce + sealed, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode()

    def decode(self, cookie_name: str, value: str) -> str:
        raw = binascii.a2b_base64(value.encode().translate(_FROM_URLSAFE) + b"=" * (-len(value) % 4))
        return self._aead.decrypt(raw[:12], raw[12:], cookie_name.encode()).decode()


def codec_rates(seconds: float) -> dict[str, Any]:
    """Encode + decode of a session-ID payload, per second, per codec (and the AES-GCM floor)."""
    payload = new_session_id()
    results: dict[str, Any] = {}
    codecs: dict[str, Any] = {
        "plain": PlainCodec(),
        "aes-gcm": stores.build("cookie", Path("."), None)[1],
        "aes-gcm floor (primitives only)": AesGcmFloor(),
    }
    for name, codec in codecs.items():

        def round_trip(codec: Any = codec) -> None:
            if codec.decode(COOKIE_NAME, codec.encode(COOKIE_NAME, payload)) is None:
                raise AssertionError("the codec did not read back its own value")

        results[name] = {"per_second": rate(round_trip, seconds)}
    return results


def journal(create: bool = False, **changes: Any) -> Journal:
    now = time.time()
    return Journal(meta=Meta(created=now, touched=now, expires_at=now + 1800), create=create, **changes)


async def store_rates(seconds: float, workdir: Path, redis_url: str | None) -> dict[str, Any]:
    """One load followed by one save (an increment) of a logged-in session, per second, per store."""
    results: dict[str, Any] = {}
    for name in stores.STORES:
        reason = stores.missing(name) or (None if name != "redis" or redis_url else "no redis-server URL given")
        if reason is not None:
            results[name] = {"skipped": reason}
            continue
        store, codec = stores.build(name, workdir, redis_url)
        try:
            if codec is not None:
                results[name] = {"per_second": await _cookie_store_rate(store, codec, seconds)}
            else:
                results[name] = {"per_second": await _server_store_rate(store, seconds)}
        finally:
            await store.close()
    return results


async def _server_store_rate(store: Any, seconds: float) -> float:
    session_id = new_session_id()
    await store.save(NAMESPACE, session_id, journal(create=True, sets=dict(LOGGED_IN)))

    async def load_and_save() -> None:
        if await store.load(NAMESPACE, session_id) is None:
            raise AssertionError("the session disappeared")
        await store.save(NAMESPACE, session_id, journal(increments={"v:count": 1}))

    return await async_rate(load_and_save, seconds)


async def _cookie_store_rate(store: Any, codec: Any, seconds: float) -> float:
    """For the cookie-only store, load is decrypt + parse and save is serialize + encrypt.

    The same cookie is loaded every time, as a browser re-sends it, so after the first
    load the codec's memo answers instead of decrypting; the payload is parsed every time.
    """
    from sessions.record import Record

    now = time.time()
    record = Record(dict(LOGGED_IN), Meta(created=now, touched=now, expires_at=now + 1800))
    cookie = codec.encode(COOKIE_NAME, store.payload(NAMESPACE, new_session_id(), record))

    async def load_and_save() -> None:
        decoded = codec.decode(COOKIE_NAME, cookie)
        session_id, loaded = await store.open(NAMESPACE, decoded.payload)
        loaded.fields["v:count"] = "1"
        codec.encode(COOKIE_NAME, store.payload(NAMESPACE, session_id, loaded))

    return await async_rate(load_and_save, seconds)


async def memory_per_session(count: int) -> dict[str, float]:
    """Bytes per idle logged-in session in the memory store: RSS delta, then tracemalloc delta."""

    async def fill(store: MemoryStore) -> None:
        for _ in range(count):
            await store.save(NAMESPACE, new_session_id(), journal(create=True, sets=dict(LOGGED_IN)))

    store = MemoryStore(max_bytes=UNBOUNDED)
    gc.collect()
    rss_before = _rss()
    await fill(store)
    gc.collect()
    rss_delta = _rss() - rss_before
    await store.destroy_all(NAMESPACE)

    store = MemoryStore(max_bytes=UNBOUNDED)
    gc.collect()
    tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0]
    await fill(store)
    gc.collect()
    traced_delta = tracemalloc.get_traced_memory()[0] - traced_before
    tracemalloc.stop()
    return {"sessions": count, "rss_bytes": rss_delta / count, "traced_bytes": traced_delta / count}


def _rss() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


async def run(quick: bool, redis_url: str | None) -> dict[str, Any]:
    seconds = 0.2 if quick else 2.0
    with tempfile.TemporaryDirectory(prefix="bench-micro-") as workdir:
        return {
            "codec_round_trips": codec_rates(seconds),
            "store_load_save": await store_rates(seconds, Path(workdir), redis_url),
            "memory_store": await memory_per_session(10_000 if quick else 100_000),
        }


def lines(results: dict[str, Any]) -> list[str]:
    """The results as the harness prints them."""
    out = []
    for section, label in (("codec_round_trips", "codec encode+decode"), ("store_load_save", "store load+save")):
        for name, figure in results[section].items():
            value = (
                f"{figure['per_second']:,.0f} per second" if "per_second" in figure else f"SKIPPED: {figure['skipped']}"
            )
            out.append(f"{label} [{name}]: {value}")
    memory = results["memory_store"]
    out.append(
        f"memory store, {memory['sessions']:,} idle sessions: {memory['traced_bytes']:.0f} bytes each "
        f"(tracemalloc), {memory['rss_bytes']:.0f} bytes each (RSS)"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--redis-url")
    parser.add_argument("--json", action="store_true", help="print JSON (for bench/run.py)")
    args = parser.parse_args()
    results = asyncio.run(run(args.quick, args.redis_url))
    results["lines"] = lines(results)
    print(json.dumps(results) if args.json else "\n".join(results["lines"]))


if __name__ == "__main__":
    main()
