"""The step pages and the action routes their forms post to."""

from __future__ import annotations

from typing import Any

from tornado.web import HTTPError

from sessions import CrossSiteGuard, SessionManager, StoreUnavailableError

from . import last_action
from .base import SessionHandler
from .layout import wants_html


class StepActionHandler(CrossSiteGuard, SessionHandler):
    """A route that changes the session, for ``curl`` and for the step page's forms.

    GET answers in plain text, exactly as the Iris example does. POST (a form on
    the step's page, checked by Tornado's ``_xsrf``) does the same and redirects
    back to the page (post/redirect/get), whose inspector then shows the result;
    a browser's POST also takes a report of what it did back to the page
    (``post_from_page``). ``CrossSiteGuard`` refuses both when another site's
    page sent the browser (``Sec-Fetch-Site: cross-site``): a SameSite=Lax cookie
    rides along on a cross-site navigation, and XSRF tokens guard POST only.
    Subclasses implement ``act()``, which returns the plain-text answer or
    refuses with ``HTTPError(status, reason="the answer")`` (see ``SessionHandler.write_error``).
    """

    #: post/redirect/get: "see the page" (303) after a POST.
    redirect_status = 303

    def initialize(self, session_manager: SessionManager | None = None, page: str = "/") -> None:
        super().initialize(session_manager)
        self.page = page

    async def act(self, *path_args: Any, **path_kwargs: Any) -> str:
        """The step's action; its parameters are its route's capture groups.

        Each route decides them (``act(self)``, ``act(self, key, value)``), so the
        base says any arguments, the way Tornado's ``get``/``post`` are typed: mypy
        takes ``(*args: Any, **kwargs: Any)`` as a signature every override fits.
        """
        raise NotImplementedError

    async def get(self, *path_args: str) -> None:
        self.write_text(await self.act(*path_args))

    async def post(self, *path_args: str) -> None:
        if wants_html(self.request):
            await self.post_from_page(*path_args)
            return
        await self.act(*path_args)
        self.redirect(self.page, status=self.redirect_status)

    # -- a browser's form post: the same action, reported on the page it goes back to -----------

    async def post_from_page(self, *path_args: str) -> None:
        """Act, save, then go back to the page with a report of what the POST did (``last_action``).

        A refusal goes back to the page too, in the report, instead of leaving the
        learner on a bare text page; ``curl`` still gets the plain-text 400.
        """
        manager = self.get_session_manager()
        await self.get_session()  # loaded first, so the report can compare before and after
        before = last_action.view_session(self, manager)
        refusal: tuple[int, str] | None = None
        try:
            await self.act(*path_args)
        except HTTPError as refused:  # a refusal with its answer, an oversized session (413) included
            if not refused.reason or isinstance(refused, StoreUnavailableError):
                raise
            refusal = refused.status_code, refused.reason
        await self.save_session()  # the Set-Cookie header is final only once the session is saved
        set_cookies = self._headers.get_list("Set-Cookie")  # Tornado has no public reader of response headers
        report = last_action.build_report(self, manager, self.page, self.redirect_status, before, set_cookies, refusal)
        last_action.remember(self, report)
        self.redirect(self.page, status=self.redirect_status)


class DestroySession(StepActionHandler):
    """Delete the session on the server and expire its cookie: the overview's ``/logout``, every other ``/destroy``."""

    async def act(self) -> str:
        await self.get_session_manager().destroy(self)
        return ""


class StepPageHandler(SessionHandler):
    """A step's page: loads the step's session (never creating one) and renders its template.

    Loading is what lets the session inspector show the session: ``start()``
    reads the cookie and the store but writes nothing, so an anonymous visit
    leaves no session and no session cookie behind.
    """

    template: str = ""

    async def render_step(self, **kwargs: Any) -> None:
        """Render the step's template, with the report of the learner's last click when it led here."""
        session = await self.get_session()
        kwargs.setdefault("consumed_flashes", [])
        await self.render(self.template, session=session, last_action=last_action.take(self), **kwargs)
