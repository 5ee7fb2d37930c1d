"""Step 5, database: Iris's ``database`` example under ``/database``, on whichever store the app runs.

The handlers are the same whatever the store (memory, SQLite or Redis): the
session API hides it, which is the point of the step. ``/``, ``/delete``,
``/clear`` and ``/destroy`` are step 2's handlers, as in Iris. Beyond Iris:
values keep their type in every store (an int set by ``/set/int`` reads back as
an int, not Redis's float64), a non-numeric ``/set/int`` value is refused with a
400 instead of being stored as -1, ``/update`` moves the store's expiry along
with the cookie's, and ``/increment`` never loses a count to a concurrent request.
"""

from __future__ import annotations

from tornado.routing import URLSpec
from tornado.web import HTTPError, RequestHandler, url

from sessions import ConversionError, SessionManager, SessionMixin, SessionNotFoundError, refuse_cross_site
from sessions.conversions import to_int64

from .standalone import Clear, Delete, Destroy, Home


class SetName(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        session = await self.get_session()
        session.set("name", "iris")
        self.write(f"All ok session value of the 'name' is: {session.get_string('name')}")


class SetValue(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self, key: str, value: str) -> None:
        session = await self.get_session()
        session.set(key, value)
        self.write(f"All ok session value of the '{key}' is: {session.get_string(key)}")


class SetInt(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self, key: str, value: str) -> None:
        number = int64(value)  # before the session: a refused value creates none
        session = await self.get_session()
        session.set(key, number)
        self.write(f"All ok session value of the '{key}' is: {session.get_int(key)}")


class GetName(SessionMixin, RequestHandler):
    async def get(self) -> None:
        session = await self.get_session()
        self.write(f"The 'name' on the /set was: {session.get_string('name', default='')}")


class GetValue(SessionMixin, RequestHandler):
    async def get(self, key: str) -> None:
        session = await self.get_session()
        self.write(f"The '{key}' on the /set was: {session.get(key)}")


class Update(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        # Move the expiry 45 minutes from now, in the store (a Redis key's TTL too) and in the cookie
        try:
            await self.get_session_manager().shift_expiration(self)
        except SessionNotFoundError as exc:
            raise HTTPError(404, reason=str(exc)) from None


class Increment(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self, key: str) -> None:
        session = await self.get_session()
        self.write(f"The '{key}' is now: {session.increment(key)}")


class SetFromForm(SessionMixin, RequestHandler):
    """The page's form: ``/set/{key}/{value}`` or ``/set/int/{key}/{value}`` as a POST body."""

    async def post(self) -> None:
        key, value = self.get_body_argument("key", "").strip(), self.get_body_argument("value", "")
        if not key or "/" in key:
            raise HTTPError(400, reason="Bad Request: the key must be a non-empty name without '/'")
        stored = int64(value) if self.get_body_argument("kind", "str") == "int" else value
        session = await self.get_session()
        session.set(key, stored)
        self.redirect(self.reverse_url("database_page"), status=303)


def int64(value: str) -> int:
    """The value as a 64-bit int, or a 400 that says why (Iris stored -1 without a word)."""
    try:
        return to_int64("value", value)
    except ConversionError:
        reason = f"Bad Request: the value '{value}' is not a 64-bit integer (use digits, like 42 or -7)"
        raise HTTPError(400, reason=reason) from None


def routes(manager: SessionManager, prefix: str = "/database") -> list[URLSpec]:
    """The step's routes under ``prefix``, named ``database_{route}``."""
    sessions = {"session_manager": manager}
    return [
        url(rf"{prefix}/?", Home, sessions, name="database_home"),
        url(rf"{prefix}/set", SetName, sessions, name="database_set_name"),
        url(rf"{prefix}/set/int/([^/]+)/([^/]+)", SetInt, sessions, name="database_set_int"),
        url(rf"{prefix}/set/([^/]+)/([^/]+)", SetValue, sessions, name="database_set"),
        url(rf"{prefix}/get", GetName, sessions, name="database_get_name"),
        url(rf"{prefix}/get/([^/]+)", GetValue, sessions, name="database_get"),
        url(rf"{prefix}/delete", Delete, sessions, name="database_delete"),
        url(rf"{prefix}/clear", Clear, sessions, name="database_clear"),
        url(rf"{prefix}/destroy", Destroy, sessions, name="database_destroy"),
        url(rf"{prefix}/update", Update, sessions, name="database_update"),
        url(rf"{prefix}/increment/([^/]+)", Increment, sessions, name="database_increment"),
        url(rf"{prefix}/value", SetFromForm, sessions, name="database_value"),
    ]
