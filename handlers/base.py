"""What every session-aware handler of the app shares."""

from __future__ import annotations

from tornado.web import RequestHandler

from sessions import SessionMixin


class SessionHandler(SessionMixin, RequestHandler):
    """A handler with a session and a plain-text writer, as the Iris examples answer."""

    def write_text(self, body: str = "", status: int = 200) -> None:
        """Answer with ``body`` as ``text/plain`` (an empty body is Iris's "ok")."""
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write(body)
