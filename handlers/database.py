"""The database step: Iris's Redis example under ``/database``, on whichever store the app runs.

The handlers are the same whatever the store (memory, SQLite or Redis): the
session API hides it, which is the point of the step. Beyond Iris: values keep
their type in every store (an int set by ``/set/int`` reads back as an int, not
Redis's float64), a non-numeric ``/set/int`` value is refused with a 400 instead
of being stored as -1, and ``/update`` moves the store's expiry along with the
cookie's (Iris's Redis TTL did not move: its issue #1061).
"""

from __future__ import annotations

from tornado.web import URLSpec

from sessions import ConversionError, SessionManager, SessionNotFoundError
from sessions.conversions import to_int64

from .base import SessionHandler


class IndexHandler(SessionHandler):
    def get(self) -> None:
        self.write_text("You should navigate to the /set, /get, /delete, /clear,/destroy instead")


class SetNameHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        session.set("name", "iris")
        self.write_text(f"All ok session value of the 'name' is: {session.get_string('name')}")


class SetHandler(SessionHandler):
    async def get(self, key: str, value: str) -> None:
        session = await self.get_session()
        session.set(key, value)
        self.write_text(f"All ok session value of the '{key}' is: {session.get_string(key)}")


class SetIntHandler(SessionHandler):
    async def get(self, key: str, value: str) -> None:
        try:
            number = to_int64(key, value)
        except ConversionError:
            message = f"Bad Request: the value '{value}' is not a 64-bit integer (use digits, like 42 or -7)"
            self.write_text(message, 400)
            return
        session = await self.get_session()
        session.set(key, number)
        self.write_text(f"All ok session value of the '{key}' is: {session.get_int(key)}")


class GetNameHandler(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        self.write_text(f"The 'name' on the /set was: {session.get_string('name', default='')}")


class GetHandler(SessionHandler):
    async def get(self, key: str) -> None:
        session = await self.get_session()
        self.write_text(f"The '{key}' on the /set was: {session.get(key)}")


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


class DestroyHandler(SessionHandler):
    async def get(self) -> None:
        await self.get_session_manager().destroy(self)
        self.write_text()


class UpdateHandler(SessionHandler):
    async def get(self) -> None:
        try:
            await self.get_session_manager().shift_expiration(self)
        except SessionNotFoundError as exc:
            self.write_text(str(exc), 404)
            return
        self.write_text()


def routes(manager: SessionManager) -> list[URLSpec]:
    """The step's URLs, every handler sharing ``manager``."""
    handlers: list[tuple[str, type[SessionHandler]]] = [
        (r"/database/?", IndexHandler),
        (r"/database/set", SetNameHandler),
        (r"/database/set/int/([^/]+)/([^/]+)", SetIntHandler),
        (r"/database/set/([^/]+)/([^/]+)", SetHandler),
        (r"/database/get", GetNameHandler),
        (r"/database/get/([^/]+)", GetHandler),
        (r"/database/delete", DeleteHandler),
        (r"/database/clear", ClearHandler),
        (r"/database/destroy", DestroyHandler),
        (r"/database/update", UpdateHandler),
    ]
    return [URLSpec(path, handler, {"session_manager": manager}) for path, handler in handlers]
