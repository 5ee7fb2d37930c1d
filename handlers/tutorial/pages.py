"""The step pages: what a step's routes answer now, the buttons that drive them, their code and the inspector.

A page loads the step's session without ever creating one (``start()`` reads
the cookie and the store and writes nothing), so an anonymous visit leaves no
session and no cookie behind. What a page says a GET route "answers you now"
is the same text ``curl`` gets from that route (the tests compare the two).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tornado.web import RequestHandler

from sessions import LEVELS, Session, SessionManager, SessionXSRFMixin
from sessions.flashes import MESSAGE_MARK

from .. import flash
from . import last_action
from .errors import ErrorPages
from .source import handler_source


class IndexPage(ErrorPages):
    """The index: the tutorial steps in teaching order; it never touches a session, so it never creates one."""

    def get(self) -> None:
        self.render("index.html")


class SessionPage(ErrorPages, SessionXSRFMixin):
    """A handler of the tutorial with the step's session: its forms' XSRF tokens are bound to that session."""


class StepPage(SessionPage):
    """A step's page, rendered from ``template`` with the code of the step's ``handlers``."""

    template: str = ""

    def initialize(
        self, session_manager: SessionManager | None = None, handlers: Sequence[type[RequestHandler]] = ()
    ) -> None:
        super().initialize(session_manager)
        self.handlers = handlers

    async def get(self) -> None:
        session = await self.get_session()
        await self.render_step(session, **self.answers(session))

    def answers(self, session: Session) -> dict[str, Any]:
        """What the step's read-only routes answer this session now, for the template."""
        return {}

    async def render_step(self, session: Session, **kwargs: Any) -> None:
        """Render the template with the report of the learner's last click, when it led here."""
        kwargs.setdefault("consumed_flashes", [])
        report = last_action.take(self)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        await self.render(
            self.template,
            session=session,
            last_action=report,
            typed=report.typed if report is not None else {},
            code=[handler_source(handler) for handler in self.handlers],
            **kwargs,
        )


class OverviewPage(StepPage):
    template = "overview.html"

    def answers(self, session: Session) -> dict[str, Any]:
        if session.get_boolean("authenticated", default=False):
            return {"secret_status": 200, "secret_text": "The cake is a lie!", "user": session.user}
        return {"secret_status": 403, "secret_text": "Forbidden", "user": session.user}


class StandalonePage(StepPage):
    """The standalone step's page; the securecookie step's too, under its own prefix and template."""

    def initialize(
        self,
        session_manager: SessionManager | None = None,
        handlers: Sequence[type[RequestHandler]] = (),
        prefix: str = "/standalone",
    ) -> None:
        super().initialize(session_manager, handlers)
        self.prefix, self.template = prefix, f"{prefix.strip('/')}.html"

    def answers(self, session: Session) -> dict[str, Any]:
        business = session.get("businessEdit")
        return {
            "prefix": self.prefix,
            "get_text": "The name on the /set was: " + session.get_string("name", default=""),
            "immutable_text": None if business is None else f"[]businessModel[0].Name remains: {business[0]['Name']}",
        }


class FlashPage(StepPage):
    """Shows the queued messages once: reading them is what makes them go."""

    template = "flash.html"

    async def get(self) -> None:
        session = await self.get_session()
        # Which flashes this page consumes, for the inspector: the messages it is about to read.
        consumed = [key for key in session.peek_flashes() if key.startswith(MESSAGE_MARK)]
        await self.render_step(
            session,
            messages=session.get_messages(),
            levels=LEVELS,
            max_length=flash.MAX_MESSAGE_LENGTH,
            consumed_flashes=consumed,
        )


class DatabasePage(StepPage):
    template = "database.html"

    def answers(self, session: Session) -> dict[str, Any]:
        return {"get_text": f"The 'name' on the /set was: {session.get_string('name', default='')}"}
