"""What every HTML page of the tutorial shares: the store's name and the step navigation.

The steps come from the application setting ``tutorial_steps`` (``app.STEPS``),
so a page knows where it stands in the teaching order without importing the app.
"""

from __future__ import annotations

from typing import Any

from tornado.web import RequestHandler

from sessions import CrossSiteGuard, SessionManager

from .base import SessionHandler


class TutorialPageMixin(RequestHandler):
    """Adds ``store_name``, ``steps``, ``current_step``, ``step_number``, ``previous_step`` and ``next_step``."""

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        steps: list[dict[str, str]] = self.settings.get("tutorial_steps", [])
        index = next((i for i, step in enumerate(steps) if step["path"] == self.request.path), None)
        namespace.update(
            store_name=self.settings["session_store"].name,
            steps=steps,
            current_step=None if index is None else steps[index],
            step_number=None if index is None else index + 1,
            previous_step=steps[index - 1] if index else None,
            # The index page leads to the first step; the last step leads back to the index.
            next_step=steps[0 if index is None else index + 1] if steps and index != len(steps) - 1 else None,
        )
        return namespace


class ActionRefused(Exception):
    """An action's plain-text refusal (a 400 or 403), the same for GET and POST."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


class StepActionHandler(CrossSiteGuard, SessionHandler):
    """A route that changes the session, for ``curl`` and for the step page's forms.

    GET answers in plain text, exactly as the Iris example does. POST (a form on
    the step's page, checked by Tornado's ``_xsrf``) does the same and redirects
    back to the page (post/redirect/get), whose inspector then shows the result.
    ``CrossSiteGuard`` refuses both when another site's page sent the browser
    (``Sec-Fetch-Site: cross-site``): a SameSite=Lax cookie rides along on a
    cross-site navigation, and XSRF tokens guard POST only.
    Subclasses implement ``act()``, which returns the plain-text answer or
    raises ``ActionRefused``.
    """

    def initialize(self, session_manager: SessionManager | None = None, page: str = "/") -> None:
        super().initialize(session_manager)
        self.page = page

    async def act(self, *path_args: str) -> str:
        raise NotImplementedError

    async def get(self, *path_args: str) -> None:
        try:
            self.write_text(await self.act(*path_args))
        except ActionRefused as refused:
            self.write_text(refused.text, status=refused.status)

    async def post(self, *path_args: str) -> None:
        try:
            await self.act(*path_args)
        except ActionRefused as refused:
            self.write_text(refused.text, status=refused.status)
            return
        self.redirect(self.page, status=303)


class StepPageHandler(TutorialPageMixin, SessionHandler):
    """A step's page: loads the step's session (never creating one) and renders its template.

    Loading is what lets the session inspector show the session: ``start()``
    reads the cookie and the store but writes nothing, so an anonymous visit
    leaves no session and no session cookie behind.
    """

    template: str = ""

    async def render_step(self, **kwargs: Any) -> None:
        session = await self.get_session()
        await self.render(self.template, session=session, **kwargs)
