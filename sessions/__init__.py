"""Sessions, flash messages and secure cookies for Tornado.

The public API is what this module exports; see the README for a table mapping
each Iris method to ours.
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
    SessionKeyError,
    SessionNotFoundError,
    SessionNotStartedError,
    SessionTooLargeError,
    StoreUnavailableError,
)
from .fetch_metadata import CrossSiteGuard, refuse_cross_site
from .flashes import LEVELS, FlashMessage
from .ids import new_session_id
from .manager import SessionManager
from .mixin import SessionMixin
from .session import Session
from .stores.base import SessionStore
from .stores.cookie import CookieStore
from .stores.memory import MemoryStore
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
    "ImmutableKeyError",
    "KeyRing",
    "MemoryStore",
    "PlainCodec",
    "Session",
    "SessionDestroyedError",
    "SessionError",
    "SessionKeyError",
    "SessionManager",
    "SessionMixin",
    "SessionNotFoundError",
    "SessionNotStartedError",
    "SessionStore",
    "SessionTooLargeError",
    "SessionXSRFMixin",
    "StoreUnavailableError",
    "new_session_id",
    "refuse_cross_site",
]
