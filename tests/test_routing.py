"""The app's router picks, for every path, the route Tornado's own in-order routing would pick."""

from __future__ import annotations

import re

import pytest
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
from tornado.routing import URLSpec
from tornado.web import Application, RequestHandler

from app import make_app
from handlers.routing import SegmentRouter, first_segment

SECRETS = ["the routing tests' secret, 32 bytes or more"]


def app_routes(app: Application) -> list[URLSpec]:
    """The routes the app's SegmentRouter holds, in the order the app declared them."""
    routers = [rule.target for rule in app.wildcard_router.rules if isinstance(rule.target, SegmentRouter)]
    assert len(routers) == 1
    return routers[0].rules  # type: ignore[return-value]  # every rule the app gives it is a URLSpec


def chosen(app: Application, path: str) -> tuple[str, list[bytes]] | None:
    """The handler class and path arguments ``app`` routes ``path`` to (``None``: its 404)."""
    start_line = RequestStartLine("GET", path, "HTTP/1.1")
    request = HTTPServerRequest(start_line=start_line, headers=HTTPHeaders({"Host": "localhost"}))
    delegate = app.find_handler(request)
    handler_class = delegate.handler_class  # type: ignore[attr-defined]
    if handler_class is app.settings["default_handler_class"]:
        return None
    return handler_class.__name__, list(delegate.path_args)  # type: ignore[attr-defined]


def probe_paths(routes: list[URLSpec]) -> list[str]:
    """Each route's own path (groups filled in), and near misses of it."""
    paths = ["/", "//", "/nope", "/nope/secret", "/%73ecret", "/secret/", "/SECRET", "/static/app.css"]
    for route in routes:
        path = re.sub(r"\([^)]*\)", "k", route.regex.pattern.rstrip("$")).replace("/?", "/")
        paths += [path, path + "x", path + "/", path.rstrip("/") + "/extra", "/x" + path]
    return paths


def test_every_path_reaches_the_route_tornados_in_order_routing_reaches():
    app = make_app(secrets=SECRETS)
    routes = app_routes(app)
    in_order = Application(routes, **{**app.settings, "static_path": None})  # Tornado's own router, same routes
    paths = probe_paths(routes)
    assert len(paths) > 200
    for path in paths:
        if path.startswith("/static/"):
            continue  # Tornado's static routes sit before the app's in both
        assert chosen(app, path) == chosen(in_order, path), path


def test_the_routes_are_grouped_by_their_first_segment():
    app = make_app(secrets=SECRETS)
    segments = {first_segment(route) for route in app_routes(app)}
    assert {"", "secret", "login", "standalone", "flash", "securecookie", "database"} <= segments
    assert chosen(app, "/database/set/int/n/7") == ("DatabaseSetInt", [b"n", b"7"])
    assert chosen(app, "/standalone") == ("StandaloneHome", [])
    assert chosen(app, "/flash/") == ("FlashPage", [])
    assert chosen(app, "/nope") is None


def test_named_routes_are_found_in_every_group():
    app = make_app(secrets=SECRETS)
    assert app.reverse_url("index") == "/"
    assert app.reverse_url("database_set_int", "n", 7) == "/database/set/int/n/7"
    with pytest.raises(KeyError):
        app.reverse_url("no_such_route")


@pytest.mark.parametrize("pattern", [r"/(favicon\.ico)", r"/a.b/c", r"/([^/]+)/set", r"/(?:x|y)"])
def test_a_route_whose_first_segment_is_not_plain_text_is_refused(pattern):
    with pytest.raises(ValueError, match="first path segment must be plain text"):
        SegmentRouter(Application(), [URLSpec(pattern, RequestHandler)])
