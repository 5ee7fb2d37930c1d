"""Step 1, overview: log in, see a secret, log out (Iris's ``overview`` example).

Beyond Iris: ``/login`` gives an existing session a new ID (so an ID planted
before login is worthless after it), and ``/logout`` destroys the session on the
server (so a copied cookie stops working), instead of setting a flag.

The GET routes answer in plain text, as Iris does, for ``curl``; the step's page
(``/overview``) drives the same routes with POST forms, which redirect back to
the page (post/redirect/get).
"""

from __future__ import annotations

from sessions import Session

from .base import SessionHandler
from .pages import StepActionHandler, StepPageHandler


def secret_answer(session: Session) -> tuple[int, str]:
    """What ``/secret`` answers for this session: the page shows the same answer."""
    if session.get_boolean("authenticated", default=False):
        return 200, "The cake is a lie!"
    return 403, "Forbidden"


class SecretHandler(SessionHandler):
    async def get(self) -> None:
        status, body = secret_answer(await self.get_session())
        self.write_text(body, status=status)


class LoginHandler(StepActionHandler):
    async def act(self) -> str:
        session = await self.get_session()
        if not session.is_new:
            await self.get_session_manager().regenerate(self)
        session.set("authenticated", True)
        return ""


class LogoutHandler(StepActionHandler):
    async def act(self) -> str:
        await self.get_session_manager().destroy(self)
        return ""


class OverviewPageHandler(StepPageHandler):
    template = "overview.html"

    async def get(self) -> None:
        status, body = secret_answer(await self.get_session())
        await self.render_step(secret_status=status, secret_text=body)
