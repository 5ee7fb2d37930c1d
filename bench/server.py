"""The project's app as the benchmark runs it, plus the bench routes, in one process.

It serves two Tornado applications on two loopback ports and prints
``listening <app port> <bench port>``:

* the project's app, ``make_app(store=...)``, whose own routes are measured
  where they fit a scenario (``/secret`` and ``/login`` of the overview step,
  ``/securecookie/...``);
* the bench routes, for what the app has no route for, built from the real
  ``sessions`` package and the app's real handlers, on a manager of their own
  (cookie ``benchsid``) and the same store:

  - ``/bench/anonymous``: a session-aware handler that never asks for its session;
  - ``/bench/login`` and ``/bench/secret``: the overview step's handlers, so that
    the cookie-only store (which needs an encrypting codec) runs the same code;
  - ``/bench/count``: ``session.increment("count")`` on every request;
  - ``/bench/same-answer``: no session, but the same body and headers as
    ``/secret`` (the floor an authenticated read cannot go below).

The bench routes have an application of their own so that neither side pays
for the other's routes: Tornado tries routes in order, and each failed one
costs a regex match on every request. Both are served on the app's own HTTP
server (``app.make_server``: ``GuardedHTTPServer`` with the app's default
limits), so every scenario pays what ``python app.py`` pays per connection and
request; bare Tornado (``bench/bare.py``) stays on Tornado's ``HTTPServer``.

Usage: ``python bench/server.py --store=memory|sqlite|redis|cookie [--redis-url=URL]
[--workdir=DIR]``; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import stores  # noqa: E402
from scenarios import BENCH_COOKIE  # noqa: E402
from serving import serve_until_stopped  # noqa: E402
from tornado.web import Application, RequestHandler, url  # noqa: E402

from app import make_app, make_server  # noqa: E402
from handlers import overview  # noqa: E402
from handlers.tutorial.actions import layered  # noqa: E402
from sessions import MemoryStore, SessionManager, SessionMixin  # noqa: E402
from sessions.crypto import new_secret  # noqa: E402


class AnonymousHandler(SessionMixin, RequestHandler):
    """Session-aware, but never asks for the session: what anonymous traffic pays."""

    def get(self) -> None:
        self.write("ok")


class SameAnswerHandler(RequestHandler):
    """No session at all, but exactly what ``/secret`` answers: the floor of an authenticated read."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write("The cake is a lie!")
        self.set_header("Cache-Control", "no-store")
        self.add_header("Vary", "Cookie")


class CountHandler(SessionMixin, RequestHandler):
    """A write on every request, applied by the store as an atomic increment."""

    async def get(self) -> None:
        session = await self.get_session()
        session.increment("count")
        self.write("ok")


def build_apps(store_name: str, workdir: Path, redis_url: str | None) -> tuple[Application, Application]:
    """Return the project's app and the bench routes' app, sharing one store."""
    store, codec = stores.build(store_name, workdir, redis_url)
    # The cookie-only store cannot serve the app's plain-codec steps; they run on memory then.
    app = make_app(store=MemoryStore() if store_name == "cookie" else store, secrets=[new_secret()])
    options = {"cookie_name": BENCH_COOKIE, "store": store}
    manager = SessionManager(**options, codec=codec) if codec is not None else SessionManager(**options)
    bench = {"session_manager": manager}
    routes = [
        url(r"/bench/anonymous", AnonymousHandler, bench),
        url(r"/bench/login", layered(overview.Login), bench),
        url(r"/bench/secret", layered(overview.Secret), bench),
        url(r"/bench/count", CountHandler, bench),
        url(r"/bench/same-answer", SameAnswerHandler),
    ]
    return app, Application(routes, session_store=store)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=stores.STORES, default="memory")
    parser.add_argument("--redis-url")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    reason = stores.missing(args.store)
    if reason is not None:
        sys.exit(f"store {args.store} is not available: {reason}")
    with tempfile.TemporaryDirectory(prefix="bench-server-") as scratch:
        apps = build_apps(args.store, args.workdir or Path(scratch), args.redis_url)

        async def close_stores() -> None:
            for store in {id(app.settings["session_store"]): app.settings["session_store"] for app in apps}.values():
                await store.close()

        asyncio.run(serve_until_stopped(*apps, make_server=make_server, cleanup=close_stores))


if __name__ == "__main__":
    main()
