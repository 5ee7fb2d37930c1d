"""Step 2, standalone: a session that lasts two hours (Iris's ``standalone`` example).

Set, read, delete, clear, extend and destroy a session. Step 4 (securecookie)
mounts these same handlers under ``/securecookie`` with a manager that encrypts
its cookie, as Iris's ``securecookie`` example repeats these routes. Beyond Iris:
reading, deleting or clearing without a session creates no session and no
cookie, ``/update`` without a session answers 200 without inventing one, and the
routes that change the session refuse another site's request
(``@refuse_cross_site``).
"""

from __future__ import annotations

from tornado.routing import URLSpec
from tornado.web import RequestHandler, url

from sessions import SessionManager, SessionMixin, SessionNotFoundError, refuse_cross_site


class Home(SessionMixin, RequestHandler):
    def get(self) -> None:
        self.write("You should navigate to the /set, /get, /delete, /clear,/destroy instead")


class Set(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        session = await self.get_session()
        # Set session values
        session.set("name", "iris")
        self.write("All ok session set to: iris")


class Get(SessionMixin, RequestHandler):
    async def get(self) -> None:
        session = await self.get_session()
        # Get a value as a string ("" when it was never set)
        name = session.get_string("name", default="")
        self.write(f"The name on the /set was: {name}")


class Delete(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        session = await self.get_session()
        # Delete a specific key
        session.delete("name")


class Clear(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        session = await self.get_session()
        # Remove all entries
        session.clear()


class Update(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        # Move the expiry two hours from now, in the store and in the cookie
        try:
            await self.get_session_manager().shift_expiration(self)
        except SessionNotFoundError:
            pass  # no session, nothing to extend; Iris ignores the error too


class Destroy(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        # Delete the session on the server and expire its cookie in the browser
        await self.get_session_manager().destroy(self)


class SetImmutable(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        session = await self.get_session()
        business = [{"Name": "Edward"}, {"Name": "value 2"}]
        session.set_immutable("businessEdit", business)
        # What get() returns is a copy: changing it cannot change the stored value
        business_get = session.get("businessEdit")
        business_get[0]["Name"] = "Gabriel"


class GetImmutable(SessionMixin, RequestHandler):
    async def get(self) -> None:
        session = await self.get_session()
        business = session.get("businessEdit")
        if business is None:
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.write("please navigate to the <a href='set_immutable'>/set_immutable</a> first")
            return
        self.write(f"[]businessModel[0].Name remains: {business[0]['Name']}")


def routes(manager: SessionManager, prefix: str = "/standalone") -> list[URLSpec]:
    """The step's routes under ``prefix``, named ``{step}_{route}`` (``standalone_set``, ``securecookie_set``)."""
    step, sessions = prefix.strip("/"), {"session_manager": manager}
    return [
        url(rf"{prefix}/?", Home, sessions, name=f"{step}_home"),
        url(rf"{prefix}/set", Set, sessions, name=f"{step}_set"),
        url(rf"{prefix}/get", Get, sessions, name=f"{step}_get"),
        url(rf"{prefix}/delete", Delete, sessions, name=f"{step}_delete"),
        url(rf"{prefix}/clear", Clear, sessions, name=f"{step}_clear"),
        url(rf"{prefix}/update", Update, sessions, name=f"{step}_update"),
        url(rf"{prefix}/destroy", Destroy, sessions, name=f"{step}_destroy"),
        url(rf"{prefix}/set_immutable", SetImmutable, sessions, name=f"{step}_set_immutable"),
        url(rf"{prefix}/get_immutable", GetImmutable, sessions, name=f"{step}_get_immutable"),
    ]
