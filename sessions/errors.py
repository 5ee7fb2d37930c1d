"""Exceptions raised by the session layer.

Each error subclasses the built-in exception a Python user would reach for first
(``KeyError`` for a missing key, ``ValueError`` for a bad conversion), so code
that already catches those keeps working, and ``SessionError`` catches them all.

The errors a client can act on, a store outage (503), an oversized session
(413) and a refused XSRF token (403), are also Tornado's ``HTTPError``: raised
while a handler runs, at the XSRF check, the load or the save, Tornado sends
them through the app's own ``write_error`` like any ``HTTPError``, with the
status and a ``reason``.
"""

from __future__ import annotations

from tornado.web import HTTPError

#: The reason (status line and plain-text answer) of a store outage.
STORE_UNAVAILABLE_TEXT = "Service Unavailable: the session store is unavailable, please try again shortly."
#: Why a token made for another session than the one the request acts on is refused.
XSRF_MISMATCH_TEXT = "XSRF token does not match this session"


class SessionError(Exception):
    """Base class of every error raised by ``sessions``."""


class SessionKeyError(SessionError, KeyError):
    """A typed getter was asked for a key the session does not hold."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"session has no key {self.key!r}"


class ConversionError(SessionError, ValueError):
    """A stored value cannot be read as the type a typed getter promises."""

    def __init__(self, key: str, value: object, wanted: str) -> None:
        super().__init__(f"session value {key!r} = {value!r} cannot be read as {wanted}")
        self.key = key
        self.value = value
        self.wanted = wanted


class ImmutableKeyError(SessionError):
    """``set()`` was called on a key stored with ``set_immutable()``.

    Iris ignores such a write silently; we refuse it loudly, because a write
    that silently does nothing is lost data.
    """

    def __init__(self, key: str) -> None:
        super().__init__(
            f"session key {key!r} was stored with set_immutable(); "
            "use set_immutable() to replace it or delete() it first"
        )
        self.key = key


class SessionNotFoundError(SessionError):
    """An operation needs an existing session and the request has none."""

    def __init__(self, message: str = "session not found") -> None:
        super().__init__(message)


class SessionNotStartedError(SessionError, RuntimeError):
    """``handler.session`` was read before ``await handler.get_session()``."""


class SessionDestroyedError(SessionError, RuntimeError):
    """A session was started after ``destroy()`` in the same request with ``allow_reclaim=False``."""


class SessionGoneError(SessionError):
    """The store no longer holds the record a save targets.

    Raised by stores when a request saves changes to a session that was destroyed
    (logout) or expired while the request ran; the manager drops the changes
    instead of bringing the session back.
    """


class SessionTooLargeError(SessionError, HTTPError):
    """A session (or the cookie carrying it) exceeds a configured size limit: ``HTTPError(413)``.

    Tornado logs it as a warning with its message, as any ``HTTPError`` with a log message.
    """

    def __init__(self, size: int, limit: int, what: str = "session") -> None:
        message = f"{what} is {size} bytes, over the limit of {limit} bytes"
        HTTPError.__init__(self, 413, message, reason=f"Payload Too Large: {message}")
        self.message = message
        self.size = size
        self.limit = limit

    def __str__(self) -> str:
        return self.message


class StoreUnavailableError(SessionError, HTTPError):
    """The session store cannot be reached or refused an operation: ``HTTPError(503)``.

    Never swallowed into an empty session: the request is answered 503. It
    carries no log message, so Tornado does not log each refused request: the
    manager logs the outage once, and its end once.
    """

    def __init__(self, message: str = "the session store is unavailable") -> None:
        HTTPError.__init__(self, 503, reason=STORE_UNAVAILABLE_TEXT)
        self.message = message

    def __str__(self) -> str:
        return self.message


class XSRFRefusedError(SessionError, HTTPError):
    """A POST's XSRF token is missing, forged, or made for another session than the one it acts on: ``HTTPError(403)``.

    ``SessionXSRFMixin`` raises it from its check, which Tornado runs before
    ``prepare()``, and the load raises it when the cookie opens another session
    than the one the check vouched for (the check cannot know which of the
    cookie's values is live; the load does). Either way nothing has run. The
    usual cause is harmless, a form loaded before a login or logout in another
    tab, so an app may tell it apart in ``write_error`` and send the browser back
    to a fresh form. Tornado logs it as a warning with its message, as it logs
    its own XSRF refusals.
    """

    def __init__(self, message: str = XSRF_MISMATCH_TEXT) -> None:
        HTTPError.__init__(self, 403, message, reason=f"Forbidden: {message}")
        self.message = message

    def __str__(self) -> str:
        return self.message
