"""The index page: the tutorial steps in teaching order."""

from __future__ import annotations

from tornado.web import RequestHandler


class IndexHandler(RequestHandler):
    """Lists the steps; it never touches a session, so it never creates one."""

    def initialize(self, steps: list[dict[str, str]], store_name: str) -> None:
        self.steps = steps
        self.store_name = store_name

    def get(self) -> None:
        self.render("index.html", steps=self.steps, store_name=self.store_name)
