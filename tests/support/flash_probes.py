"""Test-only routes that reach the flash API the step's pages do not use.

``GET /probe/flash/<operation>?key=...&value=...`` runs one operation on the
request's session (a real ``SessionManager`` over the test's store) and answers
with its result as JSON, so tests drive ``peek_flash``, ``delete_flash``,
``destroy`` and the rest over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from tornado.web import url

from sessions import Session, SessionManager
from tests.support.session_handler import SessionHandler


class ProbeHandler(SessionHandler):
    async def get(self, operation: str) -> None:
        session = await self.get_session()
        result = await OPERATIONS[operation](self, session)
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(result))

    def arg(self, name: str) -> str:
        return self.get_query_argument(name)


Operation = Callable[[ProbeHandler, Session], Awaitable[Any]]


async def _set_flash(handler: ProbeHandler, session: Session) -> None:
    session.set_flash(handler.arg("key"), handler.arg("value"))


async def _flash(handler: ProbeHandler, session: Session) -> None:
    """Queue every ``level``/``message`` pair of the query, in order."""
    for level, message in zip(
        handler.get_query_arguments("level"), handler.get_query_arguments("message"), strict=False
    ):
        session.flash(message, level)


async def _messages(handler: ProbeHandler, session: Session) -> list[list[str]]:
    return [[item.level, item.message] for item in session.get_messages()]


async def _get_then_set(handler: ProbeHandler, session: Session) -> Any:
    """Consume a flash, then set it again: the new one must reach the next request."""
    old = session.get_flash(handler.arg("key"))
    session.set_flash(handler.arg("key"), handler.arg("value"))
    return old


async def _start_twice(handler: ProbeHandler, session: Session) -> list[Any]:
    """Read, start the session again (Iris ran its flash GC here), read again."""
    first = session.get_flash(handler.arg("key"))
    again = await handler.get_session_manager().start(handler)
    return [first, again.get_flash(handler.arg("key"))]


async def _read_save_read(handler: ProbeHandler, session: Session) -> list[Any]:
    """Read, save in the middle of the request (as before a flush), read again."""
    first = session.get_flash(handler.arg("key"))
    await handler.save_session()
    return [first, session.get_flash(handler.arg("key")), session.peek_flash(handler.arg("key")), session.has_flash()]


async def _destroy(handler: ProbeHandler, session: Session) -> None:
    await handler.get_session_manager().destroy(handler)


async def _set_value(handler: ProbeHandler, session: Session) -> None:
    session.set(handler.arg("key"), handler.arg("value"))


async def _clear_values(handler: ProbeHandler, session: Session) -> None:
    session.clear()


async def _clear_flashes(handler: ProbeHandler, session: Session) -> None:
    session.clear_flashes()


async def _values(handler: ProbeHandler, session: Session) -> dict[str, Any]:
    return session.get_all()


async def _get_flashes(handler: ProbeHandler, session: Session) -> dict[str, Any]:
    return session.get_flashes()


async def _get(handler: ProbeHandler, session: Session) -> Any:
    return session.get_flash(handler.arg("key"))


async def _peek(handler: ProbeHandler, session: Session) -> Any:
    return session.peek_flash(handler.arg("key"))


async def _delete(handler: ProbeHandler, session: Session) -> bool:
    return session.delete_flash(handler.arg("key"))


async def _has(handler: ProbeHandler, session: Session) -> bool:
    return session.has_flash()


OPERATIONS: dict[str, Operation] = {
    "set_flash": _set_flash,
    "flash": _flash,
    "messages": _messages,
    "get_then_set": _get_then_set,
    "start_twice": _start_twice,
    "read_save_read": _read_save_read,
    "destroy": _destroy,
    "set_value": _set_value,
    "clear_values": _clear_values,
    "clear_flashes": _clear_flashes,
    "values": _values,
    "get_flashes": _get_flashes,
    "get": _get,
    "peek": _peek,
    "delete": _delete,
    "has": _has,
}


def probe_routes(manager: SessionManager) -> list[url]:
    return [url(r"/probe/flash/(\w+)", ProbeHandler, {"session_manager": manager})]
