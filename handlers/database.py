"""The database step: Iris's Redis example under ``/database``, on whichever store the app runs.

The handlers are the same whatever the store (memory, SQLite or Redis): the
session API hides it, which is the point of the step. Beyond Iris: values keep
their type in every store (an int set by ``/set/int`` reads back as an int, not
Redis's float64), a non-numeric ``/set/int`` value is refused with a 400 instead
of being stored as -1, and ``/update`` moves the store's expiry along with the
cookie's (Iris's Redis TTL did not move: its issue #1061).

The GET routes answer in plain text for ``curl``; the step's page
(``/database/page``) drives the routes that change the session with POST forms,
and its key/value form posts to ``/database/value``.
"""

from __future__ import annotations

from tornado.routing import URLSpec
from tornado.web import HTTPError, url

from sessions import ConversionError, Session, SessionManager, SessionNotFoundError
from sessions.conversions import to_int64

from .base import SessionHandler
from .pages import DestroySession, StepActionHandler, StepPageHandler
from .standalone import (  # as Iris's standalone example
    StandaloneClear,
    StandaloneDelete,
    StandaloneHome,
)


def set_string(session: Session, key: str, value: str) -> str:
    session.set(key, value)
    return f"All ok session value of the '{key}' is: {session.get_string(key)}"


def parse_int(value: str) -> int:
    """The value as a 64-bit int, or a 400 that says why (Iris stored -1 without a word)."""
    try:
        return to_int64("value", value)
    except ConversionError:
        raise HTTPError(
            400, reason=f"Bad Request: the value '{value}' is not a 64-bit integer (use digits, like 42 or -7)"
        ) from None


def set_int(session: Session, key: str, number: int) -> str:
    session.set(key, number)
    return f"All ok session value of the '{key}' is: {session.get_int(key)}"


def get_name_text(session: Session) -> str:
    """What ``/database/get`` answers; the page shows the same."""
    return f"The 'name' on the /set was: {session.get_string('name', default='')}"


class DatabaseSetName(StepActionHandler):
    async def act(self) -> str:
        return set_string(await self.get_session(), "name", "iris")


class DatabaseSet(StepActionHandler):
    async def act(self, key: str, value: str) -> str:
        return set_string(await self.get_session(), key, value)


class DatabaseSetInt(StepActionHandler):
    async def act(self, key: str, value: str) -> str:
        number = parse_int(value)  # before the session: a refused value creates none
        return set_int(await self.get_session(), key, number)


class DatabaseIncrement(StepActionHandler):
    """Adds one to a counter: concurrent requests, from any process, never lose a count."""

    async def act(self, key: str) -> str:
        return f"The '{key}' is now: {(await self.get_session()).increment(key)}"


class DatabaseValueForm(StepActionHandler):
    """The page's key/value form: the fields of ``/set/{key}/{value}`` and ``/set/int/...`` as a POST body."""

    SUPPORTED_METHODS = ("POST",)

    async def act(self) -> str:
        key, value = self.get_body_argument("key", "").strip(), self.get_body_argument("value", "")
        if not key or "/" in key:
            raise HTTPError(400, reason="Bad Request: the key must be a non-empty name without '/'")
        if self.get_body_argument("kind", "str") == "int":
            number = parse_int(value)
            return set_int(await self.get_session(), key, number)
        return set_string(await self.get_session(), key, value)


class DatabaseGetName(SessionHandler):
    async def get(self) -> None:
        self.write_text(get_name_text(await self.get_session()))


class DatabaseGet(SessionHandler):
    async def get(self, key: str) -> None:
        session = await self.get_session()
        self.write_text(f"The '{key}' on the /set was: {session.get(key)}")


class DatabaseUpdate(StepActionHandler):
    async def act(self) -> str:
        try:
            await self.get_session_manager().shift_expiration(self)
        except SessionNotFoundError as exc:
            raise HTTPError(404, reason=str(exc)) from None
        return ""


class DatabasePage(StepPageHandler):
    template = "database.html"

    async def get(self) -> None:
        await self.render_step(get_text=get_name_text(await self.get_session()))


def routes(manager: SessionManager, prefix: str = "/database") -> list[URLSpec]:
    """The step's routes under ``prefix``, all using ``manager``; named ``database_{route}``."""
    kwargs = {"session_manager": manager}
    actions = {**kwargs, "page": f"{prefix}/page"}
    return [
        url(rf"{prefix}/?", StandaloneHome, kwargs, name="database_home"),  # as Iris's standalone example
        url(rf"{prefix}/page", DatabasePage, kwargs, name="database_page"),
        url(rf"{prefix}/get", DatabaseGetName, kwargs, name="database_get_name"),
        url(rf"{prefix}/get/([^/]+)", DatabaseGet, kwargs, name="database_get"),
        url(rf"{prefix}/set", DatabaseSetName, actions, name="database_set_name"),
        url(rf"{prefix}/set/int/([^/]+)/([^/]+)", DatabaseSetInt, actions, name="database_set_int"),
        url(rf"{prefix}/set/([^/]+)/([^/]+)", DatabaseSet, actions, name="database_set"),
        url(rf"{prefix}/increment/([^/]+)", DatabaseIncrement, actions, name="database_increment"),
        url(rf"{prefix}/value", DatabaseValueForm, actions, name="database_value"),
        url(rf"{prefix}/delete", StandaloneDelete, actions, name="database_delete"),
        url(rf"{prefix}/clear", StandaloneClear, actions, name="database_clear"),
        url(rf"{prefix}/destroy", DestroySession, actions, name="database_destroy"),
        url(rf"{prefix}/update", DatabaseUpdate, actions, name="database_update"),
    ]
