"""Sessions, flash messages and secure cookies for Tornado.

The public API is what this module exports; see the README for a table mapping
each Iris method to ours. Writing a store of your own takes ``SessionStore``,
``Record``, ``Meta``, ``Journal``, ``apply_journal`` and ``SessionGoneError``
(docs/writing-a-store.md).
"""

from .codecs import CookieCodec, Decoded, PlainCodec
from .config import Config
from .cookies import CookieAttributes
from .crypto import EncryptedCodec, KeyRing
from .errors import (
    ConversionError,
    ImmutableKeyError,
    SessionDestroyedError,
    SessionError,
    SessionGoneError,
    SessionKeyError,
    SessionNotFoundError,
    SessionNotStartedError,
    SessionTooLargeError,
    StoreUnavailableError,
    XSRFRefusedError,
)
from .fetch_metadata import CrossSiteGuard, refuse_cross_site
from .flashes import LEVELS, FlashMessage
from .ids import new_session_id
from .manager import SessionManager
from .mixin import SessionMixin
from .record import Journal, Meta, Record, apply_journal
from .revocations import Revocations, SQLiteRevocations
from .session import Session
from .stores.base import SessionStore
from .stores.cookie import CookieStore
from .stores.memory import MemoryStore
from .stores.sqlite import SQLiteStore
from .user_mixin import SessionUserMixin
from .xsrf_mixin import SessionXSRFMixin

__all__ = [
    "LEVELS",
    "Config",
    "ConversionError",
    "CookieAttributes",
    "CookieCodec",
    "CookieStore",
    "CrossSiteGuard",
    "Decoded",
    "EncryptedCodec",
    "FlashMessage",
    "Journal",
    "ImmutableKeyError",
    "KeyRing",
    "MemoryStore",
    "Meta",
    "PlainCodec",
    "Record",
    "Revocations",
    "SQLiteRevocations",
    "SQLiteStore",
    "Session",
    "SessionDestroyedError",
    "SessionError",
    "SessionGoneError",
    "SessionKeyError",
    "SessionManager",
    "SessionMixin",
    "SessionNotFoundError",
    "SessionNotStartedError",
    "SessionStore",
    "SessionTooLargeError",
    "SessionUserMixin",
    "SessionXSRFMixin",
    "StoreUnavailableError",
    "XSRFRefusedError",
    "apply_journal",
    "new_session_id",
    "refuse_cross_site",
]

# RedisStore (and NearCachedStore, which wraps it) needs redis-py, an optional dependency
# (`pip install tornado-sessions-tutorial[redis]`): both are exported when redis-py is installed, and without
# it `import sessions` still works, minus them. Only redis-py's absence is forgiven: any other import error
# inside the store is a bug and is raised.
try:
    from .stores.near_cache import NearCachedStore
    from .stores.redis import RedisStore
except ModuleNotFoundError as missing:
    if (missing.name or "").partition(".")[0] != "redis":
        raise
else:
    __all__ += ["NearCachedStore", "RedisStore"]
