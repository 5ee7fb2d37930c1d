"""The standalone and securecookie steps: Iris's two examples with the same routes.

Both steps answer the same routes with the same texts; they differ only in
their manager (``app.py``): the securecookie step encrypts its session-ID
cookie. So one set of handlers serves both, mounted under each prefix by
``routes()``.

Beyond Iris: a route that only reads, deletes or clears never creates a session
or a cookie, and ``/update`` on no session answers 200 without inventing one.
"""

from __future__ import annotations

from tornado.web import url

from sessions import SessionManager, SessionNotFoundError

from .base import SessionHandler

INDEX_TEXT = "You should navigate to the /set, /get, /delete, /clear,/destroy instead"
NAME = "iris"
IMMUTABLE_KEY = "businessEdit"


class HomeHandler(SessionHandler):
    def get(self) -> None:
        self.write_text(INDEX_TEXT)


class SetHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        session.set("name", NAME)
        self.write_text(f"All ok session set to: {NAME}")


class GetHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        self.write_text("The name on the /set was: " + session.get_string("name", default=""))


class DeleteHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        session.delete("name")
        self.write_text()


class ClearHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        session.clear()
        self.write_text()


class UpdateHandler(SessionHandler):
    async def get(self) -> None:
        try:
            await self.get_session_manager().shift_expiration(self)
        except SessionNotFoundError:
            pass  # nothing to extend; Iris ignores the error too
        self.write_text()


class DestroyHandler(SessionHandler):
    async def get(self) -> None:
        await self.get_session_manager().destroy(self)
        self.write_text()


class SetImmutableHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        session.set_immutable(IMMUTABLE_KEY, [{"Name": "Edward"}, {"Name": "value 2"}])
        # What get() returns is a copy: changing it cannot change the stored value.
        business = session.get(IMMUTABLE_KEY)
        business[0]["Name"] = "Gabriel"
        self.write_text()


class GetImmutableHandler(SessionHandler):
    def initialize(self, session_manager: SessionManager, prefix: str) -> None:
        super().initialize(session_manager)
        self.prefix = prefix

    async def get(self) -> None:
        session = await self.get_session()
        business = session.get(IMMUTABLE_KEY)
        if business is None:
            link = f"{self.prefix}/set_immutable"
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.write(f"please navigate to the <a href='{link}'>/set_immutable</a> first")
            return
        self.write_text(f"[]businessModel[0].Name remains: {business[0]['Name']}")


def routes(prefix: str, manager: SessionManager) -> list[url]:
    """The step's routes under ``prefix`` (e.g. ``/standalone``), all using ``manager``."""
    kwargs = {"session_manager": manager}
    return [
        url(rf"{prefix}/?", HomeHandler, kwargs),
        url(rf"{prefix}/set", SetHandler, kwargs),
        url(rf"{prefix}/get", GetHandler, kwargs),
        url(rf"{prefix}/delete", DeleteHandler, kwargs),
        url(rf"{prefix}/clear", ClearHandler, kwargs),
        url(rf"{prefix}/update", UpdateHandler, kwargs),
        url(rf"{prefix}/destroy", DestroyHandler, kwargs),
        url(rf"{prefix}/set_immutable", SetImmutableHandler, kwargs),
        url(rf"{prefix}/get_immutable", GetImmutableHandler, {**kwargs, "prefix": prefix}),
    ]
