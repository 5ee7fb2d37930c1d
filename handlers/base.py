"""What every session-aware handler of the app shares."""

from __future__ import annotations

from tornado.web import RequestHandler

from sessions import SessionMixin

from .error_pages import ErrorPages


class SessionHandler(ErrorPages, SessionMixin, RequestHandler):
    """A handler with a session, a plain-text writer, as the Iris examples answer, and error pages for browsers."""

    def write_text(self, body: str = "", status: int = 200) -> None:
        """Answer with ``body`` as ``text/plain`` (an empty body is Iris's "ok")."""
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write(body)
