"""The live session inspector shown on every step page (a Tornado ``UIModule``).

It shows what a learner cannot see from the browser: the cookie is ``HttpOnly``,
so page scripts cannot read it, and the data lives on the server. The page's
handler has already loaded the session (``StepPageHandler.render_step``); the
inspector only reads what is loaded, so it never creates a session or a cookie
and never consumes a flash (it peeks). For an encrypted cookie it opens the
envelope with the codec's ``inspect()``, which reads without side effects.
Showing the raw cookie in a page is for teaching only: a real app must never
echo a session cookie back into HTML.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tornado.web import UIModule

from sessions import SessionManager, SessionMixin
from sessions.cookies import read_cookie

from .last_action import LastAction
from .readable import describe_time, flash_label


def describe(items: dict[str, Any]) -> list[dict[str, str]]:
    """Each value with its Python type and its JSON text (spaced for reading; the store's is compact)."""
    return [
        {"key": key, "type": type(value).__name__, "json": json.dumps(value, ensure_ascii=False)}
        for key, value in items.items()
    ]


def open_envelope(manager: SessionManager, raw_cookie: str | None, now: float) -> dict[str, str] | None:
    """What an encrypting codec finds inside the cookie, for steps whose codec can ``inspect()``.

    ``None`` when the step's cookie is not encrypted or the browser sent none.
    """
    inspect = getattr(manager.config.codec, "inspect", None)
    if inspect is None or raw_cookie is None:
        return None
    envelope = inspect(manager.config.cookie_name, raw_cookie)
    if envelope is None:
        return {"opened": ""}
    return {
        "opened": "yes",
        "version": str(envelope.version),
        "key_id": envelope.key_id,
        "key": "the newest key"
        if envelope.newest_key
        else "an older key: re-sealed under the newest on the next response",
        "issued": describe_time(envelope.issued_at, now),
        "payload": envelope.payload,
    }


def mark_rows(
    rows: list[dict[str, str]], what: str, last_action: LastAction | None, consumed: Sequence[str] = ()
) -> list[dict[str, str]]:
    """Each row with how the learner's last click changed it (``added``/``changed``), or ``consumed`` by this page."""
    for row in rows:
        change = "" if last_action is None else last_action.change_of(what, row["key"])
        row["change"] = "consumed" if row["key"] in consumed else change
        row["label"] = flash_label(row["key"]) if what == "flash" else row["key"]
    return rows


class SessionInspector(UIModule):
    """Renders ``inspector.html`` for the page's session: ``{% module SessionInspector(last_action) %}``.

    ``last_action`` (the report of the click that led here, or ``None``) marks the
    rows it added or changed and lists the values it removed; ``consumed`` names
    the flashes this page read.
    """

    def render(self, last_action: LastAction | None = None, consumed: Sequence[str] = ()) -> str:
        handler = self.handler
        assert isinstance(handler, SessionMixin), "the inspector needs a session handler"
        manager: SessionManager = handler.get_session_manager()
        session = manager.current(handler)
        assert session is not None, "render_step() loads the session before the template renders"
        cookie_name = manager.config.cookie_name
        raw_cookie = read_cookie(self.request, cookie_name)
        now = manager.config.clock()
        stored = not session.is_new
        html = self.render_string(
            "inspector.html",
            cookie_name=cookie_name,
            raw_cookie=raw_cookie,
            envelope=open_envelope(manager, raw_cookie, now),
            session=session,
            stored=stored,
            values=mark_rows(describe(session.get_all()), "value", last_action),
            removed=[] if last_action is None else last_action.removed("value"),
            flashes=mark_rows(describe(session.peek_flashes()), "flash", last_action, consumed),
            created=describe_time(session.created_at, now) if stored else "",
            expires=describe_time(session.expires_at, now) if stored else "",
        )
        return html.decode()  # render_string gives UTF-8 bytes; a module's render() returns text
