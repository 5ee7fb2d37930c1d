"""A test-only app that drives every session operation over real HTTP.

The tutorial steps answer with Iris's fixed texts; the conformance suite needs
to set any JSON value, count, flash, regenerate and hold a request open while
another one logs out. Values travel as JSON in query arguments and responses,
so a test sees exactly the Python type the session handed the handler.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from tornado.routing import URLSpec
from tornado.web import Application, RequestHandler

from sessions import ConversionError, ImmutableKeyError, Session, SessionManager, SessionMixin, SessionStore

COOKIE = "probe"
EXPIRES = timedelta(minutes=45)


@dataclass
class Gates:
    """What a test uses to line requests up inside the handlers."""

    barrier: asyncio.Barrier | None = None  # every request waits here after loading its session
    loaded: asyncio.Event = field(default_factory=asyncio.Event)  # set by /slow once it has loaded
    release: asyncio.Event = field(default_factory=asyncio.Event)  # /slow waits for it before writing


class ProbeHandler(SessionMixin, RequestHandler):
    @property
    def gates(self) -> Gates:
        gates: Gates = self.settings["gates"]
        return gates

    def answer(self, value: object, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(value))

    def argument(self) -> object:
        return json.loads(self.get_argument("json"))

    async def loaded_session(self) -> Session:
        session = await self.get_session()
        if self.gates.barrier is not None:
            await self.gates.barrier.wait()
        return session


class SetHandler(ProbeHandler):
    async def get(self, key: str) -> None:
        session = await self.loaded_session()
        try:
            session.set(key, self.argument())
        except ImmutableKeyError as exc:
            self.answer(str(exc), 409)
            return
        self.answer(None)


class SetImmutableHandler(ProbeHandler):
    async def get(self, key: str) -> None:
        session = await self.loaded_session()
        session.set_immutable(key, self.argument())
        self.answer(None)


class GetHandler(ProbeHandler):
    async def get(self, key: str) -> None:
        session = await self.get_session()
        self.answer({"found": key in session, "value": session.get(key)})


class IncrementHandler(ProbeHandler):
    async def get(self, key: str) -> None:
        session = await self.loaded_session()
        try:
            session.increment(key)
        except ConversionError as exc:
            self.answer(str(exc), 400)
            return
        await self.save_session()  # the session now holds the store's count, exact under concurrency
        self.answer(session.get(key))


class IncrementUnsavedHandler(ProbeHandler):
    """Answers what ``increment()`` itself returns: this request's view, before the store counts."""

    async def get(self, key: str) -> None:
        session = await self.loaded_session()
        self.answer(session.increment(key))


class GetIntHandler(ProbeHandler):
    async def get(self, key: str) -> None:
        session = await self.get_session()
        try:
            self.answer(session.get_int(key))
        except ConversionError as exc:
            self.answer(str(exc), 400)


class FlashHandler(ProbeHandler):
    async def get(self, key: str) -> None:
        session = await self.get_session()
        session.set_flash(key, self.argument())
        self.answer(None)


class GetFlashHandler(ProbeHandler):
    async def get(self, key: str) -> None:
        session = await self.get_session()
        self.answer(session.get_flash(key))


class SlowWriteHandler(ProbeHandler):
    """Loads the session, then waits for the test before writing to it (``op=set``, ``increment``,
    ``regenerate``, which regenerates then sets, or ``rename``, which only regenerates)."""

    async def get(self, key: str) -> None:
        session = await self.get_session()
        self.gates.loaded.set()
        await self.gates.release.wait()
        op = self.get_argument("op", "set")
        if op in ("regenerate", "rename"):  # a login: a new ID, then a write; or the new ID alone
            await self.get_session_manager().regenerate(self)
        if op == "increment":
            session.increment(key)
        elif op != "rename":
            session.set(key, True)
        self.answer(None)


class LogoutHandler(ProbeHandler):
    async def get(self) -> None:
        await self.get_session_manager().destroy(self)
        self.answer(None)


class RegenerateHandler(ProbeHandler):
    async def get(self) -> None:
        await self.get_session_manager().regenerate(self)
        self.answer(None)


class UpdateExpirationHandler(ProbeHandler):
    async def get(self) -> None:
        minutes = self.get_argument("minutes", None)
        manager = self.get_session_manager()
        if minutes is None:
            await manager.shift_expiration(self)
        else:
            await manager.update_expiration(self, timedelta(minutes=float(minutes)))
        self.answer(None)


def make_probe_app(store: SessionStore, clock: Callable[[], float]) -> Application:
    """The probe app; like the database step, no idle timeout, so expiry is exactly ``EXPIRES``."""
    manager = SessionManager(cookie_name=COOKIE, expires=EXPIRES, idle_timeout=None, store=store, clock=clock)
    handlers: list[tuple[str, type[ProbeHandler]]] = [
        (r"/set/(\w+)", SetHandler),
        (r"/set-immutable/(\w+)", SetImmutableHandler),
        (r"/get/(\w+)", GetHandler),
        (r"/get-int/(\w+)", GetIntHandler),
        (r"/increment/(\w+)", IncrementHandler),
        (r"/increment-unsaved/(\w+)", IncrementUnsavedHandler),
        (r"/flash/(\w+)", FlashHandler),
        (r"/get-flash/(\w+)", GetFlashHandler),
        (r"/slow/(\w+)", SlowWriteHandler),
        (r"/logout", LogoutHandler),
        (r"/regenerate", RegenerateHandler),
        (r"/update-expiration", UpdateExpirationHandler),
    ]
    routes = [URLSpec(path, handler, {"session_manager": manager}) for path, handler in handlers]
    return Application(routes, gates=Gates())
