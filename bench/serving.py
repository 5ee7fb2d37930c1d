"""How both benchmark servers listen, announce their port and stop.

They bind port 0 on 127.0.0.1 themselves (no race for a "free" port) and
print ``listening <port> [<port>...]`` (one per application) for the harness. Logging stays at WARNING in both,
so Tornado's per-request access log costs neither of them anything and the
comparison is of request handling alone. Bare Tornado serves on Tornado's own
``HTTPServer``; the bench server passes the app's (``app.make_server``), so its
figures include what the app's connection limits cost.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application

HOST = "127.0.0.1"


async def serve_until_stopped(
    *apps: Application,
    make_server: Callable[[Application], HTTPServer] = HTTPServer,
    cleanup: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve each app on a fresh loopback port, on the server ``make_server`` builds, until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    servers, ports = [], []
    for app in apps:
        sockets = bind_sockets(0, HOST)
        ports.append(str(sockets[0].getsockname()[1]))  # before add_sockets, which may wrap the sockets
        servers.append(make_server(app))
        servers[-1].add_sockets(sockets)
    print("listening", *ports, flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    for server in servers:
        server.stop()
        await server.close_all_connections()
    if cleanup is not None:
        await cleanup()
