"""The tutorial app: sessions, flash messages and secure cookies, step by step.

Run it with ``python app.py`` and open http://localhost:8080/. Options::

    --port=8080 --address=127.0.0.1
    --processes=1           serve from N forked processes sharing the port (0: one per core); not with memory
    --store=memory|sqlite|redis   where sessions live (memory needs no server)
    --memory-limit=64MB     what --store=memory may hold (KB, MB, GB or bytes); the least recently used go first
    --sqlite-path=sessions.sqlite3 --redis-url=redis://127.0.0.1:6379/0
    --redis-cluster         --redis-url names any node of a Redis Cluster
    --secret=NEW,OLD        secrets for encrypted cookies, newest first; or SESSION_SECRETS=NEW,OLD
                            in the environment, which `ps` does not show
    --generate-secret       print a fresh secret and exit
    --write-secret=PATH     write a fresh secret to a new file only you can read (mode 600) and exit
    --xheaders              behind a reverse proxy: trust X-Forwarded-Proto (so cookies get Secure on HTTPS)
    --header-timeout=20 --idle-timeout=60 --body-timeout=60   seconds a slow or idle client is given
    --max-connections=0     open connections per process (0: the open-file limit less a reserve)
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

try:
    import tornado  # noqa: F401  (only to say, in one line, what to run when it is missing)
except ModuleNotFoundError:  # `python3 app.py` outside .venv: the packages live in .venv only
    sys.exit("app.py: Tornado is not installed for this Python; run .venv/bin/python app.py (README: Quick start)")

from tornado.options import define, options
from tornado.routing import PathMatches, Rule, URLSpec
from tornado.web import Application, url

import forking
import startup
from guarded_server import GuardedHTTPServer
from handlers import database, flash, overview, standalone
from handlers.tutorial.actions import mount
from handlers.tutorial.errors import NotFound
from handlers.tutorial.inspector import SessionInspector
from handlers.tutorial.pages import DatabasePage, FlashPage, IndexPage, OverviewPage, StandalonePage
from handlers.tutorial.static import StaticFiles
from sessions import EncryptedCodec, KeyRing, MemoryStore, SessionManager, SessionStore
from sessions.crypto import new_secret
from sessions.sizes import parse_size
from sessions.stores.near_cache import NearCachedStore
from sessions.stores.redis import RedisStore
from sessions.stores.sqlite import SQLiteStore

HERE = Path(__file__).parent
log = logging.getLogger("app")


def option(name: str, **settings: Any) -> None:
    """Define one of the app's command-line options, under the heading ``app.py`` in ``--help``
    (Tornado's default heading is the file's full path)."""
    define(name, group="app.py", **settings)


option("port", default=8080, help="port to listen on")
option("address", default="127.0.0.1", help="address to listen on (0.0.0.0 for every interface)")
option("processes", default=1, help="processes sharing the port: 0 = one per core (needs --store=sqlite or redis)")
option("store", default="memory", help="session store: memory, sqlite or redis")
option("memory_limit", default="64MB", help="bytes --store=memory may hold: 64MB, 512KB, 1GB or a number")
option("sqlite_path", default="sessions.sqlite3", help="SQLite file of --store=sqlite")
option("redis_url", default="redis://127.0.0.1:6379/0", help="Redis of --store=redis")
option("redis_cluster", type=bool, default=False, help="--redis-url is a node of a Redis Cluster")
option("secret", type=str, multiple=True, help="secrets for encrypted cookies, newest first: NEW,OLD")
option("generate_secret", type=bool, default=False, help="print a fresh secret and exit")
option("write_secret", default="", help="write a fresh secret to a new file PATH, mode 600 (only you can read it)")
option("xheaders", type=bool, default=False, help="trust X-Forwarded-For/-Proto from a reverse proxy")
option("header_timeout", default=20.0, help="seconds a new connection has to send its request's headers")
option("idle_timeout", default=60.0, help="seconds a kept-alive connection may wait for its next request")
option("body_timeout", default=60.0, help="seconds a request's body has to arrive once its headers have")
option("max_connections", default=0, help="open connections per process (0: the open-file limit less a reserve)")

#: Iris's standalone and securecookie examples: sessions that last 2 hours.
TWO_HOURS = timedelta(hours=2)
#: Iris's database example: 45 minutes.
FORTY_FIVE_MINUTES = timedelta(minutes=45)

#: The tutorial steps in teaching order: (title, path, what it teaches).
STEPS = [
    {
        "title": "Overview",
        "path": "/overview",
        "teaches": (
            "A session remembers that you logged in: the cookie carries only an ID, the data stays on the server."
        ),
    },
    {
        "title": "Standalone",
        "path": "/standalone/page",
        "teaches": "A session that lasts two hours: set, read, delete, extend and destroy it.",
    },
    {
        "title": "Flash messages",
        "path": "/flash/",
        "teaches": (
            "A flash message is shown once: it survives the redirect to the next page, then the session forgets it."
        ),
    },
    {
        "title": "Secure cookie",
        "path": "/securecookie/page",
        "teaches": "The same session with an encrypted, authenticated cookie: a tampered one is ignored.",
    },
    {
        "title": "Database",
        "path": "/database/page",
        "teaches": "Sessions kept in SQLite or Redis survive restarts and are shared by several app processes.",
    },
]


def make_app(
    store: SessionStore | None = None,
    clock: Callable[[], float] = time.time,
    secrets: Sequence[str] | None = None,
) -> Application:
    """Build the app; tests pass their own store, clock and secrets (newest first)."""
    if store is None:  # not `store or ...`: an empty MemoryStore is falsy (it has __len__)
        store = MemoryStore(clock=clock)
    secrets = list(secrets or [_process_secret()])
    # Config fields, checked by Config itself; the secrets also key SessionXSRFMixin's tokens (any of them accepts one)
    shared: dict[str, Any] = {"store": store, "clock": clock, "xsrf_secrets": secrets}
    # Iris's fixed expiries are the sessions' real lifetimes only without an idle timeout
    # (which would end them sooner, while the cookie's Max-Age still said otherwise).
    two_hours: dict[str, Any] = {"expires": TWO_HOURS, "idle_timeout": None, **shared}
    encrypted = EncryptedCodec(KeyRing(secrets), max_age=TWO_HOURS, clock=clock)

    overview_sessions = SessionManager(cookie_name="mycookiesessionnameid", **shared)
    standalone_sessions = SessionManager(cookie_name="mysessionid", **two_hours)
    flash_sessions = SessionManager(cookie_name="myappsessionid", allow_reclaim=True, **shared)  # as Iris's example
    securecookie_sessions = SessionManager(cookie_name="mycustomsessionid", codec=encrypted, **two_hours)
    database_sessions = SessionManager(
        cookie_name="sessionscookieid", expires=FORTY_FIVE_MINUTES, idle_timeout=None, **shared
    )

    two_hours_buttons = ("set", "delete", "clear", "update", "destroy", "set_immutable")
    routes = [
        url(r"/", IndexPage, name="index"),
        *mount(
            overview.routes(overview_sessions),
            "/overview",
            OverviewPage,
            actions={"overview_login", "overview_logout", "overview_logout_everywhere"},
            page_name="overview_page",
        ),
        under(
            "/standalone",
            mount(
                standalone.routes(standalone_sessions, "/standalone"),
                "/standalone/page",
                StandalonePage,
                actions={f"standalone_{button}" for button in two_hours_buttons},
                page_name="standalone_page",
                prefix="/standalone",
            ),
        ),
        under(
            "/flash",
            mount(
                flash.routes(flash_sessions, "/flash"),
                "/flash/",
                FlashPage,
                actions={"flash_message"},
                page_name="flash_page",
            ),
        ),
        under(
            "/securecookie",
            mount(
                standalone.routes(securecookie_sessions, "/securecookie"),
                "/securecookie/page",
                StandalonePage,
                actions={f"securecookie_{button}" for button in two_hours_buttons},
                page_name="securecookie_page",
                prefix="/securecookie",
            ),
        ),
        under(
            "/database",
            mount(
                database.routes(database_sessions, "/database"),
                "/database/page",
                DatabasePage,
                actions={
                    f"database_{route}" for route in ("set_name", "value", "delete", "clear", "update", "destroy")
                },
                page_name="database_page",
            ),
        ),
    ]
    return Application(
        routes,
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        static_handler_class=StaticFiles,  # serves /static/ and /favicon.ico (Tornado adds their routes)
        default_handler_class=NotFound,  # a 404 in the site's layout for a browser
        xsrf_cookies=True,
        # Tornado's own check of POST and the other unsafe methods, before any handler code: Sec-Fetch-Site,
        # else Origin against Host. The app's Fetch Metadata guard (which also covers its state-changing GETs) stays.
        cross_origin_protection=True,
        cookie_secret=secrets[0],  # Tornado's own setting; the XSRF tokens use the managers' whole ring
        session_store=store,
        tutorial_steps=STEPS,
        ui_modules={"SessionInspector": SessionInspector},
    )


def under(prefix: str, routes: list[URLSpec]) -> Rule:
    """A step's routes behind one test of the path's start, with Tornado's own nested routing.

    Tornado tries an application's rules in order, each a regular expression
    (about 1.2k instructions a miss), so a request for the last step would
    first miss every route of the steps before it; here it misses one rule per
    step. Measured with ``python bench/instructions.py`` (bare Tornado 882k):
    ``/database/set/int/n/7`` (app-write-memory) 1,283k -> 1,234k instructions per
    request, ``/securecookie/get`` 1,167k -> 1,149k.
    """
    return Rule(PathMatches(rf"{prefix}(?:/.*)?"), routes)  # no group: a group would be unquoted for nothing


def _process_secret() -> str:
    log.warning(
        "no --secret or SESSION_SECRETS configured: using a random secret for this run only, so "
        "encrypted session cookies will not survive a restart (make one with: python app.py --generate-secret)"
    )
    return new_secret()


def configured_secrets() -> list[str]:
    """The secrets from ``--secret``, else from ``SESSION_SECRETS``; comma-separated, newest first.

    Raises ``StartupError`` for a variable that holds no secret or a weak secret (see ``startup.checked_secrets``).
    """
    return startup.checked_secrets(options.secret, os.environ.get(startup.SECRETS_VARIABLE))


def store_from_options() -> SessionStore:
    """The store ``--store`` names; ``serve`` checks that it answers before serving."""
    if options.store == "memory":
        return MemoryStore(max_bytes=memory_limit())
    if options.store == "sqlite":
        startup.check_sqlite_path(options.sqlite_path)
        return SQLiteStore(options.sqlite_path)
    if options.store == "redis":
        startup.check_redis_url(options.redis_url)
        try:
            store = RedisStore(options.redis_url, cluster=options.redis_cluster)
        except ValueError as error:  # not a Redis URL; the message never repeats it (it may hold a password)
            raise startup.StartupError(f"--redis-url: {error}") from None
        # One server: sessions this process loaded are read with no round trip (sessions/stores/near_cache.py).
        return store if store.cluster else NearCachedStore(store)
    raise startup.StartupError(f"--store={options.store}: the stores are memory, sqlite and redis")


def make_server(app: Application) -> GuardedHTTPServer:
    """The HTTP server ``app`` runs on, with the time limits and connection cap the options set.

    ``bench/server.py`` serves on it too, so the benchmark counts what the app pays.
    """
    return GuardedHTTPServer(
        app,
        xheaders=options.xheaders,
        header_timeout=options.header_timeout,
        idle_timeout=options.idle_timeout,
        body_timeout=options.body_timeout,
        max_connections=connection_cap(),
    )


def connection_cap() -> int:
    """``--max-connections``, or the open-file limit less what the store, logs and templates may hold open."""
    if options.max_connections:
        return int(options.max_connections)
    return startup.connections_within(startup.open_file_limit())


def memory_limit() -> int:
    """``--memory-limit`` in bytes; a value that is not a size stops the app with one line."""
    try:
        return parse_size(options.memory_limit)
    except ValueError as error:
        raise startup.StartupError(f"--memory-limit: {error}") from None


async def serve(store: SessionStore, secrets: list[str], sockets: list[socket.socket] | None = None) -> None:
    """Check the store and the port, serve until Ctrl-C or SIGTERM, then close connections and the store.

    A forked process gets the ``sockets`` its parent bound, after the parent checked the store: a child
    started again after a crash while the store is down must serve (503 until the store is back) rather
    than fail its start-up check, crash, and be restarted in a loop.
    """
    if sockets is None:
        try:
            await startup.check_store(store, options.redis_url, options.sqlite_path)
            sockets = startup.listening_sockets(options.port, options.address)  # last: nothing to close after it
        except startup.StartupError:
            await store.close()
            raise
    app = make_app(store, secrets=secrets)
    if options.processes != 1:
        app.add_transform(forking.ServedBy)
    server = make_server(app)
    server.add_sockets(sockets)
    host = "localhost" if options.address in ("127.0.0.1", "0.0.0.0", "") else options.address
    log.info(
        "serving the sessions tutorial on http://%s:%d/ with the %s store (Ctrl-C to stop; pid %d)",
        host,
        options.port,
        store.name,
        os.getpid(),
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Stopping already: a second signal (a terminal's Ctrl-C reaches a forked process from the
        # terminal and from its parent) is ignored, also after the loop closes, where asyncio would
        # otherwise put back Python's default and a late SIGINT would end in a KeyboardInterrupt traceback.
        loop.remove_signal_handler(signum)
        signal.signal(signum, signal.SIG_IGN)
    log.info("shutting down")
    server.stop()
    await server.close_all_connections()
    await store.close()


def serve_forked() -> None:
    """``--processes``: check the store and bind the port once, then fork; each child makes its own store.

    The random secret (without ``--secret``) is made before the fork, else each
    process would refuse the others' encrypted cookies and XSRF tokens. The store
    is made after the fork: SQLite connections (and their threads) and Redis
    connection pools must not be shared by two processes.
    """
    if options.processes < 0:
        raise startup.StartupError(f"--processes={options.processes}: use 1 or more, or 0 for one per core")
    if options.store == "memory":
        raise startup.StartupError(
            f"--processes={options.processes} with --store=memory: each process would keep its own sessions, "
            "so a login served by one would be unknown to the next; use --store=sqlite or --store=redis"
        )
    asyncio.run(check_once(store_from_options()))
    sockets = startup.listening_sockets(options.port, options.address)
    secrets = configured_secrets() or [_process_secret()]  # before the fork: one secret for every process
    forking.fork(options.processes)
    asyncio.run(serve(store_from_options(), secrets, sockets))


async def check_once(store: SessionStore) -> None:
    """Reach the store before forking, so a store that is not there is one line, not one per child."""
    try:
        await startup.check_store(store, options.redis_url, options.sqlite_path)
    finally:
        await store.close()


def main() -> None:
    try:
        startup.parse_options(sys.argv)
        if options.generate_secret:
            print(new_secret())
            return
        if options.write_secret:
            startup.write_secret_file(options.write_secret)
            print(f"wrote a new secret to {options.write_secret} (only you can read it); start the app with:")
            print(f"SESSION_SECRETS=$(cat {options.write_secret}) python app.py")
            return
        startup.check_server_limits(options.header_timeout, options.idle_timeout, options.body_timeout)
        startup.check_connection_cap(options.max_connections, startup.raise_open_file_limit())
        if options.processes == 1:
            asyncio.run(serve(store_from_options(), configured_secrets()))
        else:
            serve_forked()
    except (startup.StartupError, forking.CrashLoopError) as failure:
        sys.exit(str(failure))


if __name__ == "__main__":
    main()
