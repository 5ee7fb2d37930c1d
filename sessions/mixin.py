"""Tornado integration: ``SessionMixin`` gives a handler its session.

::

    class CartHandler(SessionMixin, tornado.web.RequestHandler):
        async def post(self):
            session = await self.get_session()   # loaded on first use only
            session.increment("items")
            self.redirect("/cart")               # saved before the redirect leaves

The session is loaded lazily (a handler that never asks costs no store round
trip) and saved before the response's first byte: ``finish()`` waits for the
store write, then finishes, which covers ``redirect()``, an explicit
``finish()``, the automatic finish after ``get()``/``post()`` and async handlers
alike. Saving in ``on_finish()`` would be too late: the browser may already
be following the redirect. A handler that streams with ``flush()`` should
``await self.save_session()`` before its first flush.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Any

from tornado import iostream
from tornado.web import RequestHandler

from .errors import SessionNotStartedError, SessionTooLargeError, StoreUnavailableError
from .manager import SessionManager
from .session import Session

log = logging.getLogger("sessions")

STORE_UNAVAILABLE_TEXT = "Service Unavailable: the session store is unavailable, please try again shortly."


def session_error_answer(error: BaseException | None) -> tuple[int, str] | None:
    """The status and plain text a session error is answered with (``None``: not a session error).

    503 for a store outage, 413 for an oversized session: what the client can act on.
    """
    if isinstance(error, StoreUnavailableError):
        return 503, STORE_UNAVAILABLE_TEXT
    if isinstance(error, SessionTooLargeError):
        return 413, f"Payload Too Large: {error}"
    return None


class SessionMixin(RequestHandler):
    """Put it before ``RequestHandler`` in the bases of a handler.

    The manager comes from ``session_manager=`` in the URL spec's keyword
    arguments, the ``session_manager`` class attribute, or the application
    setting of the same name, in that order.
    """

    session_manager: SessionManager | None = None
    _session_finishing: asyncio.Future[None] | None = None

    def initialize(self, session_manager: SessionManager | None = None) -> None:
        if session_manager is not None:
            self.session_manager = session_manager

    def get_session_manager(self) -> SessionManager:
        manager = self.session_manager or self.settings.get("session_manager")
        if manager is None:
            raise RuntimeError("no session manager: pass session_manager= in the URL spec or the app settings")
        return manager

    async def get_session(self) -> Session:
        """Return this request's session, loading it on first use (Iris's ``Start``)."""
        return await self.get_session_manager().start(self)

    @property
    def session(self) -> Session:
        """The session, once ``await self.get_session()`` has loaded it."""
        session = self.get_session_manager().current(self)
        if session is None:
            raise SessionNotStartedError("await self.get_session() before reading self.session")
        return session

    async def save_session(self) -> None:
        """Save now; only needed before a ``flush()`` that sends the headers early."""
        await self.get_session_manager().save(self)

    def finish(self, chunk: Any = None) -> asyncio.Future[None]:
        if self._session_finishing is not None:  # redirect() finished already
            return self._session_finishing
        manager = self.session_manager or self.settings.get("session_manager")
        if manager is None or self.get_status() >= 500 or not manager.has_pending_write(self):
            if manager is not None and self.get_status() < 500:
                manager.write_headers(self)
            return super().finish(chunk)
        if chunk is not None:
            self.write(chunk)
        self._session_finishing = asyncio.ensure_future(self._save_then_finish())
        return self._session_finishing

    async def _save_then_finish(self) -> None:
        try:
            await self.save_session()
        except Exception as error:
            answer = session_error_answer(error)
            if answer is None:
                log.exception("saving the session failed")
                answer = 500, "Internal Server Error"
            elif isinstance(error, SessionTooLargeError):
                log.warning("refused an oversized session at save: %s", error)
            self.clear()
            self.write_text(answer[1], status=answer[0])
        try:
            await super().finish()
        except iostream.StreamClosedError:
            pass  # the client went away; the session is saved all the same

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer a session error raised by the handler as a session error found at save is answered."""
        answer = session_error_answer(kwargs.get("exc_info", (None, None, None))[1])
        if answer is None:
            super().write_error(status_code, **kwargs)
        else:
            self.write_text(answer[1], status=answer[0])

    def write_text(self, body: str = "", status: int = 200) -> None:
        """Answer ``status`` with ``body`` as ``text/plain``."""
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write(body)

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, SessionTooLargeError):
            log.warning("refused an oversized session write: %s", value)
        elif not isinstance(value, StoreUnavailableError):  # the manager logs outages once
            super().log_exception(typ, value, tb)
