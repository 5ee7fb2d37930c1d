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

from tornado.routing import URLSpec
from tornado.web import url

from sessions import Session, SessionManager, SessionNotFoundError

from .base import SessionHandler
from .pages import StepActionHandler, StepPageHandler

INDEX_TEXT = "You should navigate to the /set, /get, /delete, /clear,/destroy instead"
NAME = "iris"
IMMUTABLE_KEY = "businessEdit"


class StandaloneHome(SessionHandler):
    def get(self) -> None:
        self.write_text(INDEX_TEXT)


class StandaloneSet(StepActionHandler):
    async def act(self) -> str:
        session = await self.get_session()
        session.set("name", NAME)
        return f"All ok session set to: {NAME}"


def get_text(session: Session) -> str:
    """What ``/get`` answers; the step's page shows the same."""
    return "The name on the /set was: " + session.get_string("name", default="")


class StandaloneGet(SessionHandler):
    async def get(self) -> None:
        self.write_text(get_text(await self.get_session()))


class StandaloneDelete(StepActionHandler):
    async def act(self) -> str:
        session = await self.get_session()
        session.delete("name")
        return ""


class StandaloneClear(StepActionHandler):
    async def act(self) -> str:
        session = await self.get_session()
        session.clear()
        return ""


class StandaloneUpdate(StepActionHandler):
    async def act(self) -> str:
        try:
            await self.get_session_manager().shift_expiration(self)
        except SessionNotFoundError:
            pass  # nothing to extend; Iris ignores the error too
        return ""


class StandaloneDestroy(StepActionHandler):
    async def act(self) -> str:
        await self.get_session_manager().destroy(self)
        return ""


class StandaloneSetImmutable(StepActionHandler):
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


class StandaloneGetImmutable(SessionHandler):
    def initialize(self, session_manager: SessionManager | None = None, prefix: str = "/standalone") -> None:
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


class StandalonePage(StepPageHandler):
    """The step's page: what ``/get`` and ``/get_immutable`` answer now, forms for the rest."""

    def initialize(
        self,
        session_manager: SessionManager | None = None,
        prefix: str = "/standalone",
        template: str = "standalone.html",
    ) -> None:
        """Defaults of the standalone step (as ``SessionMixin.initialize``'s, every argument may be left out)."""
        super().initialize(session_manager)
        self.prefix, self.template = prefix, template

    async def get(self) -> None:
        session = await self.get_session()
        await self.render_step(prefix=self.prefix, get_text=get_text(session), immutable_text=immutable_text(session))


def routes(manager: SessionManager, prefix: str = "/standalone") -> list[URLSpec]:
    """The step's routes under ``prefix``, all using ``manager``; named ``{step}_{route}`` (``standalone_set``).

    The securecookie step mounts the same routes under ``/securecookie``. The
    step's page is ``{prefix}/page``, rendered from ``{step}.html``; its forms
    post to the same routes, which then redirect back to it.
    """
    step = prefix.strip("/")
    kwargs = {"session_manager": manager}
    actions = {**kwargs, "page": f"{prefix}/page"}
    page = {**kwargs, "prefix": prefix, "template": f"{step}.html"}
    immutable = {**kwargs, "prefix": prefix}
    return [
        url(rf"{prefix}/?", StandaloneHome, kwargs, name=f"{step}_home"),
        url(rf"{prefix}/page", StandalonePage, page, name=f"{step}_page"),
        url(rf"{prefix}/set", StandaloneSet, actions, name=f"{step}_set"),
        url(rf"{prefix}/get", StandaloneGet, kwargs, name=f"{step}_get"),
        url(rf"{prefix}/delete", StandaloneDelete, actions, name=f"{step}_delete"),
        url(rf"{prefix}/clear", StandaloneClear, actions, name=f"{step}_clear"),
        url(rf"{prefix}/update", StandaloneUpdate, actions, name=f"{step}_update"),
        url(rf"{prefix}/destroy", StandaloneDestroy, actions, name=f"{step}_destroy"),
        url(rf"{prefix}/set_immutable", StandaloneSetImmutable, actions, name=f"{step}_set_immutable"),
        url(rf"{prefix}/get_immutable", StandaloneGetImmutable, immutable, name=f"{step}_get_immutable"),
    ]
