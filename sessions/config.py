"""Configuration of a session manager (Iris's ``sessions.Config``).

Defaults follow the OWASP session-management cheat sheet, so an app that changes
nothing is already sound: a browser-session cookie that is ``HttpOnly`` and
``SameSite=Lax`` (``Secure`` on HTTPS), host-only, a 30-minute idle timeout and
an 8-hour absolute timeout enforced on the server.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from .codecs import CookieCodec, PlainCodec
from .cookies import CookieAttributes
from .ids import new_session_id
from .stores.base import SessionStore

#: A length of time: a ``timedelta``, or a number of seconds.
Duration = timedelta | int | float
_DURATIONS = ("expires", "idle_timeout", "absolute_timeout")


class _Keep(enum.Enum):
    KEEP = "keep"


#: The default of ``SessionManager``'s keywords: keep the config's value.
KEEP = _Keep.KEEP
Keep = Literal[_Keep.KEEP]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 6265 cookie-name
#: No ':' (Redis keys are ``prefix + namespace + ":" + ID``) and nothing a shell or SQL would mind.
_NAMESPACE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


@dataclass(frozen=True)
class Config:
    """How a ``SessionManager`` names, sends, stores and expires sessions.

    A duration (``expires``, ``idle_timeout``, ``absolute_timeout``) is a
    ``timedelta``; a number is taken as seconds (``SessionManager``'s keywords
    are typed to accept one) and kept as a ``timedelta``.
    ``expires`` is Iris's ``Expires``: how long a session lasts from creation,
    moved by ``shift_expiration``/``update_expiration``; ``None`` (the default)
    means a browser-session cookie with no fixed end. ``idle_timeout`` (sliding)
    and ``absolute_timeout`` (from creation, never extended) are enforced on the
    server whatever the cookie says; ``None`` turns one off.
    """

    cookie_name: str = "sid"
    #: The part of the store this manager's sessions live in; ``None``: the cookie
    #: name. Managers sharing a store must differ here (their cookie names do), so
    #: an ID one of them issued opens nothing under another.
    namespace: str | None = None
    expires: timedelta | None = None
    idle_timeout: timedelta | None = timedelta(minutes=30)
    absolute_timeout: timedelta | None = timedelta(hours=8)
    allow_reclaim: bool = True
    #: Send ``Clear-Site-Data`` on ``destroy()`` so the browser also drops other
    #: cookies, storage and cache of this origin (OWASP's logout advice). Off by
    #: default: it logs the user out of every other cookie of the site too.
    clear_site_data: bool = False
    #: A write that would make a server-side session larger than this (its keys
    #: and JSON values, in bytes) raises ``SessionTooLargeError``; ``None``: no
    #: limit. A cookie-only store is held to the browser's 4096-byte cookie instead.
    max_session_bytes: int | None = 64 * 1024
    cookie: CookieAttributes = CookieAttributes()
    id_generator: Callable[[], str] = new_session_id
    #: Where the records live; ``None``: a ``MemoryStore`` the manager makes (so this module needs no store).
    store: SessionStore | None = None
    codec: CookieCodec = field(default_factory=PlainCodec)
    clock: Callable[[], float] = time.time
    #: The secrets that key ``SessionXSRFMixin``'s tokens, newest first (``[NEW, OLD]``), kept as a
    #: tuple: new tokens are made under the newest, a token made under any is accepted, so a form
    #: rendered before a rotation still posts. Empty: the application's ``cookie_secret``. Never in ``repr()``.
    xsrf_secrets: Sequence[str | bytes] = field(default=(), repr=False)
    #: ``idle_timeout`` and ``absolute_timeout`` in seconds, converted once (set by ``__post_init__``):
    #: the expiry rules read them several times a request, and ``timedelta.total_seconds()``
    #: is a method call each time.
    idle_seconds: float | None = field(init=False, repr=False, compare=False)
    absolute_seconds: float | None = field(init=False, repr=False, compare=False)

    @property
    def store_namespace(self) -> str:
        """The namespace the store keeps this manager's sessions in."""
        return self.cookie_name if self.namespace is None else self.namespace

    def __post_init__(self) -> None:
        self._check_types()
        if not _TOKEN.fullmatch(self.cookie_name):
            raise ValueError(f"cookie_name {self.cookie_name!r} is not a valid cookie name")
        if self.namespace is not None and not _NAMESPACE.fullmatch(self.namespace):
            raise ValueError(f"namespace {self.namespace!r} must be 1-64 letters, digits, '_', '-' or '.'")
        for name in _DURATIONS:
            object.__setattr__(self, name, _duration(name, getattr(self, name)))  # frozen
        object.__setattr__(self, "xsrf_secrets", _secrets("xsrf_secrets", self.xsrf_secrets))  # frozen
        for name, timeout in (("idle_seconds", self.idle_timeout), ("absolute_seconds", self.absolute_timeout)):
            object.__setattr__(self, name, None if timeout is None else timeout.total_seconds())  # frozen
        if self.max_session_bytes is not None and self.max_session_bytes < 1:
            raise ValueError("max_session_bytes must be positive or None")
        if self.cookie.samesite not in ("Lax", "Strict", "None"):
            raise ValueError(f"cookie samesite must be Lax, Strict or None, not {self.cookie.samesite!r}")
        if self.cookie.samesite == "None" and self.cookie.secure is False:
            raise ValueError("SameSite=None cookies must be Secure")
        if self.cookie_name.startswith("__Host-") and (self.cookie.domain or self.cookie.path != "/"):
            raise ValueError("a __Host- cookie must have no domain and path '/'")
        if self.store is not None and self.store.cookie_only:
            self._check_cookie_only(self.store)

    def _check_cookie_only(self, store: SessionStore) -> None:
        """A store that keeps the whole session in the cookie needs it encrypted, and ended by a timeout."""
        if isinstance(self.codec, PlainCodec):
            raise ValueError(
                f"the {store.name} store keeps the whole session in the cookie: configure an encrypting "
                "codec (codec=sessions.crypto.EncryptedCodec(...)), or every visitor could read and forge theirs"
            )
        if self.absolute_timeout is None:
            raise ValueError(
                f"the {store.name} store needs an absolute_timeout: a copy of its cookie re-issues itself "
                "on every save, so nothing else ends it (absolute_timeout=timedelta(hours=8) is the default)"
            )

    def _check_types(self) -> None:
        """Refuse a value of the wrong type here, naming the option, rather than deep in a request."""
        for name, wanted in (
            ("cookie_name", str),
            ("allow_reclaim", bool),
            ("clear_site_data", bool),
            ("cookie", CookieAttributes),
        ):
            _expect(name, getattr(self, name), wanted)
        if self.store is not None:
            _expect("store", self.store, SessionStore)
        if self.namespace is not None:
            _expect("namespace", self.namespace, str)
        if self.max_session_bytes is not None and (
            isinstance(self.max_session_bytes, bool) or not isinstance(self.max_session_bytes, int)
        ):
            _expect("max_session_bytes", self.max_session_bytes, int)
        for name in ("id_generator", "clock"):
            if not callable(getattr(self, name)):
                raise TypeError(f"{name} must be a function, not {type(getattr(self, name)).__name__}")


