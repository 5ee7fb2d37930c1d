"""The tutorial app: sessions, flash messages and secure cookies, step by step.

Run it with ``python app.py`` and open http://localhost:8080/. Options::

    --port=8080 --address=127.0.0.1
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tornado.options import define, options, parse_command_line
from tornado.web import Application, StaticFileHandler, url

from handlers import flash
from handlers import overview
from handlers.index import IndexHandler
from handlers.inspector import SessionInspector
from sessions import MemoryStore, SessionManager, SessionStore

HERE = Path(__file__).parent
log = logging.getLogger("app")

define("port", default=8080, help="port to listen on")
define("address", default="127.0.0.1", help="address to listen on (0.0.0.0 for every interface)")

#: The tutorial steps in teaching order: (title, path, what it teaches).
STEPS = [
    {
        "title": "Overview",
        "path": "/overview",
        "teaches": "A session remembers that you logged in: the cookie carries only an ID, the data stays on the server.",
    },
    {
        "title": "Flash messages",
        "path": "/flash/",
        "teaches": "A flash message is shown once: it survives the redirect to the next page, then the session forgets it.",
    },
]


def make_app(store: SessionStore | None = None, clock: Callable[[], float] = time.time) -> Application:
    """Build the app; tests pass their own store and clock."""
    store = MemoryStore(clock=clock) if store is None else store  # an empty store is falsy (__len__)
    overview_sessions = SessionManager(cookie_name="mycookiesessionnameid", store=store, clock=clock)

    def step(path: str, handler: type, manager: SessionManager) -> url:
        return url(path, handler, {"session_manager": manager})

    routes = [
        url(r"/", IndexHandler, name="index"),
        url(r"/overview", overview.OverviewPageHandler, {"session_manager": overview_sessions}, name="overview"),
        step(r"/secret", overview.SecretHandler, overview_sessions),
        url(r"/login", overview.LoginHandler, {"session_manager": overview_sessions, "page": "/overview"}),
        url(r"/logout", overview.LogoutHandler, {"session_manager": overview_sessions, "page": "/overview"}),
        *flash.routes(SessionManager(cookie_name="myappsessionid", allow_reclaim=True, store=store, clock=clock)),
        # step routes: standalone, securecookie
        # step routes: database
        url(r"/static/(.*)", StaticFileHandler, {"path": HERE / "static"}),
    ]
    return Application(
        routes,
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        xsrf_cookies=True,
        session_store=store,
        tutorial_steps=STEPS,
        ui_modules={"SessionInspector": SessionInspector},
    )


async def serve() -> None:
    """Serve until Ctrl-C or SIGTERM, then close connections and the store."""
    app = make_app()
    server = app.listen(options.port, options.address)
    host = "localhost" if options.address in ("127.0.0.1", "0.0.0.0", "") else options.address
    log.info("serving the sessions tutorial on http://%s:%d/ (Ctrl-C to stop)", host, options.port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    log.info("shutting down")
    server.stop()
    await server.close_all_connections()
    await app.settings["session_store"].close()


def main() -> None:
    parse_command_line()
    asyncio.run(serve())


if __name__ == "__main__":
    main()
