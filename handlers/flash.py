"""Step 3, flash messages: a note for the next request, read once (Iris's ``flash-messages`` example).

``/flash/set`` leaves a flash, ``/flash/get`` reads it once, ``/flash/test``
reads it twice in one request (both reads see it). ``/flash/message`` is the
everyday use: a form posts a message, the handler flashes it and redirects
(post/redirect/get), and the page after the redirect shows it once. Unlike Iris,
flashes are saved in the session store, so they survive a restart of a
persistent store and every app process sees them. Reading a flash consumes it,
so the GET routes refuse a request another site's page sent
(``@refuse_cross_site``): a hostile page must not eat a message meant for you.
"""

from __future__ import annotations

from tornado.routing import URLSpec
from tornado.web import HTTPError, RedirectHandler, RequestHandler, url

from sessions import LEVELS, SessionManager, SessionMixin, refuse_cross_site

#: Longest message the form accepts: a flash is a line of feedback, not a document.
MAX_MESSAGE_LENGTH = 500


class Set(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        session = await self.get_session()
        session.set_flash("name", "iris")
        self.write("Message set, is available for the next request")


class Get(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        session = await self.get_session()
        name = session.get_flash_string("name", default="")
        if not name:
            self.write("Empty name!!")
            return
        self.write(f"Hello {name}")


class Test(SessionMixin, RequestHandler):
    @refuse_cross_site
    async def get(self) -> None:
        session = await self.get_session()
        name = session.get_flash_string("name", default="")
        if not name:
            self.write("Empty name!!")
            return
        # A consumed flash stays readable until the request ends
        again = session.get_flash_string("name", default="")
        self.write(
            f"Ok you are coming from /set ,the value of the name is {name}, and again from the same context: {again}"
        )


class Message(SessionMixin, RequestHandler):
    async def post(self) -> None:
        message = self.get_body_argument("message", "").strip()
        level = self.get_body_argument("level", "")
        if level not in LEVELS:
            raise HTTPError(400, reason=f"Bad Request: level must be one of {', '.join(LEVELS)}")
        if not message:
            raise HTTPError(400, reason="Bad Request: the message is empty")
        if len(message) > MAX_MESSAGE_LENGTH:
            raise HTTPError(400, reason=f"Bad Request: the message is longer than {MAX_MESSAGE_LENGTH} characters")
        session = await self.get_session()
        session.flash(message, level)
        # post/redirect/get: the page after the redirect reads the message, once
        self.redirect(self.reverse_url("flash_page"), status=302)


def routes(manager: SessionManager, prefix: str = "/flash") -> list[URLSpec]:
    """The step's routes under ``prefix``, named ``flash_{route}``; its page is ``{prefix}/``."""
    sessions = {"session_manager": manager}
    return [
        url(prefix, RedirectHandler, {"url": f"{prefix}/"}, name="flash_home"),
        url(rf"{prefix}/set", Set, sessions, name="flash_set"),
        url(rf"{prefix}/get", Get, sessions, name="flash_get"),
        url(rf"{prefix}/test", Test, sessions, name="flash_test"),
        url(rf"{prefix}/message", Message, sessions, name="flash_message"),
    ]
