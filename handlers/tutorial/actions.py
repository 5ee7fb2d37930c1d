"""The tutorial layered on a step's handlers: the page's forms, post/redirect/get and the click report.

A step's handler is written as in Iris's example: a ``RequestHandler`` with the
session mixin whose ``get`` answers ``curl`` in plain text. ``mount()`` serves
each of them through a subclass made here, ``(StepRoute, TheStepsHandler)``,
which adds what the tutorial needs without the handler knowing:

* Iris's ``WriteString`` answers ``text/plain``, so that is the default type;
* the app's one ``write_error`` (``ErrorPages``): a refusal's reason in plain
  text for ``curl``, a page for a browser;
* XSRF tokens bound to the session, for the page's forms;
* a browser that opens a plain-text route (a link on the page, ``/login``
  typed into the address bar) gets the answer in a small page with a way back
  to the step; ``curl`` keeps Iris's answer byte for byte;
* ``post`` for the routes the page's buttons drive: it runs the step's own
  method (its ``post`` if it has one, else its ``get``), then goes back to the
  page (post/redirect/get). A browser's post also takes a report of what it did
  back to the page: the request, the handler method that ran, the
  ``Set-Cookie`` and the session's changes (``last_action``). A refusal goes
  back to the page too, in the report; ``curl`` still gets the plain-text 400.
"""

from __future__ import annotations

import functools
from asyncio import Future
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, cast

from tornado.routing import URLSpec
from tornado.web import HTTPError, RequestHandler, url

from sessions import SessionManager, SessionTooLargeError, XSRFRefusedError
from sessions.fetch_metadata import refuse_if_cross_site

from . import last_action
from .errors import refusal
from .layout import wants_html
from .pages import SessionPage, StepPage

StepMethod = Callable[..., Awaitable[None] | None]
#: What a learner can do about a form whose XSRF token was refused.
STALE_FORM = "The form was loaded before your session changed (in another tab, say): nothing was done; press it again"


