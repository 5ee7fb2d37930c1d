"""The tutorial app: sessions, flash messages and secure cookies, step by step.

Run it with ``python app.py`` and open http://localhost:8080/. Options::

    --port=8080 --address=127.0.0.1
    --store=memory|sqlite|redis   where sessions live (memory needs no server)
    --sqlite-path=sessions.sqlite3 --redis-url=redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from tornado.options import define, options, parse_command_line
from tornado.web import Application, StaticFileHandler, url

from handlers import database, overview
from handlers.index import IndexHandler
from sessions import MemoryStore, SessionManager, SessionStore
from sessions.stores.redis import RedisStore
from sessions.stores.sqlite import SQLiteStore

HERE = Path(__file__).parent
log = logging.getLogger("app")

define("port", default=8080, help="port to listen on")
define("address", default="127.0.0.1", help="address to listen on (0.0.0.0 for every interface)")
define("store", default="memory", help="session store: memory, sqlite or redis")
define("sqlite_path", default="sessions.sqlite3", help="SQLite file of --store=sqlite")
define("redis_url", default="redis://127.0.0.1:6379/0", help="Redis of --store=redis")

#: The tutorial steps in teaching order: (title, path, what it teaches).
STEPS = [
    {
        "title": "Overview",
        "path": "/secret",
        "teaches": "A session remembers that you logged in: the cookie carries only an ID, the data stays on the server.",
    },
    {
        "title": "Database",
        "path": "/database/",
        "teaches": "Sessions kept in SQLite or Redis survive restarts and are shared by several app processes.",
    },
]


def make_app(store: SessionStore | None = None, clock: Callable[[], float] = time.time) -> Application:
    """Build the app; tests pass their own store and clock."""
    if store is None:  # not `store or ...`: an empty MemoryStore is falsy (it has __len__)
        store = MemoryStore(clock=clock)
    overview_sessions = SessionManager(cookie_name="mycookiesessionnameid", store=store, clock=clock)

    def step(path: str, handler: type, manager: SessionManager) -> url:
        return url(path, handler, {"session_manager": manager})

    routes = [
        url(r"/", IndexHandler, {"steps": STEPS, "store_name": store.name}, name="index"),
        step(r"/secret", overview.SecretHandler, overview_sessions),
        step(r"/login", overview.LoginHandler, overview_sessions),
        step(r"/logout", overview.LogoutHandler, overview_sessions),
        # step routes: flash
        # step routes: standalone, securecookie
        *database.routes(
            # Iris's database example: 45 minutes from creation, moved by /update; no idle
            # timeout, so the store's expiry and the cookie's always agree.
            SessionManager(
                cookie_name="sessionscookieid",
                expires=timedelta(minutes=45),
                idle_timeout=None,
                store=store,
                clock=clock,
            )
        ),
        url(r"/static/(.*)", StaticFileHandler, {"path": HERE / "static"}),
    ]
    return Application(
        routes,
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        xsrf_cookies=True,
        session_store=store,
    )


def store_from_options() -> SessionStore:
    """The store ``--store`` names, connected lazily: the app starts even if the store is down."""
    if options.store == "memory":
        return MemoryStore()
    if options.store == "sqlite":
        return SQLiteStore(options.sqlite_path)
    if options.store == "redis":
        return RedisStore(options.redis_url)
    raise SystemExit(f"--store must be memory, sqlite or redis, not {options.store!r}")


async def serve(store: SessionStore) -> None:
    """Serve until Ctrl-C or SIGTERM, then close connections and the store."""
    app = make_app(store)
    server = app.listen(options.port, options.address)
    host = "localhost" if options.address in ("127.0.0.1", "0.0.0.0", "") else options.address
    log.info(
        "serving the sessions tutorial on http://%s:%d/ with the %s store (Ctrl-C to stop)",
        host,
        options.port,
        store.name,
    )
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
    asyncio.run(serve(store_from_options()))


if __name__ == "__main__":
    main()
