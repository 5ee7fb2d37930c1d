"""The base of the tests' own handlers: the tutorial's session page with a plain-text answer helper."""

from __future__ import annotations

from handlers.tutorial.pages import SessionPage


class SessionHandler(SessionPage):
    """A session-aware handler (XSRF bound to the session, the app's error answers) that answers in plain text."""

    def write_text(self, body: str = "", status: int = 200) -> None:
        """Answer ``status`` with ``body`` as ``text/plain``, as the Iris examples answer."""
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write(body)
