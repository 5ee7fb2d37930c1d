"""Each step's module reads like its Iris example, and the tutorial is layered on without changing it.

A step module holds plain handlers (the session mixin and ``RequestHandler``,
nothing of the tutorial), one class per route, then ``routes()``; the app serves
each through the tutorial's layer, whose classes have at most three bases, and
one ``write_error`` answers every error. Every step page shows the source of
its handlers as their module holds it.
"""

from __future__ import annotations

import ast
import html
import inspect
import re
from types import ModuleType

import pytest
from tornado.routing import URLSpec
from tornado.web import RequestHandler

from app import make_app
from handlers import database, flash, overview, standalone
from handlers.tutorial.actions import StepRoute
from sessions import SessionMixin
from tests.support.cookie_client import CookieClient, text

STEP_MODULES = [overview, standalone, flash, database]
PAGES = {"/overview": overview, "/standalone/page": standalone, "/flash/": flash, "/database/page": database}


def own_handlers(module: ModuleType) -> list[type]:
    """The handler classes a step module defines, in the order it defines them."""
    classes = [
        value for value in vars(module).values() if isinstance(value, type) and value.__module__ == module.__name__
    ]
    return sorted(classes, key=lambda cls: inspect.getsourcelines(cls)[1])


@pytest.mark.parametrize("module", STEP_MODULES, ids=lambda module: module.__name__)
def test_a_step_module_holds_plain_session_handlers_then_its_routes(module: ModuleType):
    handlers = own_handlers(module)
    assert handlers, "no handlers"
    for handler in handlers:
        assert handler.__bases__ == (SessionMixin, RequestHandler), handler
    tree = ast.parse(inspect.getsource(module))
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if "tutorial" in name], "a step module must not know the tutorial"
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert functions[-1] == "routes"


def test_the_overview_module_starts_with_secret_login_and_logout():
    assert [handler.__name__ for handler in own_handlers(overview)][:3] == ["Secret", "Login", "Logout"]
    routes = {route.regex.pattern: route.handler_class for route in overview.routes(manager=None)}  # type: ignore[arg-type]
    assert (routes["/secret$"], routes["/login$"], routes["/logout$"]) == (
        overview.Secret,
        overview.Login,
        overview.Logout,
    )


def served_handlers() -> list[type]:
    app = make_app(secrets=["a-test-secret-of-enough-length-0123456789"])
    rules, pending = [], list(app.wildcard_router.rules)
    while pending:  # the steps' routes sit in nested routers, one per step prefix
        rule = pending.pop(0)
        if isinstance(rule, URLSpec):
            rules.append(rule)
        elif hasattr(rule.target, "rules"):
            pending[:0] = rule.target.rules
    assert len(rules) > 30
    return [rule.handler_class for rule in rules]


def test_every_served_handler_class_has_at_most_three_bases_and_one_write_error():
    for handler in served_handlers():
        project = [cls for cls in handler.__mro__ if cls.__module__.split(".")[0] in ("handlers", "app")]
        for cls in project:
            assert len(cls.__bases__) <= 3, f"{cls} has {len(cls.__bases__)} bases"
        if project:  # not Tornado's own RedirectHandler (/flash to /flash/)
            answering = [cls for cls in project if "write_error" in vars(cls)]
            assert [cls.__qualname__ for cls in answering] == ["ErrorPages"], handler


def test_a_layered_handler_is_the_steps_own_class_under_the_tutorial():
    layered = [handler for handler in served_handlers() if issubclass(handler, StepRoute)]
    assert {handler.step_handler for handler in layered} >= set(own_handlers(overview))
    for handler in layered:
        assert handler.__bases__ == (StepRoute, handler.step_handler)
        assert handler.__name__ == handler.step_handler.__name__


@pytest.mark.gen_test
@pytest.mark.parametrize("page", list(PAGES))
async def test_a_step_page_shows_its_handlers_source_from_the_module(client: CookieClient, page: str):
    shown = text(await client.get(page))
    for handler in own_handlers(PAGES[page]):
        listing = re.search(
            rf'<article class="source" id="code-{handler.__name__}" data-code="{handler.__name__}">(.*?)</article>',
            shown,
            re.S,
        )
        assert listing, f"{page} does not show {handler.__name__}"
        code = html.unescape(re.sub(r"<[^>]+>", "", listing[1].split("</p>", 1)[1]))
        assert code.strip() == inspect.getsource(handler).strip()