class StepRoute(SessionPage):
    """A step's handler as the tutorial serves it; ``layered()`` puts it before the step's class."""

    #: The step's own class, whose code the report names.
    step_handler: type[RequestHandler] = RequestHandler
    #: post/redirect/get: "see the page" (303) after a POST, unless the step's handler redirects itself.
    redirect_status = 303
    #: The step's page: where its buttons come from, and the way back from its answers and errors.
    page: str = "/"

    def initialize(self, session_manager: SessionManager | None = None, page: str = "/", form: bool = False) -> None:
        """``page``: the step's page, the way back; ``form``: the page's buttons post here."""
        super().initialize(session_manager)
        self.page, self.form = page, form
        self._reporting = False
        self._redirect_to: tuple[str, int | None] | None = None
        #: What the step's handler writes, held back while a browser is served: the tutorial shows it itself.
        browser = self.request.method in ("GET", "POST") and wants_html(self.request)
        self._answer: list[str] | None = [] if browser else None

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=UTF-8")

    def write(self, chunk: str | bytes | dict[str, Any]) -> None:
        if self._answer is not None and self.get_status() < 400 and not isinstance(chunk, dict):
            self._answer.append(chunk.decode(errors="replace") if isinstance(chunk, bytes) else chunk)
            return
        super().write(chunk)

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> Future[None]:
        """A browser's GET: the held-back plain text in a page; a page's POST: nothing (the report has it)."""
        if self._answer is not None and self.get_status() < 400:
            if chunk is not None:
                self.write(chunk)
            text, self._answer = "".join(self._answer), None
            chunk = self.answer_page(text) if self.request.method == "GET" else None
        return super().finish(chunk)

    def answer_page(self, text: str) -> str | bytes:
        """The plain-text answer in the site's layout; an answer that is HTML already is left as it is."""
        if not self._headers.get("Content-Type", "").startswith("text/plain"):
            return text
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        return self.render_string("answer.html", text=text, way_back=self.way_back())

    def held_back_answer(self) -> str:
        """What the step's handler has written so far, for the report."""
        return "".join(self._answer or [])

    def check_xsrf_cookie(self) -> None:
        """For a browser's form, left to ``post_from_page``, which checks it before anything runs.

        There the check and the load, which may refuse the token too, are one
        step, and a refusal goes back to the page, filled in. ``curl`` is checked
        here, as Tornado orders it (before ``prepare()``), and gets the 403.
        """
        if not self.posted_from_page():
            super().check_xsrf_cookie()

    def posted_from_page(self) -> bool:
        """Tell whether this is a browser's post of one of the page's forms, which ``post_from_page`` answers."""
        return self.request.method == "POST" and self.form and wants_html(self.request)

    def step_method(self) -> tuple[str, StepMethod]:
        """The method of the step's handler a POST from the page runs: its own ``post``, else its ``get``."""
        name = "post" if self.step_handler.post is not RequestHandler.post else "get"
        return name, cast(StepMethod, getattr(self.step_handler, name))

    async def post(self, *path_args: str) -> None:
        """The page's button: XSRF-checked by Tornado, and refused when another site's page sent it."""
        if not self.form:
            raise HTTPError(405)
        if refuse_if_cross_site(self):
            return
        name, method = self.step_method()
        if self.posted_from_page():
            await self.post_from_page(name, method, *path_args)
            return
        await _run(method, self, *path_args)
        if self._redirect_to is None and not self._finished:
            self.redirect(self.page, status=self.redirect_status)

    def redirect(self, url: str, permanent: bool = False, status: int | None = None) -> None:
        """Noted, so the page's post does not redirect twice; while the report is being made, not sent yet."""
        self._redirect_to = url, status
        if not self._reporting:
            super().redirect(url, permanent, status)

    async def post_from_page(self, name: str, method: StepMethod, *path_args: str) -> None:
        """Check the form's token, run the step's method, save, then go back to the page with a report of it.

        A refused token (none, or one made for another session than the cookie
        opens: a form loaded before a login in another tab) runs nothing and
        goes back to the page, where a fresh form has a token for the session
        as it is now.
        """
        manager = self.get_session_manager()
        refused: tuple[int, str] | None = None
        try:
            super().check_xsrf_cookie()  # left to here by check_xsrf_cookie above
            await self.get_session()  # loaded first, so the report can compare before and after
        except XSRFRefusedError as stale:
            refused, name = (stale.status_code, f"{stale.reason}. {STALE_FORM}"), ""
        before = last_action.view_session(self, manager)
        self._reporting = True
        try:
            if refused is None:
                await _run(method, self, *path_args)
        except (HTTPError, SessionTooLargeError) as error:
            refused = refusal(error)
            if refused is None:
                raise
        finally:
            self._reporting = False
        if self._finished:  # the cross-site guard answered already
            return
        await self.save_session()  # the Set-Cookie header is final only once the session is saved
        target, status = self._redirect_to or (self.page, self.redirect_status)
        self._redirect_to = None
        report = last_action.build_report(
            self,
            manager,
            page=target,
            status=status or 302,
            before=before,
            set_cookies=self._headers.get_list("Set-Cookie"),  # Tornado has no public reader of response headers
            ran=f"{self.step_handler.__name__}.{name}" if name else "",
            answer=self.held_back_answer(),
            refusal=refused,
        )
        last_action.remember(self, report)
        self.redirect(target, status=status)


async def _run(method: StepMethod, handler: RequestHandler, *path_args: str) -> None:
    result = method(handler, *path_args)
    if result is not None:
        await result


@functools.cache
def layered(step_handler: type[RequestHandler]) -> type[StepRoute]:
    """``step_handler`` served by the tutorial: a subclass with ``StepRoute`` first, named as the step's class."""
    attributes = {"step_handler": step_handler, "__doc__": step_handler.__doc__, "__module__": __name__}
    return cast(type[StepRoute], type(step_handler.__name__, (StepRoute, step_handler), attributes))


def mount(
    routes: Sequence[URLSpec],
    page: str,
    page_handler: type[StepPage],
    actions: Collection[str],
    page_name: str,
    **page_kwargs: Any,
) -> list[URLSpec]:
    """A step's routes with the tutorial layered on, and its page at ``page``.

    ``actions`` names the routes the page's buttons post to; the page shows the
    code of every handler of the step, in the order the routes list them.
    """
    served: list[URLSpec] = []
    handlers: list[type[RequestHandler]] = []
    manager = None
    for route in routes:
        step_kwargs = route.kwargs or {}
        if "session_manager" not in step_kwargs:
            served.append(route)  # a plain redirect: nothing of the tutorial to add
            continue
        manager = step_kwargs["session_manager"]
        kwargs = {**step_kwargs, "page": page, "form": route.name in actions}
        served.append(url(route.regex.pattern, layered(route.handler_class), kwargs, name=route.name))
        if route.handler_class not in handlers:
            handlers.append(route.handler_class)
    page_kwargs.update(session_manager=manager, handlers=tuple(handlers))
    return [*served, url(page, page_handler, page_kwargs, name=page_name)]
