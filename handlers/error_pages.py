"""Errors a learner can act on: in the browser a page in the site's layout with a way back, for ``curl`` plain text.

Tornado's own error answer is a bare ``<html>`` line ("405: Method Not Allowed")
with no way back, and the tutorial's handlers answer a store outage in plain text.
A browser (a request that accepts ``text/html``) gets the same status in a page
that says what happened and links back to the step; ``curl`` keeps exactly the
answers the README's walkthroughs show.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from tornado.web import HTTPError

from sessions import SessionTooLargeError, StoreUnavailableError

from .layout import TutorialPageMixin, wants_html

#: What each status means for a learner of this tutorial, and what to do next.
EXPLANATIONS = {
    400: "The request was not one this address understands.",
    403: (
        "The form was sent without a valid _xsrf token. A form's token belongs to the session it was loaded "
        "with, so a form loaded before you logged in or out (in another tab, say) is refused: go back, "
        "reload the page and try again."
    ),
    404: "There is no page at this address.",
    405: (
        "This address changes your session, so it only answers a form's POST: typing it in the address bar "
        "(a GET) does nothing. Use the button on the step's page."
    ),
    413: "The session would grow over its size limit, so the write was refused and nothing was stored.",
    503: (
        "The session store is not answering, so no page that reads or writes a session can work until it is "
        "back; the pages without a session still do. Try again in a moment."
    ),
}
GENERIC_EXPLANATION = "Something went wrong while answering this request."


class ErrorPages(TutorialPageMixin):
    """``write_error`` in the site's layout for a browser; the answer below it in the MRO for anything else."""

    #: The step page a handler's forms come from; the way back from its errors.
    page: str = ""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if not wants_html(self.request):
            super().write_error(status_code, **kwargs)
            return
        error = kwargs.get("exc_info", (None, None, None))[1]
        status = status_code
        detail = error.reason if isinstance(error, (StoreUnavailableError, SessionTooLargeError)) else ""
        detail_label = "The server's plain-text answer, as curl gets it:"
        if isinstance(error, HTTPError) and status == 403:
            detail, detail_label = error.log_message or "", "Why:"
        self.set_status(status)
        self.render(
            "error.html",
            status=status,
            reason=HTTPStatus(status).phrase,
            explanation=EXPLANATIONS.get(status, GENERIC_EXPLANATION),
            detail=detail,
            detail_label=detail_label,
            way_back=self.way_back(),
        )

    def way_back(self) -> dict[str, str] | None:
        """The step this URL belongs to (``/database/...`` to the database step), or ``None`` for the index."""
        steps: list[dict[str, str]] = self.settings.get("tutorial_steps", [])
        folder = self.request.path.split("/")[1]
        for step in steps:
            if step["path"] in (self.page, self.request.path) or (folder and step["path"].startswith(f"/{folder}/")):
                return step
        return None


class NotFound(ErrorPages):
    """The app's ``default_handler_class``: a 404 for every URL no route matches."""

    def prepare(self) -> None:
        raise HTTPError(404)
