"""Slow and idle clients against a real ``python app.py``: time limits, the connection cap, running out of files.

A client that connects and sends nothing holds one of the app's open files.
These tests open more such connections than the app's open-file limit allows
(set low for the test) and check that a real client is still answered at once,
that the app closes what is slow or idle after its time limit, and that the log
says so in a line or two rather than a traceback per attempt.
"""

from __future__ import annotations

import re
import resource
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.live_app import LiveApp
from tests.test_startup_mistakes import assert_one_line_error, start

#: The open-file limit the app is started with (or lowered to) here, and more idle connections than it allows.
FILE_LIMIT = 128
IDLE_CONNECTIONS = 400
#: How long a real client may take to be answered meanwhile.
ANSWERED_WITHIN = 1.0


def idle_connections(port: int, count: int = IDLE_CONNECTIONS) -> list[socket.socket]:
    """``count`` connections that send nothing (their handshakes complete in the kernel's listen queue)."""
    opened = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        opened.append(sock)
    return opened


def closed_by_the_app(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False  # open, nothing to read
    except OSError:
        return True  # reset


def timed_get(url: str) -> tuple[int, float]:
    began = time.monotonic()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        return response.status, time.monotonic() - began


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def log_lines(app: LiveApp) -> list[str]:
    return [line for line in app.output().splitlines() if not re.search(r" (200|302|303) (GET|POST) ", line)]


def assert_a_real_client_is_answered_at_once(app: LiveApp) -> None:
    for _ in range(5):
        status, took = timed_get(app.url + "/overview")
        assert status == 200
        assert took < ANSWERED_WITHIN, f"answered after {took:.2f} s"


def test_past_the_connection_cap_the_longest_idle_connection_makes_room():
    """Limit 128 files: a cap of 64 connections; 400 idle ones cannot lock a real client out."""
    with LiveApp(open_files=(FILE_LIMIT, FILE_LIMIT)) as app:
        crowd = idle_connections(app.port)
        try:
            wait_until(lambda: "at the cap of 64 open connections" in app.output())
            assert_a_real_client_is_answered_at_once(app)
            wait_until(lambda: sum(map(closed_by_the_app, crowd)) >= IDLE_CONNECTIONS - FILE_LIMIT)
            assert len(list(Path(f"/proc/{app.process.pid}/fd").iterdir())) <= FILE_LIMIT
        finally:
            for sock in crowd:
                sock.close()
        lines = log_lines(app)
        assert len(lines) < 24, "\n".join(lines)
        assert "Traceback" not in app.output()


def test_out_of_files_below_the_cap_the_accept_loop_lowers_the_cap_instead_of_spinning():
    """The limit lowered under the running app, far below its cap: accept() fails with EMFILE."""
    with LiveApp() as app:
        timed_get(app.url + "/overview")  # the templates are loaded and cached, as in a running app
        resource.prlimit(app.process.pid, resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))
        crowd = idle_connections(app.port)
        try:
            wait_until(lambda: "Too many open files" in app.output())
            assert_a_real_client_is_answered_at_once(app)
        finally:
            for sock in crowd:
                sock.close()
        output = app.output()
        assert output.count("cannot accept a connection: Too many open files") == 1, output
        assert len(log_lines(app)) < 24, output
        assert "Traceback" not in output


def test_the_soft_open_file_limit_is_raised_to_the_hard_limit():
    with LiveApp(open_files=(256, 4096)) as app:
        limits = Path(f"/proc/{app.process.pid}/limits").read_text()
    assert re.search(r"Max open files\s+4096\s+4096", limits), limits


def test_headers_that_do_not_arrive_in_time_close_the_connection():
    with LiveApp("--header-timeout=1") as app, socket.create_connection(("127.0.0.1", app.port)) as slow:
        slow.sendall(b"GET /overview HTTP/1.1\r\nHost: localhost\r\n")  # and the rest never comes
        began = time.monotonic()
        slow.settimeout(30)
        assert slow.recv(1) == b""  # closed, no answer
        assert time.monotonic() - began >= 0.9


def test_a_kept_alive_connection_may_wait_for_its_next_request_until_the_idle_timeout():
    with (
        LiveApp("--header-timeout=1", "--idle-timeout=3") as app,
        socket.create_connection(("127.0.0.1", app.port)) as client,
    ):
        client.sendall(b"GET /overview HTTP/1.1\r\nHost: localhost\r\n\r\n")
        client.settimeout(10)
        assert client.recv(65536).startswith(b"HTTP/1.1 200")
        answered = time.monotonic()
        time.sleep(1.5)  # past the header timeout, within the idle one
        client.sendall(b"GET /overview HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert client.recv(65536).startswith(b"HTTP/1.1 200")
        answered = time.monotonic()
        assert client.recv(1) == b""  # then, idle, it is closed
        assert time.monotonic() - answered >= 2.9


def test_a_body_that_does_not_arrive_in_time_closes_the_connection():
    with LiveApp("--body-timeout=1") as app, socket.create_connection(("127.0.0.1", app.port)) as slow:
        slow.sendall(b"POST /flash/set HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\nmessage=")
        slow.settimeout(30)
        assert slow.recv(1) == b""


@pytest.mark.parametrize("option", ["--header-timeout=0", "--idle-timeout=-1", "--body-timeout=0"])
def test_a_time_limit_that_is_not_positive_is_refused(option):
    name = option.split("=")[0]
    assert_one_line_error(*start(option), f"{option}: use a number of seconds above 0, as in {name}=20")


def test_a_connection_cap_above_what_the_file_limit_allows_is_refused():
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert_one_line_error(
        *start(f"--max-connections={limit}"), f"--max-connections={limit}: this process may open {limit} files"
    )
