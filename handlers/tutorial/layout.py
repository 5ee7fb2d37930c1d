"""What every HTML page of the tutorial shares: the store's name and the step navigation.

The steps come from the application setting ``tutorial_steps`` (``app.STEPS``),
so a page knows where it stands in the teaching order without importing the app.
"""

from __future__ import annotations

from typing import Any

from tornado.httputil import HTTPServerRequest
from tornado.web import RequestHandler


def wants_html(request: HTTPServerRequest) -> bool:
    """A browser (its navigations and form posts accept ``text/html``), as opposed to ``curl``'s ``*/*``.

    Only a browser gets pages: ``curl`` keeps the plain-text answers the README shows.
    """
    return "text/html" in request.headers.get("Accept", "")


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
