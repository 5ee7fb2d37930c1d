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
from tornado.web import HTTPError, RequestHandler

from . import xsrf
from .errors import SessionNotStartedError, SessionTooLargeError, StoreUnavailableError
from .manager import SessionManager, started_managers
from .session import Session

log = logging.getLogger("sessions")

STORE_UNAVAILABLE_TEXT = "Service Unavailable: the session store is unavailable, please try again shortly."


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

    # -- XSRF tokens bound to the session ----------------------------------------

    @property
    def xsrf_token(self) -> bytes:
        """Tornado's masked XSRF token, derived from the session when there is one.

        Tornado's own token is a double-submit cookie that any session could
        present; this one is an HMAC of the session ID (keyed with the newest of
        the application's ``xsrf_session_secrets``, else its ``cookie_secret``), so
        a token from another session is refused, and ``regenerate()`` (login)
        rotates it. ``xsrf_form_html()`` keeps working. A visitor without a
        session gets Tornado's token.
        """
        secrets, session_id = self._xsrf_binding_inputs()
        if session_id is None:
            return super().xsrf_token
        return xsrf.mask(xsrf.binding(secrets[0], session_id))

    def check_xsrf_cookie(self) -> None:
        """Accept a token made under any secret of the ring: a form rendered before a rotation still posts."""
        secrets, session_id = self._xsrf_binding_inputs()
        if session_id is None:
            super().check_xsrf_cookie()
            return
        token = (
            self.get_argument("_xsrf", None)
            or self.request.headers.get("X-Xsrftoken")
            or self.request.headers.get("X-Csrftoken")
        )
        if not token:
            raise HTTPError(403, "'_xsrf' argument missing from POST")
        if not any(xsrf.matches(token, xsrf.binding(secret, session_id)) for secret in secrets):
            raise HTTPError(403, "XSRF token does not match this session")

    def _xsrf_binding_inputs(self) -> tuple[list[xsrf.Secret], str | None]:
        """The token secrets (newest first) and the session ID tokens are bound to (``None``: no binding)."""
        secrets = xsrf.secrets_from_settings(self.settings)
        if not secrets:
            return secrets, None
        return secrets, self.get_session_manager().request_session_id(self)

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
        for manager in started_managers(self):
            await manager.save(self)

    def finish(self, chunk: Any = None) -> asyncio.Future[None]:
        if self._session_finishing is not None:  # redirect() finished already
            return self._session_finishing
        managers = started_managers(self)
        if self.get_status() >= 500 or not any(m.has_pending_write(self) for m in managers):
            for manager in managers:
                if self.get_status() < 500:
                    manager.write_headers(self)
            return super().finish(chunk)
        if chunk is not None:
            self.write(chunk)
        self._session_finishing = asyncio.ensure_future(self._save_then_finish())
        return self._session_finishing

    async def _save_then_finish(self) -> None:
        try:
            await self.save_session()
        except (StoreUnavailableError, SessionTooLargeError) as error:
            if isinstance(error, SessionTooLargeError):
                log.warning("refused an oversized session at save: %s", error)
            self._answer_session_error(error)
        except Exception:
            log.exception("saving the session failed")
            self._replace_response(500, "Internal Server Error")
        try:
            await super().finish()
        except iostream.StreamClosedError:
            pass  # the client went away; the session is saved all the same

    def _answer_session_error(self, error: StoreUnavailableError | SessionTooLargeError) -> None:
        """503 for a store outage, 413 for an oversized session: what the client can act on."""
        if isinstance(error, StoreUnavailableError):
            self._replace_response(503, STORE_UNAVAILABLE_TEXT)
        else:
            self._replace_response(413, f"Payload Too Large: {error}")

    def _replace_response(self, status: int, text: str) -> None:
        self.clear()
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write(text)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, (StoreUnavailableError, SessionTooLargeError)):
            self._answer_session_error(error)
            self.finish()
        else:
            super().write_error(status_code, **kwargs)

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
