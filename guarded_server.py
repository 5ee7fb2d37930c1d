"""The app's HTTP server: Tornado's, with time limits on slow clients and a cap on open connections.

Every connection holds one open file, and a process may hold only so many
(``RLIMIT_NOFILE``). Left alone, Tornado keeps an idle connection for an hour, and
once the files run out its accept loop fails on ``EMFILE`` and tries again at once,
logging a traceback each time. So a few hundred idle connections from one client
would starve everyone else. This server:

* closes a connection whose request headers have not all arrived ``header_timeout``
  seconds after it was accepted, and a kept-alive connection whose next request has
  not arrived ``idle_timeout`` seconds after the previous answer (Tornado measures
  one span, from the moment it starts waiting for a request to the end of its
  headers: on a kept-alive connection the wait and the headers share the idle
  limit, as it cannot tell a client that is quiet from one that is slow without
  reading ahead); a body must arrive within ``body_timeout``;
* keeps at most ``max_connections`` open. At the cap, a new connection takes the
  place of the one that has waited longest for a request, so a crowd of idle
  connections cannot lock a real client out; when every open connection is busy
  with a request, new ones wait in the kernel's listen queue until one finishes;
* on ``EMFILE`` (files run out below the cap: the store, logs and templates use
  some too) stops accepting for a moment, doubling the pause up to a second while
  it lasts, instead of spinning;
* says so in the log at most once a minute, with how often it happened meanwhile.

The bookkeeping (a set and a dict per connection, a wrapper per request) costs
about 10,000 instructions per request under callgrind (8,600-14,300 across the
memory-store scenarios), about 1 % of a session read from memory
(``bench/instructions.py``, whose bench server runs on this server, against
Tornado's ``HTTPServer``).
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from collections.abc import Awaitable, Iterable
from typing import Any

from tornado import httputil
from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters, HTTP1ServerConnection
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream

from sessions.throttled_log import ThrottledWarning

log = logging.getLogger("app.connections")

#: ``accept()`` failures that mean "no file or memory for another connection now", not a broken socket.
_OUT_OF_FILES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
#: The pause after the first such failure, doubled while they last, up to ``_LONGEST_PAUSE``.
_FIRST_PAUSE = 0.01
_LONGEST_PAUSE = 1.0
#: Files left to requests below the connections open when ``accept()`` first runs out of them.
_FILES_KEPT_FREE = 16
#: The shortest time between two log lines about the same trouble.
NOTICE_INTERVAL = 60.0
#: Each notice's last words: how often the trouble came since the previous line about it.
_SINCE = " (said at most once a minute; times since the last such line: %d)"


class GuardedHTTPServer(HTTPServer):
    """``HTTPServer`` with the time limits and the connection cap described in the module's docstring."""

    def initialize(  # type: ignore[override]  # Tornado's Configurable calls initialize, not __init__
        self,
        application: httputil.HTTPServerConnectionDelegate,
        *,
        header_timeout: float,
        idle_timeout: float,
        body_timeout: float,
        max_connections: int,
        **settings: Any,
    ) -> None:
        super().initialize(application, idle_connection_timeout=header_timeout, body_timeout=body_timeout, **settings)
        # The first request of a connection waits for its headers as long as conn_params says (header_timeout);
        # a later one, which starts as soon as the previous answer is sent, as long as these say.
        self._kept_alive_params = HTTP1ConnectionParameters(
            **{**vars(self.conn_params), "header_timeout": idle_timeout}
        )
        self.max_connections = max_connections
        self._open = 0
        self._waiting: dict[object, None] = {}  # connections waiting for a request, the longest-waiting first
        self._evicted: set[object] = set()
        self._served: set[object] = set()  # connections that have had a request
        self._listeners: list[_Listener] = []
        self._pause = 0.0
        self._paused_for_files = False
        self._accepting = True
        self._room_notice = _notice(
            "at the cap of %d open connections (--max-connections): closing those idle longest to make room"
        )
        self._full_notice = _notice(
            "%d connections are open, the cap (--max-connections), all busy: new ones wait in the listen queue"
        )
        self._files_notice = _notice("cannot accept a connection: %s")

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        listeners = [_Listener(sock, self) for sock in sockets]
        self._listeners += listeners
        super().add_sockets(listeners)

    # -- Tornado's hooks: a connection opens, waits for a request, receives one, closes

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        self._open += 1
        super().handle_stream(stream, address)

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        if server_conn in self._served and isinstance(request_conn, HTTP1Connection):
            request_conn.params = self._kept_alive_params
        self._served.add(server_conn)
        self._waiting[server_conn] = None
        if not self._accepting:  # this one may make room
            self._resume()
        return _HeadersWatch(super().start_request(server_conn, request_conn), lambda: self._busy(server_conn))

    def on_close(self, server_conn: object) -> None:
        super().on_close(server_conn)
        self._served.discard(server_conn)
        self._waiting.pop(server_conn, None)
        if server_conn in self._evicted:
            self._evicted.remove(server_conn)  # counted out when it was evicted
        else:
            self._open -= 1
        if not self._accepting:
            self._resume()

    # -- what the listening sockets ask before each accept()

    def room_for_one(self) -> bool:
        """Whether a connection may be accepted now, making room by closing the longest-waiting one if need be."""
        if self._open < self.max_connections:
            return True
        while self._open >= self.max_connections and self._close_longest_waiting():
            pass
        if self._open < self.max_connections:
            self._room_notice.count(1, self.max_connections)
            return True
        self._full_notice.count(1, self._open)
        self._listen(False)  # until a connection closes or waits for a request
        return False

    def accepted(self) -> None:
        self._pause = 0.0

    def out_of_files(self, error: OSError) -> None:
        """``accept()`` failed for want of files: lower the cap below what is open, so that connections leave
        files for the requests (templates, the store), and close waiting connections down to it; if none
        waits, stop accepting for a moment that doubles while this lasts."""
        self.max_connections = max(1, min(self.max_connections, self._open - _FILES_KEPT_FREE))
        self._files_notice.count(
            1, f"{error.strerror}, {self._open} connections open; the cap is now {self.max_connections}"
        )
        if self.room_for_one():
            return  # the accept loop's next try gets its file
        self._pause = min(max(self._pause * 2, _FIRST_PAUSE), _LONGEST_PAUSE)
        self._paused_for_files = True
        self._listen(False)
        IOLoop.current().call_later(self._pause, self._resume_after_pause)

    def _resume_after_pause(self) -> None:
        self._paused_for_files = False
        self._resume()

    def _resume(self) -> None:
        """Accept again if there is room, or a waiting connection that can make room."""
        if not self._paused_for_files and (self._open < self.max_connections or self._waiting):
            self._listen(True)

    def _close_longest_waiting(self) -> bool:
        """Close the connection that has waited longest for a request, if one waits: its file is free at once."""
        if not self._waiting:
            return False
        oldest = next(iter(self._waiting))
        del self._waiting[oldest]
        self._evicted.add(oldest)
        self._open -= 1
        assert isinstance(oldest, HTTP1ServerConnection)
        oldest.stream.close()  # on_close follows on the loop's next turn
        return True

    def _listen(self, on: bool) -> None:
        if on == self._accepting:
            return
        self._accepting = on
        loop = IOLoop.current()
        for listener in self._listeners:
            if listener.fileno() >= 0:
                loop.update_handler(listener, IOLoop.READ if on else 0)

    def _busy(self, server_conn: object) -> None:
        self._waiting.pop(server_conn, None)


