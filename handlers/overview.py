"""Step 1, overview: log in, see a secret, log out (Iris's ``overview`` example).

Only an authenticated user may read ``/secret``. ``/login`` makes the session
authenticated and ``/logout`` ends it. Beyond Iris: ``/login`` gives an existing
session a new ID (an ID planted in the browser before login is worthless after
it), ``/logout`` destroys the session on the server instead of setting a flag (a
copied cookie stops working), and ``/logout-everywhere`` ends every session of
the user. The routes that change the session refuse a request another site's
page sent (``@refuse_cross_site``): a GET link on any web page would otherwise
log its visitors in or out.
"""

from __future__ import annotations

import re

from tornado.routing import URLSpec
from tornado.web import HTTPError, RequestHandler, url

from sessions import SessionManager, SessionMixin, refuse_cross_site

#: A user name for the demo login: short, printable, no spaces.
USER_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


class Secret(SessionMixin, RequestHandler):
    async def get(self) -> None:
        session = await self.get_session()
        # Check if the user is authenticated
        if not session.get_boolean("authenticated", default=False):
            raise HTTPError(403, reason="Forbidden")
        # Print the secret message
        self.write("The cake is a lie!")


class Login(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        user = self.get_argument("user", "iris")  # there is no password in this demo
        if not USER_NAME.fullmatch(user):
            raise HTTPError(400, reason="Bad Request: user must be 1-64 letters, digits or _.@-")
        session = await self.get_session()
        if not session.is_new:
            await self.get_session_manager().regenerate(self)  # a new ID: one planted before login is worthless
        # Set the user as authenticated
        session.set("authenticated", True)
        session.user = user


class Logout(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        # Revoke the user's access: the session is deleted on the server and the cookie expired
        await self.get_session_manager().destroy(self)


class LogoutEverywhere(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        session = await self.get_session()
        user = session.user
        if user is None or not session.get_boolean("authenticated", default=False):
            raise HTTPError(403, reason="Forbidden: you are not logged in")
        manager = self.get_session_manager()
        await manager.destroy(self)  # this browser's session and cookie
        others = await manager.destroy_user(user)  # and every other session of the user
        self.write(f"Logged out {user} everywhere: {others + 1} session(s) ended")


def routes(manager: SessionManager) -> list[URLSpec]:
    """The step's routes at the site's root, as in Iris; named ``overview_{route}``."""
    sessions = {"session_manager": manager}
    return [
        url(r"/secret", Secret, sessions, name="overview_secret"),
        url(r"/login", Login, sessions, name="overview_login"),
        url(r"/logout", Logout, sessions, name="overview_logout"),
        url(r"/logout-everywhere", LogoutEverywhere, sessions, name="overview_logout_everywhere"),
    ]
