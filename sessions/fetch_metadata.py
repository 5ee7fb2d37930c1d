"""Refuse cross-site requests to routes that change state, using the browser's Fetch Metadata.

A ``SameSite=Lax`` session cookie still rides along when another site navigates
the browser, top level, to one of our URLs with GET. So a GET route that changes
state (``/logout-everywhere``, ``/login?user=mallory``) can be triggered by any
page on the web, and XSRF tokens do not help: they guard POST only. Browsers say
where a request comes from in ``Sec-Fetch-Site``:

* ``same-origin``: a page of this origin (a link or a form of ours);
* ``none``: the user typed the URL, used a bookmark or opened it from outside;
* ``same-site``: another origin of the same site (``a.example.com`` for
  ``b.example.com``), refused unless allowed;
* ``cross-site``: any other site, always refused.

Browsers send ``Sec-Fetch-Site`` to HTTPS origins and to ``localhost``/
``127.0.0.1`` only, and older browsers not at all. Without it the guard falls
back to the ``Origin`` header, which browsers send with every POST and with
cross-origin requests: an ``Origin`` whose host (and port) is not the request's
``Host`` is refused (so is ``Origin: null``, sent from sandboxed frames and
after cross-origin redirects); a matching one passes. The scheme is not
compared, as Tornado's own ``cross_origin_protection`` does not: behind a proxy
that ends TLS the request looks like plain HTTP. A request with neither header
(``curl``, scripts) is let through: only a browser can be tricked into sending
another site's request, and a browser sends one of the two. Without Fetch
Metadata a same-site origin cannot be told from a cross-site one (that would
need the public suffix list), so it is refused even where same-site requests
are allowed.

Two ways to use it, refusing with a plain-text 403 before the handler method
runs, so nothing is loaded or changed::

    class LogoutHandler(SessionMixin, RequestHandler):
        @refuse_cross_site
        async def get(self): ...

    class ActionHandler(CrossSiteGuard, SessionMixin, RequestHandler):
        ...   # every method of the handler is guarded (in prepare())

Same-site requests are allowed by ``@refuse_cross_site(allow_same_site=True)``,
by ``allow_same_site = True`` on a ``CrossSiteGuard`` handler, or for the whole
application by the setting ``fetch_metadata_allow_same_site=True``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

from tornado.web import RequestHandler

#: The application setting that lets same-site requests through everywhere.
ALLOW_SAME_SITE_SETTING = "fetch_metadata_allow_same_site"
_ALWAYS_ALLOWED = frozenset({"same-origin", "none"})

Method = TypeVar("Method", bound=Callable[..., Any])


def refusal(sec_fetch_site: str | None, *, allow_same_site: bool = False) -> str | None:
    """Why a request with this ``Sec-Fetch-Site`` value is refused, or ``None`` to let it through.

    An unknown value is refused too: the header is set by the browser alone, so
    a value outside the standard four means something we cannot vouch for.
    """
    if sec_fetch_site is None or sec_fetch_site in _ALWAYS_ALLOWED:
        return None
    if sec_fetch_site == "same-site" and allow_same_site:
        return None
    kind = sec_fetch_site if sec_fetch_site in ("cross-site", "same-site") else "unrecognised"
    return f"Forbidden: {kind} request refused (Sec-Fetch-Site: {sec_fetch_site})"


def origin_refusal(origin: str | None, host: str) -> str | None:
    """Why a request without ``Sec-Fetch-Site`` but with this ``Origin`` is refused, or ``None``.

    The refusal does not repeat the ``Origin`` value: it is the client's, and
    an answer has no need to echo it.
    """
    if origin is None:
        return None
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:  # an Origin no browser would send (an unclosed IPv6 bracket)
        netloc = ""
    if netloc and netloc.lower() == host.lower():
        return None
    return "Forbidden: cross-origin request refused (its Origin header names another site)"


def same_site_allowed(handler: RequestHandler, override: bool | None) -> bool:
    """The handler's own choice when it made one, else the application setting (off by default)."""
    return bool(handler.settings.get(ALLOW_SAME_SITE_SETTING, False)) if override is None else override


def refuse_if_cross_site(handler: RequestHandler, *, allow_same_site: bool | None = None) -> bool:
    """Answer 403 and finish when the request must be refused; tell whether it was."""
    headers = handler.request.headers
    if "Sec-Fetch-Site" in headers:
        reason = refusal(headers["Sec-Fetch-Site"], allow_same_site=same_site_allowed(handler, allow_same_site))
    else:  # plain HTTP to another host, or an older browser: its Origin, if it sent one (curl sends neither)
        reason = origin_refusal(headers.get("Origin"), headers.get("Host", ""))
    if reason is None:
        return False
    handler.clear()  # no header a handler or mixin set before this point goes out with the refusal
    handler.set_status(403)
    handler.set_header("Content-Type", "text/plain; charset=UTF-8")
    handler.finish(reason)
    return True


@overload
def refuse_cross_site(method: Method) -> Method: ...


@overload
def refuse_cross_site(*, allow_same_site: bool | None = None) -> Callable[[Method], Method]: ...


def refuse_cross_site(method: Any = None, *, allow_same_site: bool | None = None) -> Any:
    """Decorate a handler method (sync or async) so a cross-site request gets a 403 instead."""
    if method is None:
        return functools.partial(refuse_cross_site, allow_same_site=allow_same_site)

    @functools.wraps(method)
    async def guarded(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
        if refuse_if_cross_site(self, allow_same_site=allow_same_site):
            return None
        result = method(self, *args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    return guarded


class CrossSiteGuard(RequestHandler):
    """Refuses cross-site requests (and same-site ones unless allowed) for every method of a handler.

    Put it first among the bases. The check runs in ``prepare()``, before the
    method and before any session is loaded; a subclass that overrides
    ``prepare()`` must call ``super().prepare()`` and stop if
    ``self._finished``.
    """

    #: ``None``: follow the application setting ``fetch_metadata_allow_same_site``.
    allow_same_site: bool | None = None

    def prepare(self) -> Any:
        if refuse_if_cross_site(self, allow_same_site=self.allow_same_site):
            return None
        return super().prepare()
