"""Which session stores a benchmark can use here, and how the bench server builds them.

A store whose module has not reached this branch yet (or whose server is not
installed) is reported as missing with the reason, so the harness skips its
scenarios out loud instead of measuring something else under its name.
"""

from __future__ import annotations

import importlib.util
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

STORES = ("memory", "sqlite", "redis", "cookie")

#: What each store needs: modules of this project or its dependencies, and programs.
_NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "memory": ((), ()),
    "sqlite": (("sessions.stores.sqlite",), ()),
    "redis": (("sessions.stores.redis", "redis"), ("redis-server",)),
    "cookie": (("sessions.stores.cookie", "sessions.crypto"), ()),
}


def missing(name: str) -> str | None:
    """Why store ``name`` cannot be benchmarked here, or ``None`` when it can."""
    modules, programs = _NEEDS[name]
    for module in modules:
        if _find(module) is None:
            where = module.replace(".", "/") + ".py" if module.startswith("sessions") else f"the {module} package"
            return f"{where} is not available on this branch"
    for program in programs:
        if shutil.which(program) is None:
            return f"{program} is not installed"
    return None


def build(name: str, workdir: Path, redis_url: str | None) -> tuple[Any, Any]:
    """Return ``(store, codec)`` for the bench routes; ``codec`` is ``None`` for the default."""
    if name == "memory":
        from sessions import MemoryStore

        return MemoryStore(), None
    if name == "sqlite":
        from sessions.stores.sqlite import SQLiteStore

        return SQLiteStore(workdir / "sessions.sqlite3"), None
    if name == "redis":
        from sessions.stores.redis import RedisStore

        if redis_url is None:
            raise ValueError("the redis store needs --redis-url")
        return RedisStore(redis_url), None
    if name == "cookie":
        from sessions.crypto import EncryptedCodec, KeyRing, new_secret
        from sessions.stores.cookie import CookieStore

        return CookieStore(), EncryptedCodec(KeyRing([new_secret()]), max_age=timedelta(hours=2))
    raise ValueError(f"unknown store {name!r}; choose one of {', '.join(STORES)}")


def _find(module: str) -> object:
    try:
        return importlib.util.find_spec(module)
    except ModuleNotFoundError:  # a parent package is missing
        return None
