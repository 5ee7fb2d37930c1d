"""Which session stores a benchmark can use here, and how the bench server builds them.

A store whose server is not installed (Redis) is reported as missing with the
reason, so the harness skips its scenarios out loud instead of failing halfway.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from sessions import CookieStore, EncryptedCodec, KeyRing, MemoryStore
from sessions.crypto import new_secret
from sessions.stores.near_cache import NearCachedStore
from sessions.stores.redis import RedisStore
from sessions.stores.sqlite import SQLiteStore

STORES = ("memory", "sqlite", "redis", "cookie")


def missing(name: str) -> str | None:
    """Why store ``name`` cannot be benchmarked here, or ``None`` when it can."""
    if name == "redis" and shutil.which("redis-server") is None:
        return "redis-server is not installed (Debian package redis-server)"
    return None


def build(name: str, workdir: Path, redis_url: str | None) -> tuple[Any, Any]:
    """Return ``(store, codec)`` for the bench routes; ``codec`` is ``None`` for the default."""
    if name == "memory":
        return MemoryStore(), None
    if name == "sqlite":
        return SQLiteStore(workdir / "sessions.sqlite3"), None
    if name == "redis":
        if redis_url is None:
            raise ValueError("the redis store needs --redis-url")
        return NearCachedStore(RedisStore(redis_url)), None  # as app.py runs it
    if name == "cookie":
        return CookieStore(), EncryptedCodec(KeyRing([new_secret()]), max_age=timedelta(hours=2))
    raise ValueError(f"unknown store {name!r}; choose one of {', '.join(STORES)}")
