"""The app's router: a request tries only the routes under its path's first segment.

Tornado's ``Application`` tries its rules in order, so with the five steps'
routes in one list a request for the last step paid a failed pattern for every
route before it (about 1.2k instructions each). ``SegmentRouter`` groups the
routes by the literal first segment of their pattern (``/database/set/([^/]+)``
goes under ``database``, ``/`` under the empty segment) and looks a request's
first segment up in a dict; that group's routes are then tried in order, as
Tornado would. Measured with ``python bench/instructions.py`` (bare Tornado
880k instructions per request): ``/securecookie/get`` 1,142k -> 1,121k,
``/database/set/int/n/7`` 1,241k -> 1,220k; ``/secret``, which came third among
the app's routes, pays the extra router layer: 1,080k -> 1,084k. Every route now
costs the same to find wherever it is declared.

Which route answers is unchanged: a pattern can only match paths that start with
its own literal segment, so a route is never in a group its paths cannot reach.
A pattern whose first segment is not plain text (a group, a ``.`` that would
match any character) is refused when the app is built, not routed by guess.
"""

from __future__ import annotations

import re
from typing import Any

from tornado.httputil import HTTPMessageDelegate, HTTPServerRequest
from tornado.routing import ReversibleRuleRouter, URLSpec
from tornado.web import Application, RequestHandler

#: A pattern's first segment when it is plain text, up to the next ``/``, an optional ``/?`` or the end.
_LITERAL_FIRST_SEGMENT = re.compile(r"/([A-Za-z0-9_~-]*)(?:/|\$|$)")


def first_segment(route: URLSpec) -> str:
    """The first path segment every path ``route`` matches starts with (``""`` for ``/``)."""
    found = _LITERAL_FIRST_SEGMENT.match(route.regex.pattern)
    if found is None:
        raise ValueError(f"route {route.regex.pattern!r}: its first path segment must be plain text")
    return found.group(1)


class SegmentRouter(ReversibleRuleRouter):
    """The app's routes, grouped by first segment; a request tries its own group's routes only."""

    def __init__(self, application: Application, routes: list[URLSpec]) -> None:
        self.application = application
        super().__init__(routes)  # every route in ``rules``, the named ones for ``reverse_url``
        self._groups: dict[str, list[URLSpec]] = {}
        for route in routes:
            self._groups.setdefault(first_segment(route), []).append(route)

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate | None:
        """``RuleRouter.find_handler`` over the request's group instead of every rule."""
        for route in self._groups.get(request.path[1:].partition("/")[0], ()):
            params = route.matcher.match(request)
            if params is not None:
                return self.get_target_delegate(route.target, request, target_kwargs=route.target_kwargs, **params)
        return None

    def get_target_delegate(
        self, target: Any, request: HTTPServerRequest, **target_params: Any
    ) -> HTTPMessageDelegate | None:
        """A handler class runs as the application runs it (Tornado's own router does the same)."""
        if isinstance(target, type) and issubclass(target, RequestHandler):
            return self.application.get_handler_delegate(request, target, **target_params)
        return super().get_target_delegate(target, request, **target_params)