class _Listener(socket.socket):
    """A listening socket whose ``accept()`` asks the server first, and turns a lack of files into a pause.

    Tornado's accept loop stops at ``BlockingIOError`` ("nothing more to accept now"),
    so that is what ``accept()`` raises when the server has no room: the connection
    stays in the kernel's queue.
    """

    def __init__(self, sock: socket.socket, server: GuardedHTTPServer) -> None:
        super().__init__(sock.family, sock.type, sock.proto, fileno=sock.detach())
        self._server = server

    def accept(self) -> tuple[socket.socket, Any]:
        if not self._server.room_for_one():
            raise BlockingIOError(errno.EAGAIN, "at the connection cap")
        try:
            accepted = super().accept()
        except OSError as error:
            if error.errno not in _OUT_OF_FILES:
                raise
            self._server.out_of_files(error)
            raise BlockingIOError(errno.EAGAIN, "out of files") from None
        self._server.accepted()
        return accepted


class _HeadersWatch(httputil.HTTPMessageDelegate):
    """Passes a request on to Tornado's delegate, telling the server when its headers have all arrived."""

    def __init__(self, delegate: httputil.HTTPMessageDelegate, on_headers: Any) -> None:
        self._delegate = delegate
        self._on_headers = on_headers

    def headers_received(
        self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine, headers: httputil.HTTPHeaders
    ) -> Awaitable[None] | None:
        self._on_headers()
        return self._delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self._delegate.data_received(chunk)

    def finish(self) -> None:
        self._delegate.finish()

    def on_connection_close(self) -> None:
        self._delegate.on_connection_close()


def _notice(message: str) -> ThrottledWarning:
    """A WARNING about one trouble, written at most once per ``NOTICE_INTERVAL`` with how often it came."""
    return ThrottledWarning(log, message + _SINCE, NOTICE_INTERVAL, time.monotonic)
