"""Step 1, overview: log in, see a secret, log out (Iris's ``overview`` example).

Beyond Iris: ``/login`` gives an existing session a new ID (so an ID planted
before login is worthless after it), ``/logout`` destroys the session on the
server (so a copied cookie stops working), instead of setting a flag, and
``/logout-everywhere`` ends every session of the logged-in user.

The GET routes answer in plain text, as Iris does, for ``curl``; the step's page
(``/overview``) drives the same routes with POST forms, which redirect back to
the page (post/redirect/get).
"""

from __future__ import annotations

import re

from tornado.routing import URLSpec
from tornado.web import HTTPError, url

from sessions import Session, SessionManager

from .base import SessionHandler
from .pages import StepActionHandler, StepPageHandler

#: A user name for the demo login: short, printable, no spaces.
_USER_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def secret_answer(session: Session) -> tuple[int, str]:
    """What ``/secret`` answers for this session: the page shows the same answer."""
    if session.get_boolean("authenticated", default=False):
        return 200, "The cake is a lie!"
    return 403, "Forbidden"


class OverviewSecret(SessionHandler):
    async def get(self) -> None:
        status, body = secret_answer(await self.get_session())
        self.write_text(body, status=status)


class OverviewLogin(StepActionHandler):
    """Log in as ``user=NAME`` (default ``iris``); there is no password in this demo."""

    async def act(self) -> str:
        user = self.get_argument("user", "iris")
        if not _USER_NAME.fullmatch(user):
            raise HTTPError(400, reason="Bad Request: user must be 1-64 letters, digits or _.@-")
        session = await self.get_session()
        if not session.is_new:
            await self.get_session_manager().regenerate(self)
        session.set("authenticated", True)
        session.user = user
        return ""


class OverviewLogout(StepActionHandler):
    async def act(self) -> str:
        await self.get_session_manager().destroy(self)
        return ""


class OverviewLogoutEverywhere(StepActionHandler):
    """End every session of the logged-in user, on every browser and device."""

    async def act(self) -> str:
        session = await self.get_session()
        user = session.user
        if user is None or not session.get_boolean("authenticated", default=False):
            raise HTTPError(403, reason="Forbidden")
        manager = self.get_session_manager()
        await manager.destroy(self)  # this browser: the session and its cookie
        others = await manager.destroy_user(user)
        return f"Logged out {user} everywhere: {others + 1} session(s) ended"


class OverviewPage(StepPageHandler):
    template = "overview.html"

    async def get(self) -> None:
        session = await self.get_session()
        status, body = secret_answer(session)
        await self.render_step(secret_status=status, secret_text=body, user=session.user)


def routes(manager: SessionManager, prefix: str = "") -> list[URLSpec]:
    """The step's routes, at the site's root as in Iris; named ``overview_{route}``.

    Its forms post to them and come back to ``/overview``.
    """
    kwargs = {"session_manager": manager}
    actions = {**kwargs, "page": f"{prefix}/overview"}
    return [
        url(rf"{prefix}/overview", OverviewPage, kwargs, name="overview_page"),
        url(rf"{prefix}/secret", OverviewSecret, kwargs, name="overview_secret"),
        url(rf"{prefix}/login", OverviewLogin, actions, name="overview_login"),
        url(rf"{prefix}/logout", OverviewLogout, actions, name="overview_logout"),
        url(rf"{prefix}/logout-everywhere", OverviewLogoutEverywhere, actions, name="overview_logout_everywhere"),
    ]
