"""The index page: the tutorial steps in teaching order."""

from __future__ import annotations

from .error_pages import ErrorPages


class IndexHandler(ErrorPages):
    """Lists the steps; it never touches a session, so it never creates one."""

    def get(self) -> None:
        self.render("index.html")
