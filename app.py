"""The tutorial app: sessions, flash messages and secure cookies, step by step.

Run it with ``python app.py`` and open http://localhost:8080/. Options::

    --port=8080 --address=127.0.0.1
    --secret=NEW,OLD        secrets for encrypted cookies, newest first; or SESSION_SECRETS=NEW,OLD
                            in the environment, which `ps` does not show
    --generate-secret       print a fresh secret and exit
    --xheaders              behind a reverse proxy: trust X-Forwarded-Proto (so cookies get Secure on HTTPS)
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from tornado.options import define, options, parse_command_line
from tornado.web import Application, StaticFileHandler, url

from handlers import flash, overview, standalone
from handlers.index import IndexHandler
from handlers.inspector import SessionInspector
from sessions import EncryptedCodec, KeyRing, MemoryStore, SessionManager, SessionStore
from sessions.crypto import new_secret

HERE = Path(__file__).parent
log = logging.getLogger("app")

define("port", default=8080, help="port to listen on")
define("address", default="127.0.0.1", help="address to listen on (0.0.0.0 for every interface)")
define("secret", type=str, multiple=True, help="secrets for encrypted cookies, newest first: NEW,OLD")
define("generate_secret", type=bool, default=False, help="print a fresh secret and exit")
define("xheaders", type=bool, default=False, help="trust X-Forwarded-For/-Proto from a reverse proxy")

#: Iris's standalone and securecookie examples: sessions that last 2 hours.
TWO_HOURS = timedelta(hours=2)

#: The tutorial steps in teaching order: (title, path, what it teaches).
STEPS = [
    {
        "title": "Overview",
        "path": "/overview",
        "teaches": "A session remembers that you logged in: the cookie carries only an ID, the data stays on the server.",
    },
    {
        "title": "Standalone",
        "path": "/standalone/page",
        "teaches": "A session that lasts two hours: set, read, delete, extend and destroy it.",
    },
    {
        "title": "Flash messages",
        "path": "/flash/",
        "teaches": "A flash message is shown once: it survives the redirect to the next page, then the session forgets it.",
    },
    {
        "title": "Secure cookie",
        "path": "/securecookie/page",
        "teaches": "The same session with an encrypted, authenticated cookie: a tampered one is ignored.",
    },
]


def make_app(
    store: SessionStore | None = None,
    clock: Callable[[], float] = time.time,
    secrets: Sequence[str] | None = None,
) -> Application:
    """Build the app; tests pass their own store, clock and secrets (newest first)."""
    store = MemoryStore(clock=clock) if store is None else store  # an empty store is falsy
    secrets = list(secrets or [_process_secret()])
    keyring = KeyRing(secrets)
    overview_sessions = SessionManager(cookie_name="mycookiesessionnameid", store=store, clock=clock)
    # Iris's 2-hour expiry is the session's real lifetime only without an idle
    # timeout (which would end it sooner, while the cookie's Max-Age still said 2 h).
    two_hours = {"expires": TWO_HOURS, "idle_timeout": None, "store": store, "clock": clock}
    standalone_sessions = SessionManager(cookie_name="mysessionid", **two_hours)
    securecookie_sessions = SessionManager(
        cookie_name="mycustomsessionid", codec=EncryptedCodec(keyring, max_age=TWO_HOURS, clock=clock), **two_hours
    )

    def step(path: str, handler: type, manager: SessionManager) -> url:
        return url(path, handler, {"session_manager": manager})

    routes = [
        url(r"/", IndexHandler, name="index"),
        url(r"/overview", overview.OverviewPageHandler, {"session_manager": overview_sessions}, name="overview"),
        step(r"/secret", overview.SecretHandler, overview_sessions),
        url(r"/login", overview.LoginHandler, {"session_manager": overview_sessions, "page": "/overview"}),
        url(r"/logout", overview.LogoutHandler, {"session_manager": overview_sessions, "page": "/overview"}),
        url(
            r"/logout-everywhere",
            overview.LogoutEverywhereHandler,
            {"session_manager": overview_sessions, "page": "/overview"},
        ),
        *standalone.routes("/standalone", standalone_sessions, "standalone.html"),
        *flash.routes(SessionManager(cookie_name="myappsessionid", allow_reclaim=True, store=store, clock=clock)),
        *standalone.routes("/securecookie", securecookie_sessions, "securecookie.html"),
        # step routes: database
        url(r"/static/(.*)", StaticFileHandler, {"path": HERE / "static"}),
    ]
    return Application(
        routes,
        template_path=str(HERE / "templates"),
        static_path=str(HERE / "static"),
        xsrf_cookies=True,
        cookie_secret=secrets[0],  # keys the XSRF tokens that SessionMixin binds to each session
        session_store=store,
        tutorial_steps=STEPS,
        ui_modules={"SessionInspector": SessionInspector},
    )


def _process_secret() -> str:
    log.warning(
        "no --secret or SESSION_SECRETS configured: using a random secret for this process only, so "
        "encrypted session cookies will not survive a restart (make one with: python app.py --generate-secret)"
    )
    return new_secret()


def configured_secrets() -> list[str]:
    """The secrets from ``--secret``, else from ``SESSION_SECRETS``; comma-separated, newest first."""
    listed = options.secret or os.environ.get("SESSION_SECRETS", "").split(",")
    return [secret.strip() for secret in listed if secret.strip()]


async def serve() -> None:
    """Serve until Ctrl-C or SIGTERM, then close connections and the store."""
    app = make_app(secrets=configured_secrets())
    server = app.listen(options.port, options.address, xheaders=options.xheaders)
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
    if options.generate_secret:
        print(new_secret())
        return
    asyncio.run(serve())


if __name__ == "__main__":
    main()
