"""Step 1, overview: log in, see a secret, log out (Iris's ``overview`` example).

Beyond Iris: ``/login`` gives an existing session a new ID (so an ID planted
before login is worthless after it), ``/logout`` destroys the session on the
server (so a copied cookie stops working), instead of setting a flag, and
``/logout-everywhere`` ends every session of the logged-in user.
"""

from __future__ import annotations

import re

from .base import SessionHandler

#: A user name for the demo login: short, printable, no spaces.
_USER_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


class SecretHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        if not session.get_boolean("authenticated", default=False):
            self.write_text("Forbidden", status=403)
            return
        self.write_text("The cake is a lie!")


class LoginHandler(SessionHandler):
    """Log in as ``?user=NAME`` (default ``iris``); there is no password in this demo."""

    async def get(self) -> None:
        user = self.get_argument("user", "iris")
        if not _USER_NAME.fullmatch(user):
            self.write_text("Bad Request: user must be 1-64 letters, digits or _.@-", status=400)
            return
        session = await self.get_session()
        if not session.is_new:
            await self.get_session_manager().regenerate(self)
        session.set("authenticated", True)
        session.user = user
        self.write_text()


class LogoutHandler(SessionHandler):
    async def get(self) -> None:
        await self.get_session_manager().destroy(self)
        self.write_text()


class LogoutEverywhereHandler(SessionHandler):
    """End every session of the logged-in user, on every browser and device."""

    async def get(self) -> None:
        session = await self.get_session()
        user = session.user
        if user is None or not session.get_boolean("authenticated", default=False):
            self.write_text("Forbidden", status=403)
            return
        manager = self.get_session_manager()
        await manager.destroy(self)  # this browser: the session and its cookie
        others = await manager.destroy_user(user)
        self.write_text(f"Logged out {user} everywhere: {others + 1} session(s) ended")
