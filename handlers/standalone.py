"""The standalone and securecookie steps: Iris's two examples with the same routes.

Both steps answer the same routes with the same texts; they differ only in
their manager (``app.py``): the securecookie step encrypts its session-ID
cookie. So one set of handlers serves both, mounted under each prefix by
``routes()``.

Each step also has a page, ``{prefix}/page``, whose POST forms drive the same
routes (GET answers plain text for ``curl``; POST redirects back to the page).

Beyond Iris: a route that only reads, deletes or clears never creates a session
or a cookie, and ``/update`` on no session answers 200 without inventing one.
"""

from __future__ import annotations

from tornado.web import url

from sessions import Session, SessionManager, SessionNotFoundError

from .base import SessionHandler
from .pages import StepActionHandler, StepPageHandler

INDEX_TEXT = "You should navigate to the /set, /get, /delete, /clear,/destroy instead"
NAME = "iris"
IMMUTABLE_KEY = "businessEdit"


class HomeHandler(SessionHandler):
    def get(self) -> None:
        self.write_text(INDEX_TEXT)


class SetHandler(StepActionHandler):
    async def act(self) -> str:
        session = await self.get_session()
        session.set("name", NAME)
        return f"All ok session set to: {NAME}"


def get_text(session: Session) -> str:
    """What ``/get`` answers; the step's page shows the same."""
    return "The name on the /set was: " + session.get_string("name", default="")


class GetHandler(SessionHandler):
    async def get(self) -> None:
        self.write_text(get_text(await self.get_session()))


class DeleteHandler(StepActionHandler):
    async def act(self) -> str:
        session = await self.get_session()
        session.delete("name")
        return ""


class ClearHandler(StepActionHandler):
    async def act(self) -> str:
        session = await self.get_session()
        session.clear()
        return ""


class UpdateHandler(StepActionHandler):
    async def act(self) -> str:
        try:
            await self.get_session_manager().shift_expiration(self)
        except SessionNotFoundError:
            pass  # nothing to extend; Iris ignores the error too
        return ""


class DestroyHandler(StepActionHandler):
    async def act(self) -> str:
        await self.get_session_manager().destroy(self)
        return ""


class SetImmutableHandler(StepActionHandler):
    async def act(self) -> str:
        session = await self.get_session()
        session.set_immutable(IMMUTABLE_KEY, [{"Name": "Edward"}, {"Name": "value 2"}])
        # What get() returns is a copy: changing it cannot change the stored value.
        business = session.get(IMMUTABLE_KEY)
        business[0]["Name"] = "Gabriel"
        return ""


def immutable_text(session: Session) -> str | None:
    """What ``/get_immutable`` answers, or ``None`` when nothing was set (it then links to ``/set_immutable``)."""
    business = session.get(IMMUTABLE_KEY)
    return None if business is None else f"[]businessModel[0].Name remains: {business[0]['Name']}"


class GetImmutableHandler(SessionHandler):
    def initialize(self, session_manager: SessionManager, prefix: str) -> None:
        super().initialize(session_manager)
        self.prefix = prefix

    async def get(self) -> None:
        text = immutable_text(await self.get_session())
        if text is None:
            link = f"{self.prefix}/set_immutable"
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.write(f"please navigate to the <a href='{link}'>/set_immutable</a> first")
            return
        self.write_text(text)


class StepPage(StepPageHandler):
    """The step's page: what ``/get`` and ``/get_immutable`` answer now, forms for the rest."""

    def initialize(self, session_manager: SessionManager, prefix: str, template: str) -> None:
        super().initialize(session_manager)
        self.prefix, self.template = prefix, template

    async def get(self) -> None:
        session = await self.get_session()
        await self.render_step(prefix=self.prefix, get_text=get_text(session), immutable_text=immutable_text(session))


def routes(prefix: str, manager: SessionManager, template: str) -> list[url]:
    """The step's routes under ``prefix`` (e.g. ``/standalone``), all using ``manager``.

    The step's page is ``{prefix}/page``, rendered from ``template``; its forms
    post to the same routes, which then redirect back to it.
    """
    kwargs = {"session_manager": manager}
    actions = {**kwargs, "page": f"{prefix}/page"}
    return [
        url(rf"{prefix}/?", HomeHandler, kwargs),
        url(rf"{prefix}/page", StepPage, {**kwargs, "prefix": prefix, "template": template}),
        url(rf"{prefix}/set", SetHandler, actions),
        url(rf"{prefix}/get", GetHandler, kwargs),
        url(rf"{prefix}/delete", DeleteHandler, actions),
        url(rf"{prefix}/clear", ClearHandler, actions),
        url(rf"{prefix}/update", UpdateHandler, actions),
        url(rf"{prefix}/destroy", DestroyHandler, actions),
        url(rf"{prefix}/set_immutable", SetImmutableHandler, actions),
        url(rf"{prefix}/get_immutable", GetImmutableHandler, {**kwargs, "prefix": prefix}),
    ]
