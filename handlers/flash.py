"""Step 3, flash messages: Iris's ``flash-messages`` example under ``/flash``.

``/flash/set``, ``/flash/get`` and ``/flash/test`` answer exactly as Iris does.
The page at ``/flash/`` shows the everyday use: a form posts a message with a
level, the handler flashes it and redirects (post/redirect/get), and the page
after the redirect shows it once. Unlike Iris, the flashes are saved in the
session store, so they survive a restart and are seen by every app process.
"""

from __future__ import annotations

from tornado.routing import URLSpec
from tornado.web import HTTPError, RedirectHandler, url

from sessions import LEVELS, SessionManager, refuse_cross_site
from sessions.flashes import MESSAGE_MARK

from .base import SessionHandler
from .pages import StepActionHandler, StepPageHandler

#: Longest message the form accepts: a flash is a line of feedback, not a document.
MAX_MESSAGE_LENGTH = 500
EMPTY = "Empty name!!"


class FlashSet(SessionHandler):
    @refuse_cross_site  # it changes the session on GET, so another site must not trigger it
    async def get(self) -> None:
        session = await self.get_session()
        session.set_flash("name", "iris")
        self.write_text("Message set, is available for the next request")


class FlashGet(SessionHandler):
    async def get(self) -> None:
        session = await self.get_session()
        name = session.get_flash_string("name", default="")
        self.write_text(f"Hello {name}" if name else EMPTY)


class FlashTest(SessionHandler):
    """Reads the flash twice: a consumed flash stays readable for the rest of the request."""

    async def get(self) -> None:
        session = await self.get_session()
        name = session.get_flash_string("name", default="")
        if not name:
            self.write_text(EMPTY)
            return
        again = session.get_flash_string("name", default="")
        self.write_text(
            f"Ok you are coming from /set ,the value of the name is {name}, and again from the same context: {again}"
        )


class FlashPage(StepPageHandler):
    """Shows the queued messages once; reading them is what makes them go."""

    template = "flash.html"

    async def get(self) -> None:
        session = await self.get_session()
        # Which flashes this page consumes, for the inspector: the messages it is about to read.
        consumed = [key for key in session.peek_flashes() if key.startswith(MESSAGE_MARK)]
        await self.render_step(
            messages=session.get_messages(), levels=LEVELS, max_length=MAX_MESSAGE_LENGTH, consumed_flashes=consumed
        )


class FlashMessageForm(StepActionHandler):
    """The form's target: flash the message, then redirect to the page (post/redirect/get)."""

    SUPPORTED_METHODS = ("POST",)
    redirect_status = 302  # as the README's transcript shows; the session is saved before it leaves

    async def act(self) -> str:
        message = self.get_body_argument("message", "").strip()
        level = self.get_body_argument("level", "")
        problem = _check(message, level)
        if problem:
            raise HTTPError(400, reason=problem)
        session = await self.get_session()
        session.flash(message, level)
        return ""


def _check(message: str, level: str) -> str | None:
    """Say what is wrong with a posted message, or ``None``."""
    if level not in LEVELS:
        return f"Bad Request: level must be one of {', '.join(LEVELS)}"
    if not message:
        return "Bad Request: the message is empty"
    if len(message) > MAX_MESSAGE_LENGTH:
        return f"Bad Request: the message is longer than {MAX_MESSAGE_LENGTH} characters"
    return None


def routes(manager: SessionManager, prefix: str = "/flash") -> list[URLSpec]:
    """The step's routes under ``prefix``, all sharing ``manager`` (Iris's ``myappsessionid`` sessions);
    named ``flash_{route}``."""
    kwargs = {"session_manager": manager}
    page = f"{prefix}/"
    return [
        url(prefix, RedirectHandler, {"url": page}, name="flash_home"),
        url(page, FlashPage, kwargs, name="flash_page"),
        url(rf"{prefix}/message", FlashMessageForm, {**kwargs, "page": page}, name="flash_message"),
        url(rf"{prefix}/set", FlashSet, kwargs, name="flash_set"),
        url(rf"{prefix}/get", FlashGet, kwargs, name="flash_get"),
        url(rf"{prefix}/test", FlashTest, kwargs, name="flash_test"),
    ]
