"""``SessionUserMixin``: Tornado's ``current_user`` and ``@authenticated`` from the session.

::

    class BaseHandler(SessionUserMixin, tornado.web.RequestHandler):
        pass

    class LoginHandler(BaseHandler):
        async def post(self):
            if check_password(self.get_argument("name"), self.get_argument("password")):
                await self.log_in(self.get_argument("name"))   # a new session ID, then the user
                self.redirect(self.get_argument("next", "/"))

    class AccountHandler(BaseHandler):
        @tornado.web.authenticated      # redirects to the login_url setting when logged out
        async def get(self):
            self.write(f"Hello {self.current_user}")

Tornado's ``get_current_user()`` cannot wait for a store, so, as Tornado's
documentation advises, ``prepare()`` sets ``self.current_user``: it loads the
session (one store read per request, for every handler of the class) and takes
its ``user``.
"""

from __future__ import annotations

from .mixin import SessionMixin
from .session import Session


class SessionUserMixin(SessionMixin):
    """``self.current_user`` is the session's ``user`` (``None`` when logged out); put it before ``RequestHandler``.

    A subclass that overrides ``prepare()`` calls ``await super().prepare()`` first.
    """

    async def prepare(self) -> None:
        started = super().prepare()
        if started is not None:  # an async prepare() later in the bases
            await started
        if not self._finished:
            self.current_user = (await self.get_session()).user

    async def log_in(self, user: str) -> Session:
        """Make ``user`` this session's owner, under a new session ID.

        The new ID (``regenerate()``) makes an ID planted before the login
        (session fixation) worthless after it, and rotates the session-bound
        XSRF token; the user is what ``destroy_user()`` ("log out everywhere") finds.
        """
        session = await self.get_session_manager().regenerate(self)
        session.user = user
        self.current_user = user
        return session

    async def log_out(self) -> None:
        """End the session on the server and expire its cookie."""
        await self.get_session_manager().destroy(self)
        self.current_user = None
