"""The package's public API: what someone writing a store or picking one imports from ``sessions``."""

from __future__ import annotations

import subprocess
import sys

import sessions

STORE_WRITERS_NEED = ["SessionStore", "SessionGoneError", "Record", "Meta", "Journal", "apply_journal"]
STORES = ["MemoryStore", "CookieStore", "SQLiteStore", "RedisStore"]


def test_everything_a_store_writer_and_a_store_picker_needs_is_exported():
    for name in [*STORE_WRITERS_NEED, *STORES]:
        assert name in sessions.__all__, name
    assert all(hasattr(sessions, name) for name in sessions.__all__)


def test_without_redis_py_the_package_imports_without_redis_store():
    """``sys.modules["redis"] = None`` makes ``import redis`` fail as if redis-py were not installed."""
    program = (
        "import sys; sys.modules['redis'] = None\n"
        "import sessions\n"
        "print('RedisStore' in sessions.__all__, hasattr(sessions, 'RedisStore'), 'SQLiteStore' in sessions.__all__)\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "True"]
