"""Errors a learner can act on: in the browser a page in the site's layout with a way back, for ``curl`` plain text.

This is the app's one ``write_error``. Tornado's own error answer is a bare
``<html>`` line ("405: Method Not Allowed") with no way back. A refusal (an
``HTTPError`` with a ``reason``, as the step handlers and the session package
raise them) is answered to ``curl`` with its reason as the plain-text body, as
Iris's examples answer, under the standard status line ("400 Bad Request"). A
browser (a request that accepts ``text/html``) gets the same status in a page
that says what happened and links back to the step.
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
        "The request was refused. A form's _xsrf token belongs to the session it was loaded with, so a form "
        "loaded before you logged in or out (in another tab, say) is refused: go back, reload the page and try "
        "again. A route that changes your session also refuses a request another site's page sent."
    ),
    404: "There is no page at this address.",
    405: (
        "This address only answers a form's POST: typing it in the address bar (a GET) does nothing. "
        "Use the button on the step's page."
    ),
    413: "The session would grow over its size limit, so the write was refused and nothing was stored.",
    503: (
        "The session store is not answering, so no page that reads or writes a session can work until it is "
        "back; the pages without a session still do, and this one works again as soon as the store answers."
    ),
}
#: What brings each store back, added to the 503 page.
STORE_FIXES = {
    "redis": "Start the Redis server again (redis-server, or the service that runs it), then reload this page.",
    "sqlite": "Make the SQLite file's directory exist and writable again (see --sqlite-path), then reload this page.",
}
GENERIC_EXPLANATION = "Something went wrong while answering this request."
#: What ``curl`` reads when the store is down and the error reached this page unconverted.
STORE_DOWN = "Service Unavailable: the session store is unavailable, please try again shortly."


def refusal(error: BaseException | None) -> tuple[int, str] | None:
    """The status and plain-text answer of an error a client can act on; ``None`` for a bug (a 500)."""
    if isinstance(error, HTTPError) and error.reason:
        return error.status_code, error.reason
    if isinstance(error, StoreUnavailableError):
        return 503, STORE_DOWN
    if isinstance(error, SessionTooLargeError):
        return 413, f"Payload Too Large: {error}"
    return None


class ErrorPages(TutorialPageMixin):
    """``write_error`` for every handler of the app: a page for a browser, the reason in plain text for ``curl``."""

    #: The step page a handler's forms come from; the way back from its errors.
    page: str | None = None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        status, detail = refusal(error) or (status_code, "")
        self.set_status(status)
        if wants_html(self.request):
            self.render_error_page(status, error, detail)
        elif detail:
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.finish(detail)
        else:
            super().write_error(status, **kwargs)

    def render_error_page(self, status: int, error: BaseException | None, detail: str) -> None:
        detail_label = "The server's plain-text answer, as curl gets it:"
        if isinstance(error, HTTPError) and status == 403 and error.log_message:
            detail, detail_label = error.log_message, "Why:"  # Tornado's XSRF refusal says why in its log message
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.render(
            "error.html",
            status=status,
            reason=HTTPStatus(status).phrase,
            explanation=self.explain(status),
            detail=detail,
            detail_label=detail_label,
            way_back=self.way_back(),
        )

    def explain(self, status: int) -> str:
        """What the status means here; for a store outage, what brings this app's store back."""
        explanation = EXPLANATIONS.get(status, GENERIC_EXPLANATION)
        store = self.settings.get("session_store")
        if status == 503 and store is not None and store.name in STORE_FIXES:
            explanation = f"{explanation} {STORE_FIXES[store.name]}"
        return explanation

    def way_back(self) -> dict[str, str] | None:
        """The step this URL belongs to (``/database/...`` to the database step), or ``None`` for the index.

        A request target without a leading ``/`` (``GET *``, ``GET secret``) belongs to no step.
        """
        steps: list[dict[str, str]] = self.settings.get("tutorial_steps", [])
        path = self.request.path
        folder = path.split("/")[1] if path.startswith("/") else ""
        for step in steps:
            if step["path"] in (self.page, path) or (folder and step["path"].startswith(f"/{folder}/")):
                return step
        return None


class NotFound(ErrorPages):
    """The app's ``default_handler_class``: a 404 for every URL no route matches."""

    def prepare(self) -> None:
        raise HTTPError(404)
