"""What every session-aware handler of the app shares."""

from __future__ import annotations

from typing import Any

from tornado.web import HTTPError, RequestHandler

from sessions import SessionError, SessionXSRFMixin

from .error_pages import ErrorPages
from .layout import wants_html


class SessionHandler(ErrorPages, SessionXSRFMixin, RequestHandler):
    """A handler with a session (its forms' XSRF tokens bound to it), plain-text answers as the Iris
    examples give, and error pages for browsers."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """A refusal (an ``HTTPError`` with a ``reason``) is answered with its reason in plain text.

        The status line keeps the standard phrase ("400 Bad Request"), as the
        README's walkthroughs show; the reason is the body, as Iris's examples answer.
        """
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, SessionError) and wants_html(self.request):
            super().write_error(status_code, **kwargs)  # a store outage or an oversized session: the error page
        elif isinstance(error, HTTPError) and error.reason:
            self.write_text(error.reason, status=status_code)
        else:
            super().write_error(status_code, **kwargs)

    def write_text(self, body: str = "", status: int = 200) -> None:
        """Answer ``status`` with ``body`` as ``text/plain``."""
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write(body)
