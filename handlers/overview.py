"""Step 1, overview: log in, see a secret, log out (Iris's ``overview`` example).

Beyond Iris: ``/login`` gives an existing session a new ID (so an ID planted
before login is worthless after it), and ``/logout`` destroys the session on the
server (so a copied cookie stops working), instead of setting a flag.
"""

from __future__ import annotations

from .base import SessionHandler


class SecretHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        if not session.get_boolean("authenticated", default=False):
            self.write_text("Forbidden", status=403)
            return
        self.write_text("The cake is a lie!")


class LoginHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        if not session.is_new:
            await self.get_session_manager().regenerate(self)
        session.set("authenticated", True)
        self.write_text()


class LogoutHandler(SessionHandler):
    async def get(self) -> None:
        await self.get_session_manager().destroy(self)
        self.write_text()