def _expect(name: str, value: object, wanted: type) -> None:
    if not isinstance(value, wanted):
        raise TypeError(f"{name} must be {wanted.__name__}, not {type(value).__name__} {value!r}")


def _duration(name: str, value: object) -> timedelta | None:
    """A duration option as a positive ``timedelta`` (a number counts as seconds), or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (timedelta, int, float)):
        raise TypeError(
            f"{name} must be a datetime.timedelta, a number of seconds or None, not {type(value).__name__} {value!r}"
        )
    duration = value if isinstance(value, timedelta) else timedelta(seconds=value)
    if duration <= timedelta(0):
        raise ValueError(f"{name} must be positive or None, not {value!r}")
    return duration


def _secrets(name: str, value: object) -> tuple[str | bytes, ...]:
    """A ring of secrets, newest first, as a tuple; the messages never show a secret.

    One string is refused: taken as a sequence it would be one secret per
    character, a ring of one-letter keys anyone can guess.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        given = f"one {type(value).__name__}" if isinstance(value, (str, bytes)) else type(value).__name__
        raise TypeError(f"{name} must be a list of secrets, newest first, not {given}")
    ring = tuple(value)
    for position, secret in enumerate(ring):
        if not isinstance(secret, (str, bytes)):
            raise TypeError(f"{name}[{position}] must be str or bytes, not {type(secret).__name__}")
        if not secret:
            raise ValueError(f"{name}[{position}] is empty")
    return ring
