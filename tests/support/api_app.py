"""A small app that exposes the Session API over HTTP, so tests drive it through
real requests, a real manager and a real store (values cross a save and a load)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tornado.web import Application

from sessions import Journal, MemoryStore, Record, SessionError, SessionManager, SessionNotFoundError
from tests.support.session_handler import SessionHandler


class CountingMemoryStore(MemoryStore):
    """The real memory store, counting its round trips."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock=clock)
        self.loads = self.saves = 0

    async def load(self, namespace: str, session_id: str) -> Record | None:
        self.loads += 1
        return await super().load(namespace, session_id)

    async def save(self, namespace: str, session_id: str, journal: Journal) -> dict[str, str]:
        self.saves += 1
        return await super().save(namespace, session_id, journal)


class ApiHandler(SessionHandler):
    def write_json(self, value: object) -> None:
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(value))

    def body_json(self) -> Any:  # whatever JSON the test posted
        return json.loads(self.request.body)


class ValuesHandler(ApiHandler):
    async def get(self) -> None:
        session = await self.get_session()
        self.write_json(
            {
                "values": {key: [value, type(value).__name__] for key, value in session.get_all().items()},
                "is_new": session.is_new,
                "len": session.len(),
            }
        )


class ValueHandler(ApiHandler):
    async def post(self, key: str) -> None:
        session = await self.get_session()
        try:
            if self.get_argument("immutable", "") == "1":
                session.set_immutable(key, self.body_json())
            else:
                session.set(key, self.body_json())
        except (SessionError, TypeError) as error:
            self.write_json({"error": type(error).__name__, "message": str(error)})
            return
        self.write_json({"ok": True})

    async def delete(self, key: str) -> None:
        session = await self.get_session()
        self.write_json({"existed": session.delete(key)})


class TypedHandler(ApiHandler):
    async def get(self, getter: str, key: str) -> None:
        session = await self.get_session()
        try:
            self.write_json({"value": getattr(session, getter)(key)})
        except SessionError as error:
            self.write_json({"error": type(error).__name__})


class ClearHandler(ApiHandler):
    async def post(self) -> None:
        (await self.get_session()).clear()


class CounterHandler(ApiHandler):
    async def post(self, direction: str, key: str) -> None:
        session = await self.get_session()
        n = int(self.get_argument("n", "1"))
        result = session.increment(key, n) if direction == "increment" else session.decrement(key, n)
        self.write_json({"value": result})


class VisitHandler(ApiHandler):
    async def get(self) -> None:
        seen = []
        (await self.get_session()).visit(lambda key, value: seen.append([key, value]))
        self.write_json(sorted(seen))


class PythonProtocolHandler(ApiHandler):
    async def get(self) -> None:
        session = await self.get_session()
        session["a"] = 1
        session["b"] = "two"
        del session["a"]
        try:
            session["a"]
            missing = "no error"
        except KeyError as error:
            missing = type(error).__name__
        self.write_json(
            {
                "contains_b": "b" in session,
                "contains_a": "a" in session,
                "len": len(session),
                "keys": list(session),
                "b": session["b"],
                "missing": missing,
            }
        )


class DoubleStartHandler(ApiHandler):
    async def get(self) -> None:
        first = await self.get_session()
        first.set("key", "value")
        second = await self.get_session()
        self.write_json({"same": first is second, "value": second.get_string("key"), "property": self.session is first})


class RedirectSetHandler(ApiHandler):
    async def get(self) -> None:
        (await self.get_session()).set("via", "redirect")
        self.redirect("/values")


class FinishSetHandler(ApiHandler):
    async def get(self) -> None:
        (await self.get_session()).set("via", "finish")
        self.finish("done")


class SlowSetHandler(ApiHandler):
    async def get(self) -> None:
        session = await self.get_session()
        await asyncio.sleep(0.01)
        session.set("via", "async")


class UntouchedHandler(ApiHandler):
    def get(self) -> None:
        self.write("ok")


class MutateHandler(ApiHandler):
    async def get(self, key: str) -> None:
        session = await self.get_session()
        cart = session.get(key)
        cart.append("more")
        cart_again = session.get(key)
        self.write_json({"same_object": cart is cart_again})


class ImmutableMutateHandler(ApiHandler):
    async def get(self, key: str) -> None:
        session = await self.get_session()
        copy = session.get(key)
        copy[0]["Name"] = "Gabriel"
        try:
            session.set(key, copy)
            refused: str | bool = False
        except SessionError as error:
            refused = type(error).__name__
        self.write_json({"refused": refused, "now": session.get(key)})


class LifecycleHandler(ApiHandler):
    async def post(self, action: str) -> None:
        manager = self.get_session_manager()
        if action == "regenerate":
            session = await manager.regenerate(self)
            self.write_json({"id": session.id})
        elif action == "destroy":
            await manager.destroy(self)
        elif action == "destroy-then-start":
            await manager.destroy(self)
            session = await self.get_session()
            session.set("fresh", True)
            self.write_json({"is_new": session.is_new})
        elif action == "update":
            try:
                await manager.update_expiration(self, timedelta(seconds=float(self.get_argument("seconds"))))
            except SessionNotFoundError as error:
                self.write_text(str(error), status=404)
        elif action == "shift":
            await manager.shift_expiration(self)

    async def get(self, action: str) -> None:
        session = await self.get_session()
        self.write_json({"id": session.id, "expires_at": session.expires_at, "created_at": session.created_at})


class FormHandler(ApiHandler):
    """A page with a form (its XSRF token), and the form's target."""

    def get(self) -> None:
        self.write(self.xsrf_token)

    def post(self) -> None:
        self.write("accepted")


def make_api_app(manager: SessionManager, **settings: Any) -> Application:
    spec = {"session_manager": manager}
    return Application(
        [
            (r"/form", FormHandler, spec),
            (r"/values", ValuesHandler, spec),
            (r"/values/(.+)", ValueHandler, spec),
            (r"/typed/(\w+)/(.+)", TypedHandler, spec),
            (r"/clear", ClearHandler, spec),
            (r"/(increment|decrement)/(.+)", CounterHandler, spec),
            (r"/visit", VisitHandler, spec),
            (r"/python", PythonProtocolHandler, spec),
            (r"/double-start", DoubleStartHandler, spec),
            (r"/redirect-set", RedirectSetHandler, spec),
            (r"/finish-set", FinishSetHandler, spec),
            (r"/slow-set", SlowSetHandler, spec),
            (r"/untouched", UntouchedHandler, spec),
            (r"/mutate/(.+)", MutateHandler, spec),
            (r"/immutable-mutate/(.+)", ImmutableMutateHandler, spec),
            (r"/lifecycle/(\w[\w-]*)", LifecycleHandler, spec),
        ],
        **settings,
    )
