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
import sys
from typing import Any

from tornado import iostream
from tornado.web import HTTPError, RequestHandler

from .errors import SessionNotStartedError
from .manager import SessionManager
from .session import Session


class SessionMixin(RequestHandler):
    """Put it before ``RequestHandler`` in the bases of a handler.

    The manager comes from ``session_manager=`` in the URL spec's keyword
    arguments, the ``session_manager`` class attribute, or the application
    setting of the same name, in that order.

    It overrides only ``initialize`` and ``finish``. A store outage (503) or an
    oversized session (413) found at the load or at the save is Tornado's
    ``HTTPError``, answered by the app's own ``write_error``.
    """

    session_manager: SessionManager | None = None
    _session_finishing: asyncio.Future[None] | None = None
    _session_save_failed = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _refuse_hidden_overrides(cls)

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
        failed = self._session_save_failed or self.get_status() >= 500
        if manager is None or failed or not manager.has_pending_write(self):
            if manager is not None and not failed:
                manager.write_headers(self)
            return super().finish(chunk)
        if chunk is not None:
            self.write(chunk)
        self._session_finishing = asyncio.ensure_future(self._save_then_finish())
        return self._session_finishing

    async def _save_then_finish(self) -> None:
        try:
            await self.save_session()
        except Exception:
            self._send_save_error()
            return
        try:
            await super().finish()
        except iostream.StreamClosedError:
            pass  # the client went away; the session is saved all the same

    def _send_save_error(self) -> None:
        """Replace the response with the error the save raised, through the app's ``write_error``.

        As Tornado answers an exception raised by the handler: logged by
        ``log_exception``, answered with its status if it is an ``HTTPError``, else 500.
        """
        exc_info = sys.exc_info()
        error = exc_info[1]
        self._session_save_failed, self._session_finishing = True, None
        self.log_exception(*exc_info)
        self.send_error(error.status_code if isinstance(error, HTTPError) else 500, exc_info=exc_info)


def _refuse_hidden_overrides(cls: type[SessionMixin]) -> None:
    """Raise ``TypeError`` when a handler class of the app hides a method the session mixins need.

    ``class Handler(AppBase, SessionMixin)`` puts ``AppBase`` first in the method
    order: its ``initialize`` (or ``prepare``, ``finish``...) runs instead of the
    mixin's, and the session silently stops being saved or checked.
    """
    mixins = [base for base in cls.__mro__ if issubclass(base, SessionMixin) and _is_ours(base)]
    # initialize is left out: an app's own hides the URL spec's session_manager=, and the first
    # get_session() then says so (no manager), unless the class attribute or the app setting names one.
    needed = {
        name
        for mixin in mixins
        for name in vars(mixin)
        if not name.startswith("_") and name != "initialize" and hasattr(RequestHandler, name)
    }
    for base in cls.__mro__[: cls.__mro__.index(mixins[0])]:
        if issubclass(base, SessionMixin) or not issubclass(base, RequestHandler) or _is_ours(base):
            continue
        hidden = sorted(needed & set(vars(base)))
        if hidden:
            mixin, method = mixins[0].__name__, f"{base.__name__}.{hidden[0]}"
            raise TypeError(
                f"{cls.__name__}: {method} comes before {mixin}'s in the method order and hides it; "
                f"list {mixin} first in the bases, before {base.__name__}"
            )


def _is_ours(cls: type) -> bool:
    """A class of this package (which cooperates: it calls ``super()``)."""
    return cls.__module__.partition(".")[0] == __name__.partition(".")[0]
