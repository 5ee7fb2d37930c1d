"""The live session inspector shown on every step page (a Tornado ``UIModule``).

It shows what a learner cannot see from the browser: the cookie is ``HttpOnly``,
so page scripts cannot read it, and the data lives on the server. The page's
handler has already loaded the session (``StepPageHandler.render_step``); the
inspector only reads what is loaded, so it never creates a session or a cookie
and never consumes a flash. Showing the raw cookie in a page is for teaching
only: a real app must never echo a session cookie back into HTML.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from tornado.web import UIModule

from sessions import SessionManager, SessionMixin
from sessions.cookies import read_cookie


def describe_time(moment: float | None, now: float) -> str:
    """A UTC timestamp with how far it is from now, e.g. ``2026-01-01 10:00:00 UTC (in 30 min)``."""
    if moment is None:
        return "none"
    stamp = datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    seconds = round(moment - now)
    span = f"{abs(seconds) // 60} min" if abs(seconds) >= 60 else f"{abs(seconds)} s"
    return f"{stamp} (in {span})" if seconds > 0 else f"{stamp} ({span} ago)" if seconds < 0 else f"{stamp} (now)"


def describe(items: dict[str, Any]) -> list[dict[str, str]]:
    """Each value with its Python type and its JSON text, as the store keeps it."""
    return [
        {"key": key, "type": type(value).__name__, "json": json.dumps(value, ensure_ascii=False)}
        for key, value in items.items()
    ]


class SessionInspector(UIModule):
    """Renders ``inspector.html`` for the page's session: ``{% module SessionInspector() %}``."""

    def render(self) -> str:
        handler = self.handler
        assert isinstance(handler, SessionMixin), "the inspector needs a session handler"
        manager: SessionManager = handler.get_session_manager()
        session = manager.current(handler)
        assert session is not None, "render_step() loads the session before the template renders"
        cookie_name = manager.config.cookie_name
        now = manager.config.clock()
        stored = not session.is_new
        return self.render_string(
            "inspector.html",
            cookie_name=cookie_name,
            raw_cookie=read_cookie(self.request, cookie_name),
            session=session,
            stored=stored,
            values=describe(session.get_all()),
            flashes=describe(session.peek_flashes()),
            created=describe_time(session.created_at, now) if stored else "",
            expires=describe_time(session.expires_at, now) if stored else "",
        )
